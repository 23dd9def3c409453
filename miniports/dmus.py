"""The DMus miniport for the controller's MPU-401 UART (IMiniportDMus and its IMXF streams).

Same filter as the MIDI miniport (:data:`~miniports.midi.MIDI_PIN_RENDER` 0,
:data:`~miniports.midi.MIDI_PIN_CAPTURE` 1), DirectMusic data ranges.

Render: the port hands each event over one schedule prefetch before its presentation time
(:meth:`MiniportDMusUart.schedule_prefetch_100ns`). The stream writes it into the hardware's
timestamped queue: MQ_TIME = the presentation time on WALLCLK, then the bytes to MQ_DATA, and
gives the event back to the allocator; the hardware starts the first byte on the clock edge at
which WALLCLK reaches that time, whatever the host is doing then. Events that cannot go there
take the software path: a timer at the presentation time requests the miniport's DPC, which
writes the bytes to MIDI_DATA. That happens when

- the queue has no room for the event (MQ_FREE), or its time is already past ("too late":
  the queue would send it at once anyway, but behind nothing: the software path does the same
  without making the queue's order depend on it), or lies beyond the queue's wrap-aware
  horizon;
- :attr:`MiniportDMusUart.hardware_queue` is False (the software path for everything: what a
  UART without a queue gets, and a test's comparison).

Ordering: events leave in the order the port hands them over (presentation order). Once one
event takes the software path, later ones follow it until it has drained, and the software
path writes only while the hardware queue is empty; a queued event's time is never before the
bytes the software path put in the transmit FIFO have left (an estimate with a frame to
spare). The hardware gives due queue bytes priority over the FIFO at every byte boundary, so
without these rules a queued message could cut into one sent through the FIFO.

Presentation time -> WALLCLK (:class:`WallclockMap`): the master clock (100 ns) and WALLCLK
(controller clocks, 32 bits, wrapping) are related by one sample pair taken when a stream
enters RUN (so also after D3, which resets WALLCLK): the master clock is read before and after
a WALLCLK read, and the WALLCLK value is taken to belong to the middle of that window (each
reading is the 100-ns period it falls in, so the window is [before, after + 1); of three
such reads the narrowest window is kept). Then
``wallclk(t) = W0 + round((t - T0) * clock_hz / 10^7) mod 2^32``, exact rational arithmetic
rounded to the nearest clock (halves up). The error is half the window (one register read,
~0.5 us) plus half a clock; on real hardware the two clocks drift apart (crystal tolerance),
which resampling at each RUN bounds to a few ppm of the time since.

Capture: the ISR stamps each byte with the master clock (see :mod:`miniports.mpu401` for the
accuracy); the DPC assembles messages (:class:`MidiEventAssembler`) and pushes them to the
sink the port connected: channel messages complete with their status byte (one that came by
running status gets it back), each real-time byte as an event of its own (also from inside
another message or a SysEx), SysEx in fragments of at most the allocator's event size, all
but the last flagged INCOMPLETE. An event's presentation time is the stamp of its first byte.
Captured events carry channel group 1, and render events of every channel group go to the
one UART.

STOP: capture empties the receive FIFO and the input buffer and drops what was assembled but
not delivered; render returns every event the stream still holds to the allocator (bytes
already in the hardware queue, at most one prefetch ahead, still play).
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from math import ceil, floor

from portdrv.dmus import DEFAULT_LOOKAHEAD_100NS, DMusEventFlags, DMusStreamType
from portdrv.formats import KSDATAFORMAT_SUBTYPE_DIRECTMUSIC
from portdrv.ksstate import KSSTATE
from portdrv.status import NTSTATUS, nt_success
from rtl.regmap import MIDI_QUEUE_DEPTH

from .midi import INPUT_BUFFER_BYTES, MIDI_PIN_CAPTURE, MIDI_PIN_RENDER, UartMiniport
from .mpu401 import FRAME_BITS

__all__ = ["MiniportDMusUart", "DMusUartRenderStream", "DMusUartCaptureStream",
           "WallclockMap", "MidiEventAssembler", "DpcTimer", "QUEUE_HORIZON_CLOCKS",
           "POOL_RETRY_100NS", "MIDI_PIN_RENDER", "MIDI_PIN_CAPTURE"]

#: the farthest ahead an entry may be queued: the hardware compares wrap-aware (2^31 clocks,
#: ~175 s at 12.288 MHz, count as the future); half of that leaves room for any error
QUEUE_HORIZON_CLOCKS = 1 << 30
#: how soon capture tries again when the event pool was empty
POOL_RETRY_100NS = 10_000

SYSEX, EOX, REALTIME = 0xF0, 0xF7, 0xF8
#: data bytes after a channel status byte (by its high nibble) and a system common one
CHANNEL_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
COMMON_DATA_BYTES = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF4: 0, 0xF5: 0, 0xF6: 0}


class WallclockMap:
    """Master-clock time (100 ns) <-> WALLCLK (module docstring: how and how well)."""

    def __init__(self, clock_hz):
        self.clock_hz = Fraction(clock_hz)
        self.anchor_time = None          # master-clock time of the WALLCLK sample (Fraction)
        self.anchor_clocks = 0
        self.window_100ns = None         # width of the window the kept sample was read in

    @property
    def valid(self) -> bool:
        return self.anchor_time is not None

    def invalidate(self):
        self.anchor_time = None

    async def sample(self, uart, now, tries=3):
        """Take a (master clock, WALLCLK) pair; ``now()`` reads the master clock. Of
        ``tries`` pairs the one read in the narrowest window is kept (other bus traffic, an
        ISR's reads, can delay a read and widen its window)."""
        best = None
        for _ in range(tries):
            before = now()
            clocks = await uart.read_wallclk()
            after = now()
            if best is None or after - before < best[1] - best[0]:
                best = (before, after, clocks)
        before, after, clocks = best
        self.anchor_time = Fraction(before + after + 1, 2)
        self.anchor_clocks = clocks
        self.window_100ns = after + 1 - before

    def clocks_between(self, start_100ns, end_100ns) -> Fraction:
        return (Fraction(end_100ns) - Fraction(start_100ns)) * self.clock_hz / 10_000_000

    def to_wallclk(self, time_100ns) -> int:
        offset = self.clocks_between(self.anchor_time, time_100ns)
        return (self.anchor_clocks + floor(offset + Fraction(1, 2))) & 0xFFFF_FFFF


class DpcTimer:
    """A timer whose expiry requests the miniport's DPC (a KTIMER with a DPC): the work runs
    in the service group's DPC, so injected DPC latency delays it. One pending expiry: arming
    for a later time than the pending one does nothing (the DPC arms again for what is left)."""

    def __init__(self, scheduler, clock, service_group):
        self._scheduler = scheduler
        self._clock = clock
        self._group = service_group
        self._at = None

    def arm(self, at_100ns):
        at_100ns = ceil(at_100ns)
        if self._at is not None and self._at <= at_100ns:
            return
        self._at = at_100ns
        self._scheduler.spawn(self._expire(at_100ns))

    async def _expire(self, at_100ns):
        # the master clock runs on the HAL clock the scheduler sleeps on
        await self._scheduler.sleep_100ns(max(0, at_100ns - self._clock()))
        if self._at == at_100ns:
            self._at = None
            self._group.request_service()


class MidiEventAssembler:
    """Received bytes -> ``(time, data, flags)`` events (rules in the module docstring).

    A SysEx fragment that reaches ``max_data`` bytes is held until the next byte says whether
    the SysEx goes on (INCOMPLETE) or ends there; data bytes with no status to belong to, a
    lone EOX, and a channel message cut short by another status byte are dropped (counted in
    :attr:`dropped`)."""

    def __init__(self, max_data):
        self.max_data = max_data
        self.dropped = 0
        self.reset()

    def reset(self):
        self.running = None              # running status
        self._pending = bytearray()
        self._time = 0
        self._needed = 0
        self._sysex = False

    def _take(self, flags=DMusEventFlags.COMPLETE):
        event = (self._time, bytes(self._pending), flags)
        self._pending = bytearray()
        return event

    def _start(self, time, first):
        self._pending = bytearray(first)
        self._time = time

    def feed(self, time, byte) -> list:
        if byte >= REALTIME:
            return [(time, bytes([byte]), DMusEventFlags.COMPLETE)]
        out = []
        if self._sysex:
            if byte < 0x80 or byte == EOX:
                if len(self._pending) >= self.max_data:
                    out.append(self._take(DMusEventFlags.INCOMPLETE))
                if not self._pending:
                    self._time = time
                self._pending.append(byte)
                if byte == EOX:
                    self._sysex = False
                    out.append(self._take())
                return out
            self._sysex = False          # a status byte ends the SysEx early
            out.append(self._take())
        if byte & 0x80:
            if self._pending:
                self.dropped += len(self._pending)
            self._start(time, [byte])
            if byte == SYSEX:
                self._sysex, self.running = True, None
            elif byte == EOX:
                self.dropped += 1
                self._pending = bytearray()
            elif byte < SYSEX:
                self.running, self._needed = byte, CHANNEL_DATA_BYTES[byte >> 4]
            else:
                self.running, self._needed = None, COMMON_DATA_BYTES[byte]
                if self._needed == 0:
                    out.append(self._take())
            return out
        if not self._pending:
            if self.running is None:
                self.dropped += 1
                return out
            self._start(time, [self.running])
            self._needed = CHANNEL_DATA_BYTES[self.running >> 4]
        self._pending.append(byte)
        if len(self._pending) == 1 + self._needed:
            out.append(self._take())
        return out


class MiniportDMusUart(UartMiniport):
    """IMiniportDMus for the UART (module docstring). ``hardware_queue`` picks the render
    path: the timestamped queue with the software path as fallback (True), or the software
    path only (False); it may be changed at any time and applies to events handed over from
    then on."""

    subtype = KSDATAFORMAT_SUBTYPE_DIRECTMUSIC

    def __init__(self, controller, hardware_queue=True):
        super().__init__(controller)
        self.hardware_queue = hardware_queue

    def _input_clock(self, port, resources):
        master_clock = port.master_clock
        return lambda: master_clock.get_time()[1]

    @property
    def schedule_prefetch_100ns(self) -> int:
        """How far ahead the port hands render events over: the port's default 10 ms, or
        half the time the queue takes to send a full load if that is shorter (a faster
        wire), so that a queue fed at most that far ahead overflows only when the wire
        cannot carry the music anyway (at 31250 baud 64 bytes are 20 ms)."""
        return min(DEFAULT_LOOKAHEAD_100NS,
                   floor(MIDI_QUEUE_DEPTH * self.uart.frame_100ns / 2))

    async def new_stream(self, pin_id, stream_type, fmt, allocator, master_clock):
        capture = stream_type == DMusStreamType.CAPTURE
        if not self._check_pin(pin_id, capture):
            return NTSTATUS.INVALID_PARAMETER, None, None, None
        if capture:
            stream = DMusUartCaptureStream(self, allocator, master_clock)
            answer = (stream, self.service_group, None)
        else:
            stream = DMusUartRenderStream(self, allocator, master_clock)
            answer = (stream, None, self.schedule_prefetch_100ns)
        self.streams.append(stream)
        return (NTSTATUS.SUCCESS,) + answer

    async def service(self):
        """The DPC: software-path writes of render streams, event delivery of capture."""
        for stream in list(self.streams):
            await stream.service()

    def _context_lost(self):
        for stream in self.streams:
            stream.context_lost()


class _DMusUartStream:
    """What both DMus streams have: the miniport's UART, the allocator, the master clock,
    a DPC timer and a KSSTATE."""

    capture = False

    def __init__(self, miniport, allocator, master_clock):
        self.miniport = miniport
        self.uart = miniport.uart
        self.allocator = allocator
        self.master_clock = master_clock
        self.state = KSSTATE.STOP
        self.timer = DpcTimer(miniport.scheduler, self._now, miniport.service_group)

    def _now(self) -> int:
        return self.master_clock.get_time()[1]

    async def close(self):
        self.miniport.stream_closed(self)


class DMusUartRenderStream(_DMusUartStream):
    """The render IMXF: events into the timestamped queue, or through the software path."""

    def __init__(self, miniport, allocator, master_clock):
        super().__init__(miniport, allocator, master_clock)
        self.map = WallclockMap(miniport.controller.clock_hz)
        self._backlog = deque()          # events for the software path, in hand-over order
        self._sent = 0                   # bytes of the backlog's first event already written
        self._fifo_end = 0               # master clock: when the FIFO bytes have left (upper)
        self._queue_end = 0              # master clock: when the last queued byte has left
        self._queue_may_hold = False     # something was queued since it was last seen empty
        self.events_queued = 0           # went into the hardware queue
        self.events_written = 0          # went through the software path
        self.late_events = 0             # handed over after their presentation time
        self.queue_full_events = 0       # found no room in the queue

    async def set_state(self, state):
        state = KSSTATE(state)
        if state == KSSTATE.RUN:
            if not self.uart.ready:
                return NTSTATUS.INVALID_DEVICE_STATE
            await self.map.sample(self.uart, self._now)
            self.state = state
            if self._backlog:
                self.timer.arm(self._backlog[0].presentation_time)
            return NTSTATUS.SUCCESS
        self.state = state
        if state == KSSTATE.STOP:
            self._release_backlog()
        return NTSTATUS.SUCCESS

    def _release_backlog(self):
        while self._backlog:
            self.allocator.put_message(self._backlog.popleft())
        self._sent = 0

    def context_lost(self):
        """D3: the queue and the FIFO went with the power, and WALLCLK restarts."""
        self.map.invalidate()
        self._fifo_end = self._queue_end = 0
        self._queue_may_hold = False

    async def put_message(self, event):
        """Take ``event`` (always: it goes back to the allocator once written to hardware,
        or at STOP)."""
        if (self.state == KSSTATE.RUN and self.miniport.hardware_queue and not self._backlog
                and self.uart.ready and await self._queue_in_hardware(event)):
            return NTSTATUS.SUCCESS
        self._backlog.append(event)
        if self.state == KSSTATE.RUN:
            self.timer.arm(event.presentation_time)
        return NTSTATUS.SUCCESS

    async def _queue_in_hardware(self, event) -> bool:
        if not self.map.valid:
            return False
        now = self._now()
        if event.presentation_time < now:
            self.late_events += 1
            return False
        at = max(Fraction(event.presentation_time), self._fifo_end)
        if self.map.clocks_between(now, at) >= QUEUE_HORIZON_CLOCKS:
            return False
        if await self.uart.queue_free() < len(event.data):
            self.queue_full_events += 1
            return False
        await self.uart.queue_bytes(self.map.to_wallclk(at), event.data)
        self._queue_end = max(at, self._queue_end) + len(event.data) * self.uart.frame_100ns
        self._queue_may_hold = True
        self.events_queued += 1
        self.allocator.put_message(event)
        return True

    async def service(self):
        """DPC: write the backlog's due events to MIDI_DATA, in order, once the queue is
        empty; arm the timer for whatever has to wait."""
        while self.state == KSSTATE.RUN and self._backlog:
            event = self._backlog[0]
            if event.presentation_time > self._now():
                self.timer.arm(event.presentation_time)
                return
            if not await self._queue_drained():
                return
            if self.state != KSSTATE.RUN or not self._backlog or self._backlog[0] is not event:
                continue                 # stopped meanwhile: the event went back already
            written = await self.uart.write_data(event.data[self._sent:])
            if written:
                frame = self.uart.frame_100ns
                self._fifo_end = max(self._fifo_end, self._now() + frame) + written * frame
            if not self._backlog or self._backlog[0] is not event:
                continue
            self._sent += written
            if self._sent < len(event.data):
                # the FIFO is full: a byte time frees a slot
                self.timer.arm(self._now() + self.uart.frame_100ns)
                return
            self._backlog.popleft()
            self._sent = 0
            self.events_written += 1
            self.allocator.put_message(event)

    async def _queue_drained(self) -> bool:
        """True once the hardware queue is empty; else the timer is armed for when it
        should be."""
        if not self._queue_may_hold:
            return True
        # the queue is empty once its last byte has started on the line: a FIFO byte
        # written then follows it without a gap (one bit time of margin on the estimate)
        frame = self.uart.frame_100ns
        empty_at = self._queue_end - frame + frame / FRAME_BITS
        if empty_at > self._now():
            self.timer.arm(empty_at)
            return False
        if await self.uart.queue_free() < MIDI_QUEUE_DEPTH:
            self.timer.arm(self._now() + self.uart.frame_100ns)
            return False
        self._queue_may_hold = False
        return True

    @property
    def held_events(self) -> int:
        """Events waiting for the software path."""
        return len(self._backlog)

    async def close(self):
        self._release_backlog()
        await super().close()


class DMusUartCaptureStream(_DMusUartStream):
    """The capture IMXF: stamped input assembled into events for the port's sink."""

    capture = True

    def __init__(self, miniport, allocator, master_clock):
        super().__init__(miniport, allocator, master_clock)
        self.sink = None
        self._input = deque()            # (time_100ns, byte) from the ISR
        self._assembler = MidiEventAssembler(allocator.get_buffer_size())
        self._ready = deque()            # assembled events waiting for a pool slot
        self.events_delivered = 0
        self.overflows = 0               # input bytes dropped for a full buffer
        self.pool_empty = 0              # DPCs that found the event pool empty

    def connect_output(self, sink):
        if self.sink is not None:
            return NTSTATUS.INVALID_DEVICE_STATE
        self.sink = sink
        return NTSTATUS.SUCCESS

    def disconnect_output(self, sink):
        if sink is not self.sink:
            return NTSTATUS.INVALID_PARAMETER
        self.sink = None
        return NTSTATUS.SUCCESS

    async def set_state(self, state):
        state = KSSTATE(state)
        if state == KSSTATE.RUN and not self.uart.ready:
            return NTSTATUS.INVALID_DEVICE_STATE
        self.state = state
        if state == KSSTATE.RUN and (self._input or self._ready):
            self.miniport.service_group.request_service()
        elif state == KSSTATE.STOP:
            await self.uart.flush_input(self._discard)
        return NTSTATUS.SUCCESS

    def _discard(self):
        self._input.clear()
        self._ready.clear()
        self._assembler.reset()

    def context_lost(self):
        """D3: nothing of the capture stream's lives in the hardware."""

    def take_input(self, batch):
        """ISR: keep the stamped bytes for the DPC."""
        room = INPUT_BUFFER_BYTES - len(self._input)
        self._input.extend(batch[:room])
        self.overflows += max(0, len(batch) - room)

    async def service(self):
        """DPC: assemble what the ISR stamped and push the events to the sink."""
        if self.state != KSSTATE.RUN:
            return
        while self._input:
            self._ready.extend(self._assembler.feed(*self._input.popleft()))
        while self._ready and self.sink is not None:
            status, event = self.allocator.get_message()
            if not nt_success(status):
                self.pool_empty += 1
                self.timer.arm(self._now() + POOL_RETRY_100NS)
                return
            event.presentation_time, event.data, event.flags = self._ready.popleft()
            status = self.sink.put_message(event)
            if status == NTSTATUS.INVALID_PARAMETER:
                self.allocator.put_message(event)    # refused and left with us
            elif nt_success(status):
                self.events_delivered += 1
