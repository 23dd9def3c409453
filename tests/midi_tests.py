"""Register-level cosim tests of the MIDI block of audio_soc against the MIDI device model
(cosim/midi_device.py): MPU-401 commands, MIDI out through the data port, MIDI in under the
MIDI interrupt, framing errors, a divider change, and the timestamped output queue.

Run through tests/test_midi.py on Icarus and Verilator. Verilator runs the real 31250 baud
(MIDI_DIV's reset); Icarus runs :data:`FAST_DIV` clocks per bit so that its runs stay within a
few ms of simulated time. The host never runs Python per clock: it sleeps a byte time between
DRR checks, on the interrupt line, or on the device model's arrivals."""

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from cosim.midi_device import MidiDevice, MidiParser, MidiReceiver
from cosim.soc_env import SocEnv
from rtl.regmap import (MIDI_QUEUE_DEPTH, MPU_ACK, MPU_RESET, MPU_UART_MODE, REGMAP,
                        midi_divisor)

from soc_tests import size

#: clocks per MIDI bit on Icarus (768 kbaud at 12.288 MHz)
FAST_DIV = 16
STAT = REGMAP["MIDI_STAT"]
UNKNOWN_COMMAND = 0xAC


class TB(SocEnv):
    """The device with its host, a MIDI device on its pins and MPU-401 register helpers."""

    async def start(self, div=None):
        """Bring the controller up, set MIDI_DIV (the reset value on Verilator) and attach the
        MIDI device at the same bit time."""
        await super().start()
        self.div = await self.regs.read("MIDI_DIV")
        if div is None:
            div = size(self.div, FAST_DIV)
        await self.set_divisor(div)
        self.device = MidiDevice(self.dut, self.div)
        self.period_ps = self.device.period_ps

    async def set_divisor(self, div):
        await self.regs.write("MIDI_DIV", div)
        self.div = div
        if getattr(self, "device", None):
            self.device.set_divisor(div)

    @property
    def byte_ns(self):
        return 10 * self.div * self.period_ps / 1000

    async def sleep_bytes(self, n):
        await Timer(int(n * self.byte_ns) + 1, "ns")

    async def command(self, cmd, answered=True):
        """Write an MPU-401 command; if it is ``answered``, wait for and read the 0xFE."""
        await self.regs.write("MIDI_STAT", cmd)
        if answered:
            await self.regs.poll("MIDI_STAT", "DSR", 0, timeout_ns=10_000)
            assert await self.regs.read("MIDI_DATA") == MPU_ACK

    async def uart_mode(self):
        await self.command(MPU_RESET)
        await self.command(MPU_UART_MODE)

    async def midi_out(self, data):
        """Write ``data`` to the data port, sleeping a byte time whenever DRR says it is full."""
        for byte in data:
            while await self.regs.read_field("MIDI_STAT", "DRR"):
                await self.sleep_bytes(1)
            await self.regs.write("MIDI_DATA", byte)

    async def midi_in(self):
        """Every byte the data port has now."""
        out = []
        while not await self.regs.read_field("MIDI_STAT", "DSR"):
            out.append(await self.regs.read("MIDI_DATA"))
        return out

    async def errors(self):
        return REGMAP["MIDI_ERR"].decode(await self.regs.read("MIDI_ERR"))

    async def enable_midi_interrupt(self):
        await self.regs.write("INTCTL", REGMAP["INTCTL"].encode(MIE=1, GIE=1))


def parse(data, time_ns=0.0):
    parser = MidiParser()
    return [m.data for byte in data for m in parser.feed(byte, time_ns)]


@cocotb.test()
async def mpu401_commands_and_reset(dut):
    """Defaults (MIDI_DIV from the clock), nothing sent or received outside UART mode, 0xFF and
    0x3F answered with 0xFE (raising the MIDI interrupt), unknown commands answered only
    outside UART mode, and CRST returning the MIDI registers and mode to their defaults."""
    tb = TB(dut)
    await tb.start(div=None)
    clock_hz = 1e12 / tb.period_ps
    assert await tb.regs.read("MIDI_STAT") == STAT.encode(DSR=1)
    assert await tb.regs.read("MQ_FREE") == MIDI_QUEUE_DEPTH
    assert await tb.regs.read("MIDI_ERR") == 0
    # outside UART mode: the data port and the queue ignore writes
    await tb.regs.write("MIDI_DATA", 0x90)
    await tb.regs.write("MQ_DATA", 0x91)
    assert await tb.regs.read("MQ_FREE") == MIDI_QUEUE_DEPTH
    await tb.sleep_bytes(2)
    assert tb.device.received == []
    # the acknowledge raises the MIDI interrupt and its read clears it
    await tb.enable_midi_interrupt()
    await tb.regs.write("MIDI_STAT", MPU_RESET)
    await tb.irq.wait(timeout_ns=10_000)
    sts = REGMAP["INTSTS"].decode(await tb.regs.read("INTSTS"))
    assert sts["MIS"] == 1 and sts["GIS"] == 1
    assert await tb.regs.read("MIDI_STAT") == 0            # DSR=0: the answer waits
    assert await tb.regs.read("MIDI_DATA") == MPU_ACK
    assert REGMAP["INTSTS"].decode(await tb.regs.read("INTSTS"))["MIS"] == 0
    assert not tb.irq.is_asserted()
    await tb.command(UNKNOWN_COMMAND)                      # answered outside UART mode
    await tb.command(MPU_UART_MODE)
    await tb.command(UNKNOWN_COMMAND, answered=False)      # ignored in UART mode
    await tb.sleep_bytes(1)
    assert await tb.regs.read_field("MIDI_STAT", "DSR") == 1
    await tb.regs.write("MQ_DATA", 0x92)                   # UART mode: queued (time 0: due)
    await tb.device.wait_bytes(1, timeout_ns=3 * tb.byte_ns)
    assert [b.value for b in tb.device.received] == [0x92]
    # CRST: registers to defaults, out of UART mode
    await tb.regs.write("MQ_TIME", 0x1234)
    await tb.regs.write("MIDI_DIV", 100)
    await tb.hda.reset()
    assert await tb.regs.read("MQ_TIME") == 0
    assert await tb.regs.read("MIDI_DIV") == midi_divisor(clock_hz)
    assert midi_divisor(clock_hz) == REGMAP["MIDI_DIV"]["DIV"].reset   # the 12.288 MHz build
    await tb.regs.write("MQ_DATA", 0x93)
    assert await tb.regs.read("MQ_FREE") == MIDI_QUEUE_DEPTH


@cocotb.test()
async def midi_out_running_status_and_long_sysex(dut):
    """Byte-exact MIDI out through the data port: running status, and a sysex longer than the
    transmit FIFO sent by sleeping a byte time whenever DRR is set; while the FIFO holds bytes
    the frames follow each other exactly 10 bit times apart."""
    tb = TB(dut)
    await tb.start()
    await tb.uart_mode()
    sysex = bytes([0xF0, 0x7D]) + bytes(range(0x10, 0x10 + 40)) + bytes([0xF7])
    stream = (bytes([0x90, 0x3C, 0x64, 0x3E, 0x64, 0x40, 0x00, 0xC0, 0x05]) + sysex
              + bytes([0xB0, 0x07, 0x7F]))
    await tb.midi_out(stream)
    await tb.device.wait_bytes(len(stream), timeout_ns=(len(stream) + 4) * tb.byte_ns)
    got = tb.device.received
    assert bytes(b.value for b in got) == stream
    assert tb.device.framing_errors == []
    assert [(m.data, m.running_status) for m in tb.device.messages] == [
        (bytes([0x90, 0x3C, 0x64]), False), (bytes([0x90, 0x3E, 0x64]), True),
        (bytes([0x90, 0x40, 0x00]), True), (bytes([0xC0, 0x05]), False), (sysex, False),
        (bytes([0xB0, 0x07, 0x7F]), False)]
    # one unbroken run of frames: the host kept the FIFO from running dry
    gaps = {round((b.time_ns - a.time_ns) * 1000) for a, b in zip(got, got[1:])}
    assert gaps == {10 * tb.div * tb.period_ps}, gaps
    assert tb.device.messages[4].time_ns == got[9].time_ns     # the sysex's F0


@cocotb.test()
async def midi_in_interrupt_handler_drains(dut):
    """MIDI in under the MIDI interrupt: an interrupt handler drains the data port; a note with
    a timing clock (F8) inside it and a sysex with F8s inside, longer than the receive FIFO,
    arrive byte for byte with no overrun."""
    tb = TB(dut)
    await tb.start()
    await tb.uart_mode()
    got = []

    async def handler():
        got.extend(await tb.midi_in())
    tb.irq.add_handler(handler)
    await tb.enable_midi_interrupt()
    sysex = [0xF0, 0x7D] + [0xF8 if i % 7 == 3 else i for i in range(30)] + [0xF7]
    # a timing clock inside a note-on, and inside a note-on sent by running status
    sent = [0x90, 0xF8, 0x3C, 0x64, 0x3E, 0xF8, 0x64] + sysex + [0x80, 0x3C, 0x00]
    assert len(sent) > 2 * 16
    await tb.device.send(sent)
    await tb.sleep_bytes(2)
    assert got == sent
    assert tb.irq.edges > 1
    assert await tb.errors() == {"FRAMING": 0, "OVERRUN": 0}
    assert not tb.irq.is_asserted()
    assert parse(got) == [bytes([0xF8]), bytes([0x90, 0x3C, 0x64]), bytes([0xF8]),
                          bytes([0x90, 0x3E, 0x64])] + [bytes([0xF8])] * 4 + \
        [bytes(b for b in sysex if b != 0xF8), bytes([0x80, 0x3C, 0x00])]


@cocotb.test()
async def midi_in_framing_error(dut):
    """A frame with a stop bit of 0 is counted in MIDI_ERR.FRAMING and dropped; the receiver
    takes the next message once the line has been idle. A monitor on midi_rx sees the same."""
    tb = TB(dut)
    await tb.start()
    await tb.uart_mode()
    monitor = MidiReceiver(dut.midi_rx, tb.div)
    await tb.device.send([0x45], bad_stop=[0], gap_bits=2)
    await tb.device.send([0x90, 0x3C, 0x7F])
    await tb.sleep_bytes(1)
    assert await tb.errors() == {"FRAMING": 1, "OVERRUN": 0}
    assert await tb.midi_in() == [0x90, 0x3C, 0x7F]
    assert len(monitor.framing_errors) == 1
    assert [b.value for b in monitor.received] == [0x90, 0x3C, 0x7F]
    assert monitor.framing_errors[0] < monitor.received[0].time_ns


@cocotb.test()
async def midi_divider_change(dut):
    """A new MIDI_DIV changes the bit time both ways."""
    tb = TB(dut)
    await tb.start()
    await tb.uart_mode()
    await tb.set_divisor(size(196, 24))
    await tb.midi_out([0xB0, 0x40, 0x7F])
    await tb.device.wait_bytes(3, timeout_ns=6 * tb.byte_ns)
    got = tb.device.received
    assert [b.value for b in got] == [0xB0, 0x40, 0x7F]
    assert round((got[2].time_ns - got[1].time_ns) * 1000) == 10 * tb.div * tb.period_ps
    await tb.device.send([0xE0, 0x00, 0x40])
    await tb.sleep_bytes(1)
    assert await tb.midi_in() == [0xE0, 0x00, 0x40]
    assert await tb.errors() == {"FRAMING": 0, "OVERRUN": 0}


@cocotb.test()
async def midi_timestamp_queue(dut):
    """Bytes queued with MQ_TIME in the future leave on the wire at their time (the device's
    arrival time against WALLCLK converted to ns, within one bit time and within the window of
    the WALLCLK read), in the order written; an immediate byte goes out meanwhile; MQ_FREE
    counts the slots."""
    tb = TB(dut)
    await tb.start()
    await tb.uart_mode()
    period_ns = tb.period_ps / 1000
    before = get_sim_time("ps") / 1000
    now = await tb.regs.read("WALLCLK")
    after = get_sim_time("ps") / 1000
    # far enough ahead to queue everything and send the immediate byte first
    t1 = now + 500 + 20 * tb.div
    t2 = t1 + 40 * tb.div
    plan = [(t1, [0x90, 0x3C, 0x64]),          # back to back from t1
            (t2, [0x80, 0x3C, 0x00]),
            (t2 - 5 * tb.div, [0xF8])]          # earlier than t2 but queued after: follows
    for time, data in plan:
        await tb.regs.write("MQ_TIME", time & 0xFFFF_FFFF)
        for byte in data:
            await tb.regs.write("MQ_DATA", byte)
    assert await tb.regs.read("MQ_FREE") == MIDI_QUEUE_DEPTH - 7
    await tb.regs.write("MIDI_DATA", 0xFE)      # immediate: leaves before t1
    await tb.device.wait_bytes(8, timeout_ns=(t2 - now) * period_ns + 6 * tb.byte_ns)
    got = tb.device.received
    assert [b.value for b in got] == [0xFE, 0x90, 0x3C, 0x64, 0x80, 0x3C, 0x00, 0xF8]
    assert await tb.regs.read("MQ_FREE") == MIDI_QUEUE_DEPTH
    # WALLCLK read `now` at an edge between `before` and `after`: the start bit of an entry
    # due at T falls (T - now) clocks after that edge
    bit_ns = tb.div * period_ns
    for arrival, time in ((got[1], t1), (got[4], t2)):
        edge = arrival.time_ns - (time - now) * period_ns
        assert before - period_ns <= edge <= after, (arrival, time, before, after)
        assert arrival.time_ns - (before + (time - now) * period_ns) < bit_ns
    # the rest of each group follows frame after frame; the F8 right after its predecessor
    frame_ps = 10 * tb.div * tb.period_ps
    for a, b in ((1, 2), (2, 3), (4, 5), (5, 6), (6, 7)):
        assert round((got[b].time_ns - got[a].time_ns) * 1000) == frame_ps
    # and exactly: both due entries left at the same offset from their times
    assert round((got[4].time_ns - got[1].time_ns) * 1000) == (t2 - t1) * tb.period_ps
