"""The MIDI and DMus ports without a simulator, in virtual time (SimpleScheduler).

The miniports are FAKES that behave the way the contract in portdrv/midi.py and portdrv/dmus.py
says a miniport may: the MIDI render stream takes 0, some or all of the bytes offered following
a pattern (0 = busy UART), the capture stream has a FIFO that "hardware" fills and whose ISR
requests service on the miniport's group; a stream refuses RUN until its UART is initialised
(INVALID_DEVICE_STATE) and refuses KSSTATE jumps. The DMus render stream records when each event
reached it; the capture stream's ISR stamps bytes with the master clock and its Service pushes
events from the allocator into the sink the port connected.
"""

import asyncio
from itertools import cycle
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st

from pcsim.smf import read_smf, wire_bytes
from portdrv.dmus import (DEFAULT_LOOKAHEAD_100NS, AllocatorMXF, DMusClient, DMusEventFlags,
                          DMusKernelEvent, DMusStreamType, MasterClock, MusicEvent, PortDMus)
from portdrv.filter import (Communication, DataFlow, FilterDescriptor, PinDescriptor,
                            SubdeviceRegistry)
from portdrv.formats import (DMUS_FORMAT, KSDATAFORMAT_SUBTYPE_DIRECTMUSIC,
                             KSDATAFORMAT_SUBTYPE_MIDI, MIDI_FORMAT, MusicDataRange, WaveFormat)
from portdrv.hal import SimpleScheduler
from portdrv.ksstate import KSSTATE
from portdrv.midi import (CAPTURE_READ_BYTES, RENDER_RETRY_100NS, MidiClient, PortMidi,
                          TimestampedBytes)
from portdrv.service_group import ServiceGroup
from portdrv.status import NTSTATUS, StatusError

SUCCESS = NTSTATUS.SUCCESS
STOP, ACQUIRE, PAUSE, RUN = KSSTATE.STOP, KSSTATE.ACQUIRE, KSSTATE.PAUSE, KSSTATE.RUN
MS = 10_000                      # 100-ns units per millisecond
PIN_OUT, PIN_IN = 0, 1           # render (data into the filter), capture


def run(body):
    async def main():
        sched = SimpleScheduler()
        return await sched.run(body(sched))
    return asyncio.run(main())


async def outcome(coro):
    """What a client call ends with: its result or the StatusError it raised (a spawned
    coroutine's exception would otherwise fail the whole scheduler run)."""
    try:
        return await coro
    except StatusError as err:
        return err


async def stopped_while_waiting(sched, stream, call):
    """Start a client ``call`` that waits, STOP the stream 1 ms later, and return the status
    of the StatusError the call ended with (None if it returned normally)."""
    task = sched.spawn(outcome(call))
    await sched.sleep_100ns(MS)
    await stream.set_state(STOP)
    await sched.sleep_100ns(0)
    result = task.result()
    return result.status if isinstance(result, StatusError) else None


def music_pins(subtype):
    ranges = (MusicDataRange(subtype),)
    return FilterDescriptor((
        PinDescriptor("out", DataFlow.IN, Communication.SINK, ranges, 1),
        PinDescriptor("in", DataFlow.OUT, Communication.SINK, ranges, 1),
    ))


class SteppedStream:
    """State handling every fake stream shares: one KSSTATE step at a time, RUN refused with
    INVALID_DEVICE_STATE until the miniport's UART is initialised."""

    def __init__(self, miniport, capture):
        self.miniport, self.capture = miniport, capture
        self.state = STOP
        self.steps = []
        self.closed = False

    async def set_state(self, state):
        assert abs(int(state) - int(self.state)) == 1, f"jump {self.state.name}->{state}"
        if state == RUN and not self.miniport.uart_ready:
            return NTSTATUS.INVALID_DEVICE_STATE
        self.steps.append(KSSTATE(state))
        self.state = KSSTATE(state)
        if state == STOP:
            self.stopped()
        return SUCCESS

    def stopped(self):
        """Entering STOP: drop what the stream holds."""

    async def close(self):
        self.closed = True


# ---------------------------------------------------------------- MIDI fakes


class FakeMidiStream(SteppedStream):
    def __init__(self, miniport, capture, pattern):
        super().__init__(miniport, capture)
        self.pattern = cycle(pattern)
        self.wire = bytearray()          # render: bytes taken, in order
        self.write_calls = []            # (time, offered, taken)
        self.fifo = bytearray()          # capture: received, not yet read
        self.read_calls = []             # (time, max, returned)

    def stopped(self):
        self.fifo.clear()                # STOP empties the input FIFO

    async def write(self, data):
        now = self.miniport.sched.now_100ns()
        if self.capture:
            self.write_calls.append((now, bytes(data), 0))
            return NTSTATUS.INVALID_DEVICE_REQUEST, 0
        assert self.state == RUN, "write while not running"
        taken = min(next(self.pattern), len(data))
        self.wire += data[:taken]
        self.write_calls.append((now, bytes(data), taken))
        return SUCCESS, taken

    async def read(self, max_bytes):
        assert self.capture
        data = bytes(self.fifo[:max_bytes])
        del self.fifo[:max_bytes]
        self.read_calls.append((self.miniport.sched.now_100ns(), max_bytes, data))
        return SUCCESS, data

    def receive(self, data):
        """Bytes arrive from the wire: the ISR requests service on the miniport's group."""
        self.fifo += data
        self.miniport.group.request_service()


class FakeMidiMiniport:
    def __init__(self, pattern=(1000,), uart_ready=True):
        self.pattern = pattern
        self.uart_ready = uart_ready
        self.streams = {}
        self.service_calls = 0

    async def init(self, port, resources):
        self.port, self.sched = port, resources.scheduler
        self.group = ServiceGroup(self.sched)
        return SUCCESS, self.group

    def get_description(self):
        return music_pins(KSDATAFORMAT_SUBTYPE_MIDI)

    async def new_stream(self, pin_id, capture, fmt):
        assert fmt == MIDI_FORMAT
        stream = FakeMidiStream(self, capture, self.pattern)
        self.streams[pin_id] = stream
        return SUCCESS, stream

    def service(self):
        self.service_calls += 1


async def midi_pin(sched, pin_id, state=STOP, **miniport_options):
    """A client stream on pin ``pin_id`` of a fresh MIDI port and fake miniport, moved to
    ``state``: (miniport, port, stream)."""
    miniport, port, client = await midi_setup(sched, **miniport_options)
    stream = await client.open("midi", pin_id)
    await stream.set_state(state)
    return miniport, port, stream


async def midi_setup(sched, **miniport_options):
    miniport = FakeMidiMiniport(**miniport_options)
    port = PortMidi()
    assert await port.init(miniport, SimpleNamespace(memory=None, scheduler=sched)) == SUCCESS
    registry = SubdeviceRegistry()
    assert registry.register_subdevice("midi", port) == SUCCESS
    return miniport, port, MidiClient(registry)


def test_render_delivers_every_byte_once_in_order_whatever_the_stream_takes():
    """Takes of 0 (busy), some and all bytes: each write completes only when its last byte
    is taken, and the wire carries the writes' bytes in order, each once."""
    async def body(sched):
        miniport, _, client = await midi_setup(sched, pattern=(0, 2, 0, 0, 5, 1000, 1, 0))
        out = await client.open("midi", PIN_OUT)
        await out.set_state(RUN)
        writes = [bytes([0x90, n, 100]) * k for n, k in ((60, 3), (62, 1), (64, 7))]
        requests = [await out.submit(w) for w in writes]
        for request in requests:
            assert await request.wait() == SUCCESS
        stream = miniport.streams[PIN_OUT]
        assert bytes(stream.wire) == b"".join(writes)
        # every offer started where the previous take ended: no byte offered twice as new
        sent = 0
        for _time, offered, taken in stream.write_calls:
            assert b"".join(writes)[sent:].startswith(offered)
            sent += taken
        assert out.pin.pending_bytes == 0
    run(body)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=8).filter(any),
       st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=6))
def test_render_property_every_byte_once_in_order(pattern, writes):
    async def body(sched):
        miniport, _, out = await midi_pin(sched, PIN_OUT, RUN, pattern=pattern)
        requests = [await out.submit(w) for w in writes]
        for request in requests:
            assert await request.wait() == SUCCESS
        assert bytes(miniport.streams[PIN_OUT].wire) == b"".join(writes)
    run(body)


def test_busy_stream_is_retried_on_a_timer_not_in_a_loop():
    """A UART busy for 10 ms with nobody requesting service: the port offers the bytes again
    once per retry period, and they go out on the first offer after it has room."""
    async def body(sched):
        miniport, _, client = await midi_setup(sched, pattern=(0,) * 10 + (1000,))
        out = await client.open("midi", PIN_OUT)
        await out.set_state(RUN)
        await out.write(b"\xf8")
        stream = miniport.streams[PIN_OUT]
        assert len(stream.write_calls) == 11
        times = [t for t, _, _ in stream.write_calls]
        assert times == [i * RENDER_RETRY_100NS for i in range(11)]
        assert out.pin.retries == 10
    run(body)


def test_notify_retries_before_the_timer():
    """A service requested by the miniport (its transmit interrupt, or Notify without a
    group) moves the waiting bytes at once, without waiting for the retry timer."""
    async def body(sched):
        miniport, port, client = await midi_setup(sched, pattern=(0, 1000))
        out = await client.open("midi", PIN_OUT)
        await out.set_state(RUN)
        request = await out.submit(b"\x90\x40\x7f")
        await sched.sleep_100ns(2_000)               # 0.2 ms: well before the retry
        assert request.status == NTSTATUS.PENDING
        port.notify()
        assert await request.wait() == SUCCESS
        stream = miniport.streams[PIN_OUT]
        assert [t for t, _, _ in stream.write_calls] == [0, 2_000]
        assert miniport.service_calls == 1           # the port's service ran the miniport's
    run(body)


def test_render_holds_bytes_until_run_and_stop_cancels_what_is_left():
    async def body(sched):
        miniport, _, client = await midi_setup(sched, pattern=(1, 0, 0, 0))
        out = await client.open("midi", PIN_OUT)
        request = await out.submit(b"\x80\x40\x00")
        await sched.sleep_100ns(5 * MS)
        stream = miniport.streams[PIN_OUT]
        assert stream.write_calls == [] and request.status == NTSTATUS.PENDING
        await out.set_state(RUN)
        assert bytes(stream.wire) == b"\x80"          # one byte, then busy
        await out.set_state(PAUSE)
        calls = len(stream.write_calls)
        await sched.sleep_100ns(5 * RENDER_RETRY_100NS)
        assert len(stream.write_calls) == calls       # paused: nothing offered
        await out.set_state(STOP)
        assert request.status == NTSTATUS.CANCELLED
        # a client waiting in write() when the pin stops gets the cancellation as an error
        await out.set_state(RUN)
        assert await stopped_while_waiting(sched, out, out.write(b"\x80\x41\x00")) \
            == NTSTATUS.CANCELLED
    run(body)


def test_a_failed_write_fails_that_request_and_the_next_one_goes_on():
    async def body(sched):
        miniport, _, out = await midi_pin(sched, PIN_OUT)
        stream = miniport.streams[PIN_OUT]
        real_write = stream.write
        answers = iter([(NTSTATUS.DEVICE_NOT_READY, 0)])

        async def flaky_write(data):
            answer = next(answers, None)
            return answer if answer else await real_write(data)
        stream.write = flaky_write
        first = await out.submit(b"\xfe")
        second = await out.submit(b"\xf8")
        await out.set_state(RUN)
        assert await first.wait() == NTSTATUS.DEVICE_NOT_READY
        assert await second.wait() == SUCCESS
        assert bytes(stream.wire) == b"\xf8"
    run(body)


def test_capture_reads_while_data_remains_after_the_miniports_service_request():
    async def body(sched):
        miniport, port, inp = await midi_pin(sched, PIN_IN, RUN)
        stream = miniport.streams[PIN_IN]
        assert [r[2] for r in stream.read_calls] == [b""]   # RUN looked once: empty
        await sched.sleep_100ns(3 * MS)
        data = bytes(range(150))                     # more than one read's worth
        stream.receive(data)
        chunks = await inp.read()
        assert b"".join(c.data for c in chunks) == data
        assert all(isinstance(c, TimestampedBytes) and c.time_100ns == 3 * MS for c in chunks)
        # 64 + 64 + 22, then one read that came back empty ends the loop
        assert [len(r[2]) for r in stream.read_calls[1:]] == [64, 64, 22, 0]
        assert all(r[1] == CAPTURE_READ_BYTES for r in stream.read_calls)
        assert port.service_count == 1
    run(body)


def test_capture_timestamps_follow_the_hal_clock():
    async def body(sched):
        miniport, _, client = await midi_setup(sched)
        miniport.group.dpc_latency_100ns = 500       # the DPC runs 50 us after the ISR
        inp = await client.open("midi", PIN_IN)
        await inp.set_state(RUN)
        stream = miniport.streams[PIN_IN]
        got = []
        for at, byte in ((1 * MS, 0xF8), (4 * MS, 0xFA)):
            await sched.sleep_100ns(at - sched.now_100ns())
            stream.receive(bytes([byte]))
            got += await inp.read()
        assert got == [TimestampedBytes(1 * MS + 500, b"\xf8"),
                       TimestampedBytes(4 * MS + 500, b"\xfa")]
    run(body)


def test_write_on_a_capture_pin_is_the_miniports_invalid_device_request():
    async def body(sched):
        miniport, _, inp = await midi_pin(sched, PIN_IN, RUN)
        with pytest.raises(StatusError) as err:
            await inp.write(b"\x90\x40\x7f")
        assert err.value.status == NTSTATUS.INVALID_DEVICE_REQUEST
        # the port asked the miniport, which refused: the status is the miniport's
        assert miniport.streams[PIN_IN].write_calls[0][1] == b"\x90\x40\x7f"
    run(body)


def test_run_before_the_uart_is_initialised_surfaces_invalid_device_state():
    async def body(sched):
        miniport, _, out = await midi_pin(sched, PIN_OUT, uart_ready=False)
        with pytest.raises(StatusError) as err:
            await out.set_state(RUN)
        assert err.value.status == NTSTATUS.INVALID_DEVICE_STATE
        assert out.state == PAUSE                    # stopped at the last step that worked
        assert miniport.streams[PIN_OUT].steps == [ACQUIRE, PAUSE]
        miniport.uart_ready = True
        await out.set_state(RUN)
        assert out.state == RUN
    run(body)


def test_states_are_stepped_one_at_a_time():
    async def body(sched):
        miniport, _, out = await midi_pin(sched, PIN_OUT, RUN)
        await out.set_state(STOP)
        assert miniport.streams[PIN_OUT].steps == [ACQUIRE, PAUSE, RUN, PAUSE, ACQUIRE, STOP]
    run(body)


def test_stop_flushes_capture_and_cancels_a_waiting_read():
    async def body(sched):
        miniport, _, inp = await midi_pin(sched, PIN_IN, RUN)
        stream = miniport.streams[PIN_IN]
        stream.receive(b"\x90\x3c\x40")             # read by the port, not by the client
        await sched.sleep_100ns(MS)
        stream.fifo += b"\x80\x3c\x00"               # still in the miniport's FIFO
        await inp.set_state(STOP)
        assert stream.fifo == b""                    # the miniport emptied its FIFO
        await inp.set_state(RUN)
        stream.receive(b"\xfe")
        chunks = await inp.read()
        assert [c.data for c in chunks] == [b"\xfe"]  # nothing from before the STOP

        assert await stopped_while_waiting(sched, inp, inp.read()) == NTSTATUS.CANCELLED
    run(body)


def test_capture_in_pause_is_read_on_run():
    async def body(sched):
        miniport, _, inp = await midi_pin(sched, PIN_IN, PAUSE)
        miniport.streams[PIN_IN].receive(b"\xf8\xf8")
        await sched.sleep_100ns(2 * MS)
        assert miniport.streams[PIN_IN].read_calls == []
        await inp.set_state(RUN)
        chunks = await inp.read()
        assert chunks == [TimestampedBytes(2 * MS, b"\xf8\xf8")]
    run(body)


def test_register_service_group_and_notify_with_a_group():
    """A group the miniport registers later reaches the port; Notify(group) requests that
    group's DPC, which services the port once however many requests came before it ran."""
    async def body(sched):
        miniport, port, inp = await midi_pin(sched, PIN_IN, RUN)
        late_group = ServiceGroup(sched)
        assert port.register_service_group(late_group) == SUCCESS
        assert port in late_group.members
        miniport.streams[PIN_IN].fifo += b"\xfa"
        port.notify(late_group)
        port.notify(late_group)
        chunks = await inp.read()
        assert [c.data for c in chunks] == [b"\xfa"]
        assert late_group.dpc_count == 1 and port.service_count == 1
    run(body)


def test_music_pins_open_only_with_their_format_and_close_cleanly():
    async def body(sched):
        miniport, port, client = await midi_setup(sched)
        flt = client.registry.filter("midi")
        assert await flt.create_pin(PIN_OUT, WaveFormat.pcm(2, 48000, 16)) \
            == (NTSTATUS.NO_MATCH, None)
        assert await flt.create_pin(PIN_OUT, DMUS_FORMAT) == (NTSTATUS.NO_MATCH, None)
        assert await flt.create_pin(PIN_OUT, "MIDI") == (NTSTATUS.INVALID_PARAMETER, None)
        out = await client.open("midi", PIN_OUT)
        with pytest.raises(StatusError) as err:     # one instance of each pin
            await client.open("midi", PIN_OUT)
        assert err.value.status == NTSTATUS.INSUFFICIENT_RESOURCES
        await out.set_state(RUN)
        await out.close()
        stream = miniport.streams[PIN_OUT]
        assert stream.closed and stream.state == STOP
        assert out.pin not in port._pins
        again = await client.open("midi", PIN_OUT)   # the instance was given back
        assert (await again.pin.write(b"\xf8"))[0] == NTSTATUS.PENDING
        assert await out.pin.write(b"\xf8") == (NTSTATUS.INVALID_DEVICE_STATE, None)
        assert await out.pin.read() == (NTSTATUS.INVALID_DEVICE_STATE, [])
    run(body)


# ---------------------------------------------------------------- DMus fakes


class FakeDMusRender(SteppedStream):
    """Records each event as it arrives (clock time, presentation time, data, flags) and
    gives it back to the allocator, as a miniport does once it has queued the bytes."""

    def __init__(self, miniport, capture):
        super().__init__(miniport, capture)
        self.received = []

    def put_message(self, event):
        assert self.state == RUN
        _, now = self.miniport.clock.get_time()
        self.received.append((now, event.presentation_time, event.data, event.flags))
        return self.miniport.allocator.put_message(event)


class FakeDMusCapture(SteppedStream):
    """The ISR stamps arriving bytes with the master clock and requests service; the
    miniport's Service turns them into events and pushes them to the connected sink."""

    def __init__(self, miniport, capture):
        super().__init__(miniport, capture)
        self.sink = None
        self.stamped = []                # (time, bytes) from the ISR, not yet pushed
        self.push_answers = []

    def connect_output(self, sink):
        if self.sink is not None:
            return NTSTATUS.INVALID_DEVICE_STATE
        self.sink = sink
        return SUCCESS

    def disconnect_output(self, sink):
        if sink is not self.sink:
            return NTSTATUS.INVALID_PARAMETER
        self.sink = None
        return SUCCESS

    def isr_receive(self, data):
        _, now = self.miniport.clock.get_time()
        self.stamped.append((now, bytes(data)))
        self.miniport.capture_group.request_service()

    def push(self):
        while self.stamped and self.sink is not None:
            time, data = self.stamped.pop(0)
            status, event = self.miniport.allocator.get_message()
            assert status == SUCCESS
            event.presentation_time, event.data = time, data
            self.push_answers.append(self.sink.put_message(event))


class FakeDMusMiniport:
    def __init__(self, prefetch=None, connect_status=SUCCESS):
        self.prefetch = prefetch
        self.connect_status = connect_status
        self.uart_ready = True
        self.streams = {}
        self.new_stream_args = []

    async def init(self, port, resources):
        self.port = port
        self.group = ServiceGroup(resources.scheduler)
        # capture streams get a group of their own from NewStream: the port must join it
        self.capture_group = ServiceGroup(resources.scheduler)
        return SUCCESS, self.group

    def get_description(self):
        return music_pins(KSDATAFORMAT_SUBTYPE_DIRECTMUSIC)

    async def new_stream(self, pin_id, stream_type, fmt, allocator, master_clock):
        self.allocator, self.clock = allocator, master_clock
        self.new_stream_args.append((pin_id, stream_type, fmt))
        if stream_type == DMusStreamType.CAPTURE:
            stream = FakeDMusCapture(self, True)
            if self.connect_status != SUCCESS:
                stream.connect_output = lambda sink: self.connect_status
            self.streams[pin_id] = stream
            return SUCCESS, stream, self.capture_group, None
        stream = FakeDMusRender(self, False)
        self.streams[pin_id] = stream
        return SUCCESS, stream, None, self.prefetch

    def service(self):
        for stream in self.streams.values():
            if isinstance(stream, FakeDMusCapture):
                stream.push()


async def dmus_pin(sched, pin_id, state=STOP, **options):
    """A client stream on pin ``pin_id`` of a fresh DMus port and fake miniport, moved to
    ``state``: (miniport, port, stream)."""
    miniport, port, client = await dmus_setup(sched, **options)
    stream = await client.open("dmus", pin_id)
    await stream.set_state(state)
    return miniport, port, stream


async def dmus_setup(sched, pool_events=16, **miniport_options):
    miniport = FakeDMusMiniport(**miniport_options)
    port = PortDMus(pool_events=pool_events, event_data_bytes=8)
    assert await port.init(miniport, SimpleNamespace(memory=None, scheduler=sched)) == SUCCESS
    registry = SubdeviceRegistry()
    assert registry.register_subdevice("dmus", port) == SUCCESS
    return miniport, port, DMusClient(registry)


def test_allocator_exhaustion_and_return():
    pool = AllocatorMXF(capacity=3, data_bytes=4)
    events = [pool.get_message() for _ in range(3)]
    assert all(status == SUCCESS for status, _ in events)
    assert len({id(e) for _, e in events}) == 3 and pool.free_count == 0
    assert pool.get_message() == (NTSTATUS.INSUFFICIENT_RESOURCES, None)
    assert pool.exhausted == 1
    first = events[0][1]
    first.data, first.presentation_time = b"\x90\x40\x7f", 99
    assert pool.put_message(first) == SUCCESS
    assert pool.put_message(first) == NTSTATUS.INVALID_PARAMETER      # already back
    assert pool.put_message(DMusKernelEvent()) == NTSTATUS.INVALID_PARAMETER  # not ours
    status, again = pool.get_message()
    assert status == SUCCESS and again is first
    assert (again.data, again.presentation_time, again.flags) == (b"", 0, DMusEventFlags(0))
    assert pool.get_buffer_size() == 4


def test_master_clock_reads_the_hal_clock_in_100ns_units():
    async def body(sched):
        _, port, out = await dmus_pin(sched, PIN_OUT)
        assert isinstance(port.master_clock, MasterClock)
        assert port.master_clock.get_time() == (SUCCESS, 0)
        await sched.sleep_100ns(12_345)
        assert port.master_clock.get_time() == (SUCCESS, 12_345)
        await sched.sleep_100ns(3 * MS)
        assert out.now() == 12_345 + 3 * MS == sched.now_100ns()
        assert out.master_clock is port.master_clock
    run(body)


def test_render_events_reach_the_miniport_one_lookahead_early_in_time_order():
    async def body(sched):
        miniport, port, out = await dmus_pin(sched, PIN_OUT, pool_events=32)
        assert out.pin.lookahead_100ns == DEFAULT_LOOKAHEAD_100NS
        await out.set_state(RUN)
        base = out.now()
        # sent out of order; two at the same time keep their sending order
        plan = [(50 * MS, b"\x90\x40\x7f"), (20 * MS, b"\x90\x3c\x7f"),
                (35 * MS, b"\x80\x3c\x00"), (35 * MS, b"\x90\x43\x7f"),
                (5 * MS, b"\xc0\x05")]
        for offset, data in plan:
            out.send(base + offset, data)
        assert port.allocator.free_count == 32 - len(plan)
        await out.wait_handed_over()
        received = miniport.streams[PIN_OUT].received
        order = sorted(range(len(plan)), key=lambda i: plan[i][0])   # stable sort
        assert [r[2] for r in received] == [plan[i][1] for i in order]
        for clock_time, presentation, _data, _flags in received:
            # due already (less than the lookahead ahead) -> at once, else exactly one
            # lookahead before its presentation time
            assert clock_time == max(base, presentation - DEFAULT_LOOKAHEAD_100NS)
        assert port.allocator.free_count == 32       # the miniport gave them back
    run(body)


def test_the_miniports_prefetch_sets_the_lookahead_and_pause_holds_events():
    async def body(sched):
        miniport, port, out = await dmus_pin(sched, PIN_OUT, prefetch=2 * MS)
        assert out.pin.lookahead_100ns == 2 * MS
        out.send(10 * MS, b"\xfa")
        out.send(30 * MS, b"\xfc")
        await sched.sleep_100ns(20 * MS)
        received = miniport.streams[PIN_OUT].received
        assert received == []                        # STOP: nothing handed over
        await out.set_state(RUN)                     # the first is late: at once
        await out.set_state(PAUSE)
        await sched.sleep_100ns(20 * MS)             # past the second's hand-over time
        assert [r[:2] for r in received] == [(20 * MS, 10 * MS)]
        await out.set_state(RUN)
        await out.wait_handed_over()
        assert [r[:2] for r in received] == [(20 * MS, 10 * MS), (40 * MS, 30 * MS)]
    run(body)


def test_an_earlier_event_sent_while_waiting_is_handed_over_first():
    async def body(sched):
        miniport, _, out = await dmus_pin(sched, PIN_OUT, RUN, prefetch=MS)
        out.send(50 * MS, b"\xfc")
        await sched.sleep_100ns(10 * MS)
        out.send(20 * MS, b"\xfa")
        await out.wait_handed_over()
        assert [r[:3] for r in miniport.streams[PIN_OUT].received] == [
            (19 * MS, 20 * MS, b"\xfa"), (49 * MS, 50 * MS, b"\xfc")]
    run(body)


def test_sysex_is_split_over_events_and_exhaustion_queues_nothing():
    async def body(sched):
        miniport, port, out = await dmus_pin(sched, PIN_OUT, pool_events=4)
        sysex = bytes([0xF0, 0x7E, 0x7F, 0x09, 0x01]) + bytes(range(10)) + b"\xf7"  # 16
        out.send(MS, sysex)                          # two 8-byte events
        assert port.allocator.free_count == 2
        with pytest.raises(StatusError) as err:      # needs 3, 2 left
            out.send(2 * MS, sysex + b"\xf0\x01\xf7")
        assert err.value.status == NTSTATUS.INSUFFICIENT_RESOURCES
        assert port.allocator.free_count == 2 and out.pin.queued_events == 2
        await out.set_state(RUN)
        await out.wait_handed_over()
        received = miniport.streams[PIN_OUT].received
        assert b"".join(r[2] for r in received) == sysex
        assert [r[3] for r in received] == [DMusEventFlags.INCOMPLETE, DMusEventFlags.COMPLETE]
    run(body)


def test_stop_gives_queued_render_events_back_to_the_pool():
    async def body(sched):
        _, port, out = await dmus_pin(sched, PIN_OUT, RUN, pool_events=8)
        for i in range(5):
            out.send(out.now() + (100 + i) * MS, b"\xf8")
        assert port.allocator.free_count == 3
        await out.set_state(STOP)
        assert port.allocator.free_count == 8 and out.pin.queued_events == 0
        await out.wait_handed_over()                 # nothing left to wait for
    run(body)


def test_capture_events_reach_the_client_with_the_isrs_timestamps():
    async def body(sched):
        miniport, port, client = await dmus_setup(sched)
        miniport.capture_group.dpc_latency_100ns = 7_000   # the DPC runs 0.7 ms after the ISR
        inp = await client.open("dmus", PIN_IN)
        assert miniport.new_stream_args[-1][1] == DMusStreamType.CAPTURE
        assert port in miniport.capture_group.members
        await inp.set_state(RUN)
        stream = miniport.streams[PIN_IN]
        await sched.sleep_100ns(2 * MS)
        stream.isr_receive(b"\x90\x40\x7f")
        await sched.sleep_100ns(MS // 10)
        stream.isr_receive(b"\x80\x40\x00")
        events = await inp.read()
        assert events == [MusicEvent(2 * MS, 1, b"\x90\x40\x7f", DMusEventFlags.COMPLETE),
                          MusicEvent(2 * MS + MS // 10, 1, b"\x80\x40\x00",
                                     DMusEventFlags.COMPLETE)]
        assert sched.now_100ns() == 2 * MS + 7_000   # delivered by the DPC
        assert port.allocator.free_count == 16       # the port gave the events back
    run(body)


def test_connect_output_at_open_disconnect_output_at_close():
    async def body(sched):
        miniport, port, inp = await dmus_pin(sched, PIN_IN)
        stream = miniport.streams[PIN_IN]
        sink = inp.pin.sink
        assert stream.sink is sink and sink.connected
        assert sink.connect_output(object()) == NTSTATUS.INVALID_DEVICE_REQUEST
        await inp.set_state(PAUSE)
        stream.isr_receive(b"\xf8")                  # not running: dropped, slot freed
        await sched.sleep_100ns(MS)
        assert stream.push_answers == [SUCCESS] and sink.dropped == 1
        await inp.close()
        assert stream.sink is None and not sink.connected and stream.closed
        # a late push through the old sink: refused, but the event still goes back
        _, event = port.allocator.get_message()
        assert sink.put_message(event) == NTSTATUS.INVALID_DEVICE_STATE
        assert port.allocator.free_count == 16
        # an event from another pool is refused and left with the caller
        assert sink.put_message(DMusKernelEvent()) == NTSTATUS.INVALID_PARAMETER
        # the pin instance is free again and a new sink is connected
        status, again = await inp.pin.filter.create_pin(PIN_IN, DMUS_FORMAT)
        assert status == SUCCESS and stream is not miniport.streams[PIN_IN]
        assert miniport.streams[PIN_IN].sink is again.sink
    run(body)


def test_a_refused_connect_output_fails_the_open():
    async def body(sched):
        miniport, _, client = await dmus_setup(sched, connect_status=NTSTATUS.UNSUCCESSFUL)
        with pytest.raises(StatusError) as err:
            await client.open("dmus", PIN_IN)
        assert err.value.status == NTSTATUS.UNSUCCESSFUL
        assert miniport.streams[PIN_IN].closed
        assert client.registry.filter("dmus").instances[PIN_IN] == 0
    run(body)


def test_dmus_states_step_and_stop_flushes_capture():
    async def body(sched):
        miniport, _, inp = await dmus_pin(sched, PIN_IN, RUN)
        stream = miniport.streams[PIN_IN]
        stream.isr_receive(b"\xfe")
        await sched.sleep_100ns(MS)                  # pushed to the port, not read
        await inp.set_state(STOP)
        await inp.set_state(RUN)
        stream.isr_receive(b"\xf8")
        events = await inp.read()
        assert [e.data for e in events] == [b"\xf8"]
        assert stream.steps == [ACQUIRE, PAUSE, RUN, PAUSE, ACQUIRE, STOP, ACQUIRE, PAUSE, RUN]
        miniport.uart_ready = False
        await inp.set_state(STOP)
        with pytest.raises(StatusError) as err:
            await inp.set_state(RUN)
        assert err.value.status == NTSTATUS.INVALID_DEVICE_STATE and inp.state == PAUSE
    run(body)


def test_dmus_pins_refuse_the_wrong_direction():
    async def body(sched):
        _, _, client = await dmus_setup(sched)
        inp = await client.open("dmus", PIN_IN)
        out = await client.open("dmus", PIN_OUT)
        with pytest.raises(StatusError) as err:
            inp.send(0, b"\xf8")
        assert err.value.status == NTSTATUS.INVALID_DEVICE_REQUEST
        with pytest.raises(StatusError) as err:
            await out.read()
        assert err.value.status == NTSTATUS.INVALID_DEVICE_REQUEST
        with pytest.raises(StatusError):
            out.send(0, b"")
        flt = client.registry.filter("dmus")
        assert await flt.create_pin(PIN_OUT, MIDI_FORMAT) == (NTSTATUS.NO_MATCH, None)
    run(body)


# ---------------------------------------------------------------- a real file through the ports

REAL_FILE = Path(__file__).resolve().parent.parent / "examples" / "midi" / "music21-test11.mid"


def test_a_real_file_through_the_dmus_port_arrives_in_order_one_lookahead_early():
    """Every message of a type 1 file with tempo changes (examples/midi), sent with its
    presentation time, reaches the miniport in file order, one lookahead early."""
    song = read_smf(REAL_FILE)

    async def body(sched):
        miniport, port, out = await dmus_pin(sched, PIN_OUT, RUN, pool_events=128)
        start = out.now() + 50 * MS
        for message in song.messages:
            out.send(start + message.time_us * 10, message.data)
        await out.wait_handed_over()
        received = miniport.streams[PIN_OUT].received
        assert [r[2] for r in received] == [m.data for m in song.messages]
        assert [r[1] - start for r in received] == [m.time_us * 10 for m in song.messages]
        assert all(clock == presentation - DEFAULT_LOOKAHEAD_100NS
                   for clock, presentation, _, _ in received)
        assert sched.now_100ns() == start + song.messages[-1].time_us * 10 \
            - DEFAULT_LOOKAHEAD_100NS
    run(body)


def test_a_real_file_through_a_busy_midi_port_reaches_the_wire_intact():
    song = read_smf(REAL_FILE)
    stream_bytes = wire_bytes(song.messages)

    async def body(sched):
        miniport, _, out = await midi_pin(sched, PIN_OUT, RUN, pattern=(0, 3, 1, 0, 0, 16))
        await out.write(stream_bytes)
        assert bytes(miniport.streams[PIN_OUT].wire) == stream_bytes
    run(body)
