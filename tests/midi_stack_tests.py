"""Cosim tests of the MIDI and DMus miniports through the whole stack: client API -> MIDI or
DMus port -> miniport -> MPU-401 UART registers, interrupt and timestamped queue -> the MIDI
device model on midi_tx/midi_rx (cosim/midi_device.py).

Run through tests/test_midi_stack.py on Icarus and Verilator. Verilator runs the real 31250
baud; Icarus runs a faster wire (:data:`FAST_BAUD`, 16 clocks per bit; the DMus timing tests
:data:`TIMING_BAUD`, 32 clocks per bit) and fewer bytes, so its runs stay within a few ms of
simulated time. Timing tolerances are given in bit and byte times of the wire in use.
"""

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer, with_timeout

from cosim.system import AudioSystem
from miniports.adapter import MIDI_FILTER
from miniports.midi import MIDI_PIN_CAPTURE, MIDI_PIN_RENDER
from miniports.mpu401 import FRAME_BITS
from portdrv.dmus import DMusEventFlags
from portdrv.ksstate import KSSTATE
from portdrv.power import DevicePowerState
from portdrv.status import NTSTATUS, StatusError
from rtl.regmap import MIDI_BAUD, MIDI_QUEUE_DEPTH, REGMAP

SHORT = cocotb.SIM_NAME.lower().startswith("icarus") if cocotb.SIM_NAME else False
#: Icarus wires: 16 and 32 clocks per bit at 12.288 MHz
FAST_BAUD = 768_000
TIMING_BAUD = 384_000
TIMEOUT_MS = 150 if SHORT else 1500
STOP, ACQUIRE, PAUSE, RUN = KSSTATE.STOP, KSSTATE.ACQUIRE, KSSTATE.PAUSE, KSSTATE.RUN
COMPLETE, INCOMPLETE = DMusEventFlags.COMPLETE, DMusEventFlags.INCOMPLETE


def size(verilator_value, icarus_value):
    return icarus_value if SHORT else verilator_value


class TB(AudioSystem):
    """The machine with the driver stack, the MIDI filter of ``midi_miniport`` and a MIDI
    device on the pins at the driver's bit time."""

    def __init__(self, dut, midi_miniport="midi", baud=None, **kw):
        super().__init__(dut, midi_miniport=midi_miniport,
                         midi_baud=baud or size(MIDI_BAUD, FAST_BAUD), **kw)

    async def start(self):
        await super().start()
        self.device = self.midi_device
        assert await self.regs.read("MIDI_DIV") == self.midi_divisor

    @property
    def miniport(self):
        return self.adapter.midi_miniport

    @property
    def bit_ns(self):
        return self.device.bit_ps / 1000

    @property
    def byte_ns(self):
        return self.device.byte_ns

    async def sleep_bytes(self, n):
        await Timer(round(n * self.byte_ns) + 1, "ns")

    async def open(self, pin_id, state=STOP):
        stream = await self.midi_client.open(MIDI_FILTER, pin_id)
        await stream.set_state(state)
        return stream

    async def send(self, data, gap_bits=0):
        """Send ``data`` from the device; returns each byte's start-bit time (ns)."""
        start = get_sim_time("ps")
        step = (FRAME_BITS + gap_bits) * self.device.bit_ps
        await self.device.send(data, gap_bits=gap_bits)
        return [(start + i * step) / 1000 for i in range(len(data))]

    def ready_ns(self, start_ns):
        """When a byte whose start bit began at ``start_ns`` can be read: its stop bit is
        sampled 9.5 bit times later."""
        return start_ns + (FRAME_BITS - 0.5) * self.bit_ns

    async def errors(self):
        return REGMAP["MIDI_ERR"].decode(await self.regs.read("MIDI_ERR"))

    async def read_until(self, stream, count, timeout_ns, measure=len):
        """Client reads until ``measure`` of what came reaches ``count``."""
        got = []

        async def reads():
            while sum(measure(item) for item in got) < count:
                got.extend(await stream.read())
        await with_timeout(cocotb.start_soon(reads()), round(timeout_ns), "ns")
        return got


def bytes_of(chunk):
    return len(chunk.data)


async def refusal(call):
    """The status of the StatusError a client call raises (it must raise one)."""
    try:
        await call
    except StatusError as err:
        return err.status
    raise AssertionError("the call was accepted")


# ------------------------------------------------------------------------- MIDI port


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def midi_render_byte_exact(dut):
    """Client writes with running status and a SysEx longer than the transmit FIFO reach the
    device byte for byte; the miniport took partial writes (the port retried), and at 31250
    baud the FIFO was kept from running dry (frames back to back)."""
    tb = TB(dut)
    await tb.start()
    out = await tb.open(MIDI_PIN_RENDER, RUN)
    sysex = bytes([0xF0, 0x7D]) + bytes(range(0x20, 0x20 + size(48, 24))) + bytes([0xF7])
    writes = [bytes([0x90, 0x3C, 0x64, 0x3E, 0x64, 0x40, 0x00, 0xC0, 0x05]), sysex,
              bytes([0xB0, 0x07, 0x7F, 0x0A, 0x40, 0xE0, 0x00, 0x40])]
    wire = b"".join(writes)
    for data in writes:
        await out.write(data)
    await tb.device.wait_bytes(len(wire), timeout_ns=(len(wire) + 6) * tb.byte_ns + 2e6)
    got = tb.device.received
    assert bytes(b.value for b in got) == wire
    assert tb.device.framing_errors == []
    assert [(m.data, m.running_status) for m in tb.device.messages] == [
        (b"\x90\x3C\x64", False), (b"\x90\x3E\x64", True), (b"\x90\x40\x00", True),
        (b"\xC0\x05", False), (sysex, False), (b"\xB0\x07\x7F", False),
        (b"\xB0\x0A\x40", True), (b"\xE0\x00\x40", False)]
    stream = tb.miniport.streams[0]
    assert stream.bytes_written == len(wire) and out.pin.bytes_written == len(wire)
    assert out.pin.retries > 0                   # the FIFO was full: partial writes
    if not SHORT:
        # the 1 ms retry tops the 16-byte FIFO (5 ms of wire) up before it empties
        gaps = {round((b.time_ns - a.time_ns) * 1000) for a, b in zip(got, got[1:])}
        assert gaps == {FRAME_BITS * tb.device.bit_ps}, gaps
    await out.close()


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def midi_capture_byte_exact(dut):
    """A burst longer than the receive FIFO, with timing clocks (F8) inside a note and inside
    a SysEx, reaches the client byte for byte with no overrun; each chunk's client timestamp
    is after its bytes arrived and within a byte time of the last of them."""
    tb = TB(dut)
    await tb.start()
    inp = await tb.open(MIDI_PIN_CAPTURE, RUN)
    sysex = [0xF0, 0x7D] + [0xF8 if i % 7 == 3 else i for i in range(size(30, 20))] + [0xF7]
    sent = [0x90, 0xF8, 0x3C, 0x64, 0x3E, 0xF8, 0x64] + sysex + [0x80, 0x3C, 0x00]
    assert len(sent) > 16
    starts = await tb.send(sent)
    chunks = await tb.read_until(inp, len(sent), 4 * tb.byte_ns + 1e5, bytes_of)
    assert b"".join(c.data for c in chunks) == bytes(sent)
    assert await tb.errors() == {"FRAMING": 0, "OVERRUN": 0}
    last = -1
    worst = 0.0
    for chunk in chunks:
        last += len(chunk.data)
        ready = tb.ready_ns(starts[last])
        lag = chunk.time_100ns * 100 - ready
        worst = max(worst, lag)
        assert -100 <= lag <= tb.byte_ns, (chunk, ready)
    dut._log.info("MIDI capture: client timestamp at most %.2f us after the byte was "
                  "readable (%d chunks)", worst / 1000, len(chunks))
    await inp.close()


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def midi_write_on_capture_is_invalid_device_request(dut):
    tb = TB(dut)
    await tb.start()
    inp = await tb.open(MIDI_PIN_CAPTURE, RUN)
    assert await refusal(inp.write(b"\x90\x40\x7f")) == NTSTATUS.INVALID_DEVICE_REQUEST
    await tb.sleep_bytes(4)
    assert tb.device.received == []
    await inp.close()


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def midi_run_before_uart_init_and_power_cycle(dut):
    """D3 takes UART mode and MIDI_DIV away: RUN is refused with INVALID_DEVICE_STATE until
    D0 has brought them back; a pin that was running is paused through D3 and runs again,
    and both directions work at the driver's divisor afterwards."""
    tb = TB(dut)
    await tb.start()
    out = await tb.open(MIDI_PIN_RENDER, RUN)
    inp = await tb.open(MIDI_PIN_CAPTURE, PAUSE)
    await out.write(b"\xC0\x01")
    await tb.device.wait_bytes(2, timeout_ns=4 * tb.byte_ns)    # on the wire before D3
    await tb.set_power_state(DevicePowerState.D3)
    assert out.state == PAUSE and not tb.miniport.uart.ready
    assert await refusal(inp.set_state(RUN)) == NTSTATUS.INVALID_DEVICE_STATE
    assert inp.state == PAUSE
    await tb.set_power_state(DevicePowerState.D0)
    assert tb.miniport.uart.ready and out.state == RUN
    assert await tb.regs.read("MIDI_DIV") == tb.midi_divisor
    await inp.set_state(RUN)
    await out.write(b"\x90\x3C\x64")
    await tb.device.wait_bytes(5, timeout_ns=8 * tb.byte_ns)
    assert bytes(b.value for b in tb.device.received) == b"\xC0\x01\x90\x3C\x64"
    await tb.send([0xB0, 0x40, 0x7F])
    chunks = await tb.read_until(inp, 3, 4 * tb.byte_ns, bytes_of)
    assert b"".join(c.data for c in chunks) == b"\xB0\x40\x7F"
    assert tb.resources.power.power_cycles == 1


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def midi_stop_flushes_input(dut):
    """Input buffered while paused and input still in the receive FIFO (the ISR held off)
    are both gone after STOP; after RUN only new input arrives."""
    tb = TB(dut)
    await tb.start()
    inp = await tb.open(MIDI_PIN_CAPTURE, PAUSE)
    stream = next(s for s in tb.miniport.streams if s.capture)
    await tb.send([0x90, 0x3C, 0x64])
    await tb.sleep_bytes(1)
    assert stream.buffered == 3                  # drained by the ISR, kept for the port
    tb.adapter.interrupt_sync.isr_latency_100ns = round(40 * tb.byte_ns / 100)
    await tb.send([0x80, 0x3C, 0x00, 0xF8])
    assert await tb.regs.read_field("MIDI_STAT", "DSR") == 0     # still in the hardware
    await inp.set_state(STOP)
    assert await tb.regs.read_field("MIDI_STAT", "DSR") == 1
    assert stream.buffered == 0
    tb.adapter.interrupt_sync.isr_latency_100ns = 0
    await tb.sleep_bytes(45)                      # the held-off ISR finds nothing
    await inp.set_state(RUN)
    await tb.send([0xB0, 0x01, 0x02])
    chunks = await tb.read_until(inp, 3, 4 * tb.byte_ns, bytes_of)
    assert b"".join(c.data for c in chunks) == b"\xB0\x01\x02"
    assert await tb.errors() == {"FRAMING": 0, "OVERRUN": 0}


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def midi_state_transitions(dut):
    """KSSTATE steps reach the miniport streams one at a time; bytes written while paused
    wait for RUN; STOP cancels what the port still holds; one instance per pin; a closed pin
    can be opened again."""
    tb = TB(dut)
    await tb.start()
    out = await tb.open(MIDI_PIN_RENDER)
    stream = tb.miniport.streams[0]
    seen = []
    real_set_state = stream.set_state

    async def recording(state):
        seen.append(KSSTATE(state))
        return await real_set_state(state)
    stream.set_state = recording
    request = await out.submit(b"\xFA")
    await out.set_state(PAUSE)
    await tb.sleep_bytes(3)
    assert tb.device.received == [] and request.status == NTSTATUS.PENDING
    await out.set_state(RUN)
    assert await request.wait() == NTSTATUS.SUCCESS
    await tb.device.wait_bytes(1, timeout_ns=3 * tb.byte_ns)
    # more than the FIFO holds, then STOP at once: the rest is cancelled, never sent
    request = await out.submit(bytes([0xF8]) * 40)
    await tb.sleep_bytes(2)
    await out.set_state(STOP)
    assert request.status == NTSTATUS.CANCELLED
    assert seen == [ACQUIRE, PAUSE, RUN, PAUSE, ACQUIRE, STOP]
    assert stream.state == STOP
    await tb.sleep_bytes(20)
    assert 1 < len(tb.device.received) < 1 + 40
    # one UART: one render pin
    assert await refusal(tb.midi_client.open(MIDI_FILTER, MIDI_PIN_RENDER)) == \
        NTSTATUS.INSUFFICIENT_RESOURCES
    await out.close()
    assert stream not in tb.miniport.streams
    again = await tb.open(MIDI_PIN_RENDER, RUN)
    count = len(tb.device.received)
    await again.write(b"\xFC")
    await tb.device.wait_bytes(count + 1, timeout_ns=3 * tb.byte_ns)
    assert tb.device.received[-1].value == 0xFC


# ------------------------------------------------------------------------- DMus port


#: DMus render timing: messages played, and the first and last (exclusive) message a
#: DPC-latency spike is injected for
PLAN_MESSAGES = size(24, 16)
SPIKE_WINDOW = size((8, 16), (5, 11))


def render_plan(tb, start_100ns, count):
    """``count`` messages, one every 6 byte times from ``start_100ns``: notes, a program
    change, a short SysEx and real-time bytes."""
    step = round(6 * tb.byte_ns / 100)
    kinds = [lambda i: bytes([0x90, 0x30 + i % 40, 0x64]),
             lambda i: bytes([0x80, 0x30 + i % 40, 0]),
             lambda i: bytes([0xC0, i % 128]), lambda i: bytes([0xF0, 0x7D, i % 128, 0xF7]),
             lambda i: b"\xF8"]
    return [(start_100ns + i * step, kinds[i % len(kinds)](i)) for i in range(count)]


async def play_plan(tb, hardware_queue, spike_messages=SPIKE_WINDOW):
    """Play :func:`render_plan` through a DMus render pin with a DPC-latency spike of 16
    byte times (5.1 ms at 31250 baud) injected from one byte time before message
    ``spike_messages[0]`` to message ``spike_messages[1]``; returns (plan, errors in ns of
    each message's first start bit against its presentation time)."""
    tb.miniport.hardware_queue = hardware_queue
    out = await tb.open(MIDI_PIN_RENDER, RUN)
    allocator = out.pin.port.allocator
    plan = render_plan(tb, out.now() + out.pin.lookahead_100ns + round(10 * tb.byte_ns / 100),
                       PLAN_MESSAGES)
    for time, data in plan:
        out.send(time, data)
    group = tb.miniport.service_group
    spike = round(16 * tb.byte_ns / 100)

    async def inject():
        first, last = (plan[i][0] for i in spike_messages)
        await Timer((first - out.now()) * 100 - round(tb.byte_ns), "ns")
        group.dpc_latency_100ns = spike
        await Timer((last - out.now()) * 100, "ns")
        group.dpc_latency_100ns = 0
    cocotb.start_soon(inject())
    wire = sum(len(d) for _, d in plan)
    end = plan[-1][0] * 100 - get_sim_time("ns") + 3 * spike * 100
    await tb.device.wait_bytes(wire, timeout_ns=end)
    messages = tb.device.messages
    assert [m.data for m in messages] == [d for _, d in plan]
    assert tb.device.framing_errors == []
    errors = [m.time_ns - time * 100 for m, (time, _) in zip(messages, plan)]
    await tb.sleep_bytes(2)
    assert allocator.free_count == allocator.capacity   # every event went back
    stream = next(s for s in tb.miniport.streams if not s.capture)
    await out.close()
    return plan, errors, stream


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def dmus_render_hardware_queue_on_time(dut):
    """Every message's first start bit is within one bit time of its presentation time, also
    during a DPC-latency spike: the hardware queue plays them, the DPC has no part in it."""
    tb = TB(dut, "dmus", size(MIDI_BAUD, TIMING_BAUD))
    await tb.start()
    _, errors, stream = await play_plan(tb, True)
    worst = max(abs(e) for e in errors)
    dut._log.info("DMus render, hardware queue, %.1f us spike: max |error| %.3f us "
                  "(bit time %.1f us)", 16 * tb.byte_ns / 1000, worst / 1000, tb.bit_ns / 1000)
    assert worst <= tb.bit_ns, errors
    assert stream.events_queued == len(errors) and stream.events_written == 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def dmus_render_software_path_late_under_spike(dut):
    """The software path (a timer and the DPC write MIDI_DATA at the presentation time) is on
    time while DPCs are, and late by about the spike while they are not: the point of the
    hardware queue."""
    tb = TB(dut, "dmus", size(MIDI_BAUD, TIMING_BAUD))
    await tb.start()
    window = SPIKE_WINDOW
    _, errors, stream = await play_plan(tb, False)
    spike_ns = 16 * tb.byte_ns
    before, during = errors[:window[0]], errors[window[0]:window[1]]
    dut._log.info("DMus render, software path: max |error| %.3f us before the spike, %.1f us "
                  "during the %.1f us spike (bit time %.1f us)", max(map(abs, before)) / 1000,
                  max(during) / 1000, spike_ns / 1000, tb.bit_ns / 1000)
    assert max(abs(e) for e in before) <= tb.bit_ns, before
    late = [e for e in during if e > tb.bit_ns]
    assert len(late) >= len(during) - 1, during          # they are late: that is the point
    assert max(during) > spike_ns / 2, during
    assert stream.events_written == len(errors) and stream.events_queued == 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def dmus_render_queue_full_and_late_fall_back(dut):
    """A chord of more bytes than the hardware queue holds, all at one presentation time:
    the queue takes what fits, the rest goes through the software path once the queue has
    emptied, and the wire carries every message whole, in order, frame after frame from the
    presentation time. An event handed over after its time goes out at once."""
    tb = TB(dut, "dmus")
    await tb.start()
    out = await tb.open(MIDI_PIN_RENDER, RUN)
    allocator = out.pin.port.allocator
    stream = next(s for s in tb.miniport.streams if not s.capture)
    chord = [bytes([0x90, 0x30 + i, 0x40 + i]) for i in range(30)]
    assert len(chord) * 3 > MIDI_QUEUE_DEPTH
    when = out.now() + out.pin.lookahead_100ns + round(4 * tb.byte_ns / 100)
    for data in chord:
        out.send(when, data)
    await tb.device.wait_bytes(len(chord) * 3, timeout_ns=(when - out.now()) * 100
                               + (len(chord) * 3 + 8) * tb.byte_ns)
    assert [m.data for m in tb.device.messages] == chord
    got = tb.device.received
    assert abs(got[0].time_ns - when * 100) <= tb.bit_ns
    gaps = {round((b.time_ns - a.time_ns) * 1000) for a, b in zip(got, got[1:])}
    assert gaps == {FRAME_BITS * tb.device.bit_ps}, gaps
    queued = MIDI_QUEUE_DEPTH // 3
    assert (stream.events_queued, stream.events_written) == (queued, len(chord) - queued)
    assert stream.queue_full_events == 1
    # late: handed over (at once) after its presentation time
    sent_at = get_sim_time("ns")
    out.send(out.now() - round(10 * tb.byte_ns / 100), b"\xC0\x07")
    await tb.device.wait_bytes(len(chord) * 3 + 2, timeout_ns=4 * tb.byte_ns)
    assert tb.device.messages[-1].data == b"\xC0\x07"
    assert tb.device.messages[-1].time_ns - sent_at <= tb.byte_ns
    assert stream.late_events == 1
    await tb.sleep_bytes(2)
    assert allocator.free_count == allocator.capacity
    await out.close()


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def dmus_capture_timestamps_and_messages(dut):
    """Input becomes DMus events: running status restored, real-time bytes as events of
    their own (also from inside a note and a SysEx), a SysEx longer than an event in
    fragments flagged INCOMPLETE; each event's time is within a byte time of the true start
    of its first byte (and never before it)."""
    tb = TB(dut, "dmus")
    await tb.start()
    inp = await tb.open(MIDI_PIN_CAPTURE, RUN)
    event_bytes = inp.pin.port.allocator.get_buffer_size()
    sysex_body = [0xF8 if i == 25 else i % 0x60 for i in range(event_bytes + size(16, 4))]
    sends = [  # (bytes, idle bits after each byte)
        ([0x90, 0x3C, 0xF8, 0x64], 3),
        ([0x3E, 0x64], 0),                              # running status
        ([0xF0, 0x7D] + sysex_body + [0xF7], 0),
        ([0xC1, 0x05, 0xE0, 0x00, 0x40], 7),
    ]
    starts = []
    for data, gap in sends:
        starts += await tb.send(data, gap_bits=gap)
        await tb.sleep_bytes(2)
    flat = [b for data, _ in sends for b in data]
    sysex = [0xF0, 0x7D] + [b for b in sysex_body if b != 0xF8] + [0xF7]
    at = {i: round(starts[i]) for i in range(len(flat))}     # ns
    sysex_first = 6
    f8_in_sysex = sysex_first + 2 + 25
    second_fragment = sysex_first + 2 + event_bytes - 2 + 1  # one F8 skipped in the body
    expected = [
        (at[2], b"\xF8", COMPLETE), (at[0], b"\x90\x3C\x64", COMPLETE),
        (at[4], b"\x90\x3E\x64", COMPLETE), (at[f8_in_sysex], b"\xF8", COMPLETE),
        (at[sysex_first], bytes(sysex[:event_bytes]), INCOMPLETE),
        (at[second_fragment], bytes(sysex[event_bytes:]), COMPLETE),
        (at[len(flat) - 5], b"\xC1\x05", COMPLETE),
        (at[len(flat) - 3], b"\xE0\x00\x40", COMPLETE),
    ]
    events = await tb.read_until(inp, len(expected), 4 * tb.byte_ns, lambda e: 1)
    assert [(e.data, e.flags) for e in events] == [(d, f) for _, d, f in expected]
    errors = [e.time_100ns * 100 - t for e, (t, _, _) in zip(events, expected)]
    dut._log.info("DMus capture: timestamp error %.2f..%.2f us (byte time %.1f us)",
                  min(errors) / 1000, max(errors) / 1000, tb.byte_ns / 1000)
    assert all(-100 <= e <= tb.byte_ns for e in errors), errors
    assert await tb.errors() == {"FRAMING": 0, "OVERRUN": 0}
    assert inp.pin.port.allocator.free_count == inp.pin.port.allocator.capacity
    await inp.close()


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def dmus_states_stop_and_power(dut):
    """DMus: STOP returns the events the render stream holds (software path) and they never
    play; STOP empties capture input; RUN is refused in D3; after D0 (WALLCLK restarted)
    the hardware queue is on time again."""
    tb = TB(dut, "dmus", size(MIDI_BAUD, TIMING_BAUD))
    await tb.start()
    out = await tb.open(MIDI_PIN_RENDER, RUN)
    allocator = out.pin.port.allocator
    stream = next(s for s in tb.miniport.streams if not s.capture)
    # software path: handed over one prefetch early, held until their time
    tb.miniport.hardware_queue = False
    soon = out.now() + out.pin.lookahead_100ns // 2
    for i in range(3):
        out.send(soon + i * round(4 * tb.byte_ns / 100), bytes([0x90, 0x40 + i, 0x40]))
    await out.wait_handed_over()
    assert stream.held_events == 3 and allocator.free_count == allocator.capacity - 3
    await out.set_state(STOP)
    assert stream.held_events == 0 and allocator.free_count == allocator.capacity
    await Timer((soon - out.now()) * 100 + round(16 * tb.byte_ns), "ns")
    assert tb.device.received == []
    # capture: input buffered while paused is gone after STOP
    inp = await tb.open(MIDI_PIN_CAPTURE, PAUSE)
    await tb.send([0x90, 0x3C, 0x64])
    await tb.sleep_bytes(1)
    await inp.set_state(STOP)
    await inp.set_state(RUN)
    await tb.send([0xFA])
    events = await tb.read_until(inp, 1, 4 * tb.byte_ns, lambda e: 1)
    assert [e.data for e in events] == [b"\xFA"]
    # D3: RUN refused; D0: WALLCLK starts again from 0 and the queue is still on time
    tb.miniport.hardware_queue = True
    wallclk_before = await tb.regs.read("WALLCLK")
    await tb.set_power_state(DevicePowerState.D3)
    assert inp.state == PAUSE
    assert await refusal(out.set_state(RUN)) == NTSTATUS.INVALID_DEVICE_STATE
    await tb.set_power_state(DevicePowerState.D0)
    assert await tb.regs.read("WALLCLK") < wallclk_before      # counting again from 0
    await out.set_state(RUN)
    plan = render_plan(tb, out.now() + out.pin.lookahead_100ns + round(4 * tb.byte_ns / 100), 4)
    for time, data in plan:
        out.send(time, data)
    await tb.device.wait_bytes(sum(len(d) for _, d in plan),
                               timeout_ns=(plan[-1][0] - out.now()) * 100 + 8 * tb.byte_ns)
    errors = [m.time_ns - t * 100 for m, (t, _) in zip(tb.device.messages, plan)]
    assert all(abs(e) <= tb.bit_ns for e in errors), errors
    assert stream.events_queued == len(plan)
    assert await tb.regs.read("MQ_FREE") == MIDI_QUEUE_DEPTH
    await out.close()
    await inp.close()
