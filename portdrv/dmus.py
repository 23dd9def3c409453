"""The DMus port driver (IPortDMus analogue): timestamped MIDI events, the event allocator, the
master clock, render and capture pins, and the client API for them.

Events (:class:`DMusKernelEvent`, after DMUS_KERNEL_EVENT) carry a presentation time in 100-ns
units of the master clock, a channel group and MIDI bytes. They come from one bounded pool per
port (:class:`AllocatorMXF`), shared by the port and the miniport: whoever holds an event
returns it with ``put_message`` when done, and an empty pool answers INSUFFICIENT_RESOURCES.

Render: the client sends events stamped with master-clock times. The port keeps them in time
order (equal times in sending order) and, while the pin runs, hands each one to the miniport
stream's ``put_message`` once the clock has reached its presentation time minus the lookahead;
from there the miniport owns the event and plays it at its time (our hardware has a
timestamped output queue for that). The lookahead is what the miniport asks for in
``new_stream`` (PortCls's SchedulePreFetch), or :data:`DEFAULT_LOOKAHEAD_100NS` if it answers
None. An event already due is handed over at once. The port sleeps on a timer until the next
event is due; it never polls.

Capture: the port gives the miniport stream a sink (:class:`DMusCaptureSink`) with
``connect_output`` when the pin opens and takes it back with ``disconnect_output`` when it
closes. The miniport (its ISR stamps input with the master clock, its DPC builds events) calls
``sink.put_message(event)``; the sink copies the event for the client as a :class:`MusicEvent`
and returns it to the allocator.

Miniport contract (IMiniportDMus and IMXF, duck-typed; statuses are values; every method may be
plain or a coroutine):

- ``init(port, resources) -> (status, service_group or None)``; ``get_description() ->
  FilterDescriptor`` (pins with a MusicDataRange of subtype DIRECTMUSIC; DataFlow.OUT =
  capture); ``service()`` (called first by the port's service routine).
- ``new_stream(pin_id, stream_type, fmt, allocator, master_clock) -> (status, stream,
  service_group or None, schedule_prefetch_100ns or None)``: ``stream_type`` is a
  :class:`DMusStreamType`; the port joins the group if one is given (capture streams get the
  miniport's group so its DPC reaches the port).
- stream (IMXF): ``set_state(state) -> status`` (one KSSTATE step at a time; STOP discards
  what it holds, returning events to the allocator); render: ``put_message(event) -> status``
  (takes ownership whatever it answers); capture: ``connect_output(sink) -> status``,
  ``disconnect_output(sink) -> status``; ``close()``.

The miniport calls back ``port.notify(group=None)`` and ``port.register_service_group(group)``,
and uses ``port.allocator`` and ``port.master_clock`` (also handed to ``new_stream``).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import NamedTuple

from .formats import DMUS_FORMAT
from .ksstate import KSSTATE
from .music import MusicClient, MusicClientStream, MusicPin, MusicPort, call_miniport
from .status import NTSTATUS, check_status, nt_success

__all__ = ["PortDMus", "DMusPin", "DMusKernelEvent", "DMusEventFlags", "DMusStreamType",
           "AllocatorMXF", "MasterClock", "DMusCaptureSink", "MusicEvent", "DMusClient",
           "DMusClientStream", "DEFAULT_LOOKAHEAD_100NS", "DEFAULT_POOL_EVENTS",
           "EVENT_DATA_BYTES"]

#: lookahead when the miniport names none: 10 ms covers the port's timer and DPC latency and a
#: few messages of wire time (one 3-byte message is ~1 ms at 31250 baud), while keeping little
#: in the miniport's hands that a STOP or PAUSE has to take back
DEFAULT_LOOKAHEAD_100NS = 100_000

#: events in a port's pool: a busy 16-channel passage queues a few hundred events ahead
DEFAULT_POOL_EVENTS = 256

#: the largest data an event carries; longer SysEx is split over several events
EVENT_DATA_BYTES = 64

CHANNEL_GROUP_DEFAULT = 1   # DirectMusic numbers channel groups from 1 (0 means all groups)


class DMusStreamType(IntEnum):
    """DMUS_STREAM_TYPE without the wave sink, which our hardware has no use for."""
    RENDER = 0
    CAPTURE = 1


class DMusEventFlags(IntFlag):
    """DMUS_KEF_* flags we use. INCOMPLETE marks a fragment of SysEx that continues in the
    next event (of the same stream, same channel group); the last fragment has it clear."""
    COMPLETE = 0
    INCOMPLETE = 1


@dataclass(eq=False)
class DMusKernelEvent:
    """A DMUS_KERNEL_EVENT: MIDI bytes with their presentation time on the master clock
    (100 ns), channel group and flags. Obtained from and returned to an :class:`AllocatorMXF`;
    identity matters (it is a pool slot), so events compare by identity."""

    presentation_time: int = 0
    channel_group: int = CHANNEL_GROUP_DEFAULT
    data: bytes = b""
    flags: DMusEventFlags = DMusEventFlags.COMPLETE

    def clear(self):
        self.presentation_time = 0
        self.channel_group = CHANNEL_GROUP_DEFAULT
        self.data = b""
        self.flags = DMusEventFlags.COMPLETE


class AllocatorMXF:
    """IAllocatorMXF: a bounded pool of events shared by a port and its miniport.

    ``get_message()`` -> ``(SUCCESS, event)`` (cleared) or ``(INSUFFICIENT_RESOURCES,
    None)`` when all ``capacity`` events are out; ``put_message(event)`` -> SUCCESS, or
    INVALID_PARAMETER for an event that is not this pool's or is already back (a double free
    would hand one slot to two owners). ``get_buffer_size()`` is the most data an event may
    carry."""

    def __init__(self, capacity=DEFAULT_POOL_EVENTS, data_bytes=EVENT_DATA_BYTES):
        if capacity < 1 or data_bytes < 1:
            raise ValueError("an allocator needs at least one event of at least one byte")
        self.capacity = capacity
        self._data_bytes = data_bytes
        self._events = [DMusKernelEvent() for _ in range(capacity)]
        self._mine = {id(e) for e in self._events}
        self._free = list(self._events)
        self._free_ids = set(self._mine)
        self.exhausted = 0               # get_message calls refused for lack of events

    @property
    def free_count(self) -> int:
        return len(self._free)

    def get_buffer_size(self) -> int:
        return self._data_bytes

    def get_message(self):
        if not self._free:
            self.exhausted += 1
            return NTSTATUS.INSUFFICIENT_RESOURCES, None
        event = self._free.pop()
        self._free_ids.discard(id(event))
        event.clear()
        return NTSTATUS.SUCCESS, event

    def put_message(self, event) -> int:
        if id(event) not in self._mine or id(event) in self._free_ids:
            return NTSTATUS.INVALID_PARAMETER
        self._free.append(event)
        self._free_ids.add(id(event))
        return NTSTATUS.SUCCESS


class MasterClock:
    """IMasterClock: the time every DMus timestamp is on, in 100-ns units, read from the HAL
    clock (the stack's KeQueryPerformanceCounter). ``get_time() -> (SUCCESS, time)``."""

    def __init__(self, clock):
        self._clock = clock

    def get_time(self):
        return NTSTATUS.SUCCESS, self._clock.now_100ns()


class MusicEvent(NamedTuple):
    """A captured event as the client gets it: a copy, the pool slot went back at once."""
    time_100ns: int
    channel_group: int
    data: bytes
    flags: DMusEventFlags


class DMusCaptureSink:
    """The port's end of a capture stream (an IMXF the miniport's stream outputs to).

    ``put_message(event)`` takes ownership: while the pin runs the event is copied for the
    client, otherwise it is dropped (counted in ``dropped``); either way it goes back to the
    allocator and the answer is SUCCESS. After DisconnectOutput the sink answers
    INVALID_DEVICE_STATE (still freeing the event); an event that is not from the port's
    pool is refused with INVALID_PARAMETER and left with the caller. It is the end of the
    chain, so its own ``connect_output``/``disconnect_output`` answer
    INVALID_DEVICE_REQUEST."""

    def __init__(self, pin):
        self._pin = pin
        self.connected = False
        self.dropped = 0

    def put_message(self, event) -> int:
        pin = self._pin
        copy = MusicEvent(event.presentation_time, event.channel_group, bytes(event.data),
                          DMusEventFlags(event.flags))
        freed = pin.port.allocator.put_message(event)
        if not nt_success(freed):
            return freed                 # not an event of this port's pool: nothing taken
        if self.connected and pin.running:
            pin._captured.push(copy)
        else:
            self.dropped += 1
        return NTSTATUS.SUCCESS if self.connected else NTSTATUS.INVALID_DEVICE_STATE

    def set_state(self, state) -> int:
        return NTSTATUS.SUCCESS

    def connect_output(self, sink) -> int:
        return NTSTATUS.INVALID_DEVICE_REQUEST

    def disconnect_output(self, sink) -> int:
        return NTSTATUS.INVALID_DEVICE_REQUEST


class PortDMus(MusicPort):
    """IPortDMus: binds a DMus miniport; owns the event allocator and the master clock."""

    def __init__(self, pool_events=DEFAULT_POOL_EVENTS, event_data_bytes=EVENT_DATA_BYTES):
        super().__init__()
        self.allocator = AllocatorMXF(pool_events, event_data_bytes)
        self.master_clock = None         # made at Init, from the resources' clock

    async def init(self, miniport, resources) -> int:
        # the clock exists before the miniport's Init, which may want to read it
        self.master_clock = MasterClock(resources.scheduler)
        return await super().init(miniport, resources)

    async def new_pin(self, filter, pin_id, fmt):
        capture = filter.pins[pin_id].capture
        kind = DMusStreamType.CAPTURE if capture else DMusStreamType.RENDER
        status, stream, group, prefetch = await call_miniport(
            self.miniport.new_stream, pin_id, kind, fmt, self.allocator, self.master_clock)
        if not nt_success(status):
            return status, None
        lookahead = DEFAULT_LOOKAHEAD_100NS if prefetch is None else int(prefetch)
        pin = DMusPin(self, filter, pin_id, capture, fmt, stream, lookahead)
        if group is not None:
            status = self.register_service_group(group)
        if nt_success(status) and capture:
            status = await call_miniport(stream.connect_output, pin.sink)
            pin.sink.connected = nt_success(status)
        if not nt_success(status):
            await call_miniport(stream.close)
            return status, None
        self._pin_opened(pin)
        return NTSTATUS.SUCCESS, pin


class DMusPin(MusicPin):
    """One open DMus pin: render events waiting for their hand-over time, or captured
    events waiting for the client."""

    def __init__(self, port, filter, pin_id, capture, fmt, stream, lookahead_100ns):
        super().__init__(port, filter, pin_id, capture, fmt, stream)
        self.lookahead_100ns = lookahead_100ns
        self.sink = DMusCaptureSink(self) if capture else None
        self._allocator = port.allocator
        self._clock = port.master_clock
        self._queue = []                 # render heap of (presentation time, order, event)
        self._order = itertools.count()  # keeps equal presentation times in sending order
        self._handed = self._scheduler.new_event()   # the render queue got shorter
        self._alarm_at = None            # the earliest hand-over time a timer is set for
        self.events_delivered = 0        # render events handed to the miniport
        self.events_refused = 0          # ... of which it answered with a failed status

    # ---- client side --------------------------------------------------------------------

    def send(self, presentation_time, data, channel_group=CHANNEL_GROUP_DEFAULT) -> int:
        """Queue MIDI ``data`` to be played at ``presentation_time`` (master clock, 100 ns).

        Data longer than the allocator's event size (SysEx) is split over several events,
        all but the last flagged INCOMPLETE. SUCCESS; INSUFFICIENT_RESOURCES if the pool
        has too few events (nothing is queued then); INVALID_PARAMETER for empty data or a
        negative time; INVALID_DEVICE_REQUEST on a capture pin."""
        if self._closed:
            return NTSTATUS.INVALID_DEVICE_STATE
        if self.capture:
            return NTSTATUS.INVALID_DEVICE_REQUEST
        data = bytes(data)
        if not data or presentation_time < 0:
            return NTSTATUS.INVALID_PARAMETER
        size = self._allocator.get_buffer_size()
        pieces = [data[i:i + size] for i in range(0, len(data), size)]
        events = []
        for index, piece in enumerate(pieces):
            status, event = self._allocator.get_message()
            if not nt_success(status):
                for taken in events:
                    self._allocator.put_message(taken)
                return status
            event.presentation_time = int(presentation_time)
            event.channel_group = channel_group
            event.data = piece
            event.flags = (DMusEventFlags.INCOMPLETE if index < len(pieces) - 1
                           else DMusEventFlags.COMPLETE)
            events.append(event)
        for event in events:
            heapq.heappush(self._queue, (event.presentation_time, next(self._order), event))
        if self.running:
            self._scheduler.spawn(self._move())
        return NTSTATUS.SUCCESS

    @property
    def queued_events(self) -> int:
        """Render events sent by the client and not yet handed to the miniport."""
        return len(self._queue)

    async def wait_handed_over(self):
        """Wait until every render event sent so far is in the miniport's hands (or was
        given back to the pool by a STOP)."""
        while self._queue:
            self._handed.clear()
            await self._handed.wait()

    # ---- state and service ----------------------------------------------------------------

    async def _entered(self, state):
        if state == KSSTATE.RUN:
            await self._move()
        elif state == KSSTATE.STOP:
            if self.capture:
                self._captured.flush()
            else:
                for _time, _order, event in self._queue:
                    self._allocator.put_message(event)
                self._queue.clear()
                self._handed.set()

    async def _detach(self):
        if self.sink is not None and self.sink.connected:
            await call_miniport(self.stream.disconnect_output, self.sink)
            self.sink.connected = False

    # ---- render hand-over -----------------------------------------------------------------

    async def _move_data(self):
        if not self.capture:             # capture events are pushed by the miniport
            await self._hand_over_due()

    async def _hand_over_due(self):
        """Hand every event whose time minus the lookahead has come to the miniport, in
        time order, and set a timer for the next one."""
        while self._queue and self.running:
            due = self._queue[0][0] - self.lookahead_100ns
            _status, now = self._clock.get_time()
            if due > now:
                self._set_alarm(due)
                return
            _time, _order, event = heapq.heappop(self._queue)
            self._handed.set()
            status = await call_miniport(self.stream.put_message, event)
            tracer = self._scheduler.tracer
            if tracer.enabled:
                tracer.event("port", "DMUS_EVENT", f"due {event.presentation_time} "
                             f"data {bytes(event.data).hex()} status {int(status):#x}")
            self.events_delivered += 1
            if not nt_success(status):
                self.events_refused += 1

    def _set_alarm(self, due):
        # A timer already set for an earlier time will feed (and set the next timer) anyway.
        if self._alarm_at is not None and self._alarm_at <= due:
            return
        self._alarm_at = due
        self._scheduler.spawn(self._alarm(due))

    async def _alarm(self, due):
        _status, now = self._clock.get_time()
        await self._scheduler.sleep_100ns(max(0, due - now))
        if self._alarm_at == due:
            self._alarm_at = None
        await self._move()


class DMusClientStream(MusicClientStream):
    """An open DMus pin as the application sees it."""

    @property
    def master_clock(self) -> MasterClock:
        return self.pin.port.master_clock

    def now(self) -> int:
        """The master clock's time (100 ns): presentation times are on this clock."""
        status, time = self.master_clock.get_time()
        check_status(status, "reading the master clock")
        return time

    def send(self, presentation_time, data, channel_group=CHANNEL_GROUP_DEFAULT):
        """Queue a MIDI message (or SysEx) to play at ``presentation_time``."""
        check_status(self.pin.send(presentation_time, data, channel_group),
                     f"sending {len(data)} MIDI bytes at {presentation_time}")

    async def wait_handed_over(self):
        """Wait until the miniport holds every event sent so far."""
        await self.pin.wait_handed_over()

class DMusClient(MusicClient):
    """Opens DMus pins (format DMUS_FORMAT unless told otherwise)."""

    default_format = DMUS_FORMAT
    stream_class = DMusClientStream
