"""What the MIDI and DMus ports share: binding a miniport that answers Init with a service group,
Notify and RegisterServiceGroup, the port's service routine, pin life cycle, the capture queue
clients read from, and the client-side opening of music pins.

In PortCls a MIDI or DMus miniport's Init hands back a service group; the port joins it (and
any group the miniport registers later with RegisterServiceGroup) as a service sink. When the
miniport's ISR requests service, the group's DPC calls the port's Service, which calls the
miniport's Service and then lets every open pin move data: render pins push what they hold,
MIDI capture pins pull what the miniport has received. A miniport may also call Notify: with a
group it requests that group's service, without one it asks the port to service itself now.

Miniport calls here may be plain methods or coroutines: the port awaits whatever is awaitable
(:func:`call_miniport`), so a miniport that touches registers can be async and one that only
keeps software state need not be.
"""

from __future__ import annotations

from .client import AudioClient
from .ksstate import KSSTATE
from .port import Pin, ServiceGroupPort, call_miniport
from .service_group import ServiceTimer
from .status import NTSTATUS, check_status, nt_success

__all__ = ["MusicPort", "MusicPin", "CaptureQueue", "MusicClient", "MusicClientStream",
           "call_miniport", "MUSIC_SERVICE_PERIOD_100NS"]

#: the port's own service period for a miniport without a service group: 1 ms, about three
#: bytes on a 31250-baud wire, so a UART FIFO of a few bytes never overflows between services
MUSIC_SERVICE_PERIOD_100NS = 10_000


class MusicPort(ServiceGroupPort):
    """The part of IPortMidi and IPortDMus that is the same: Init keeps the miniport's service
    group, Notify, RegisterServiceGroup, and the port's service routine (IServiceSink).

    A miniport whose Init hands back no service group (IMiniportMidi::Init: ServiceGroup
    NULL) gets the port's own periodic service while any pin runs (:class:`ServiceTimer`
    every :attr:`service_period_100ns`)."""

    #: the period of the port's own service timer when the miniport gave no service group
    service_period_100ns = MUSIC_SERVICE_PERIOD_100NS

    def __init__(self):
        super().__init__()
        self._pins = []                 # open pins, serviced in opening order
        self._timer = None

    async def service(self) -> None:
        """The port's service routine: the miniport's Service first (it may have moved data
        between the hardware and its own buffers), then every open pin's."""
        await super().service()
        for pin in list(self._pins):
            await pin.service()

    def _pin_state_changed(self):
        """Run the port's own service timer while a pin runs, if the miniport has no
        service group."""
        if self.service_group is not None:
            return
        if self._timer is None:
            self._timer = ServiceTimer(self.resources.scheduler, self,
                                       self.service_period_100ns)
        if any(pin.running for pin in self._pins):
            self._timer.start()
        else:
            self._timer.stop()

    def _pin_opened(self, pin):
        self._pins.append(pin)

    def _pin_closed(self, pin):
        if pin in self._pins:
            self._pins.remove(pin)
        self._pin_state_changed()


class MusicPin(Pin):
    """A MIDI or DMus pin: steps the miniport stream through KSSTATE and tells the subclass
    when it has entered a state (``async _entered(state)``). ``running`` is True from the
    moment the miniport stream accepted RUN until it accepts another state, so data moves
    (``async _move_data()``) only while the stream runs."""

    def __init__(self, port, filter, pin_id, capture, fmt, stream):
        super().__init__(port, filter, pin_id, capture, fmt, stream)
        self.running = False
        self._moving = False
        self._move_again = False
        self._captured = CaptureQueue(self._scheduler)   # capture: what the client reads

    async def read(self):
        """Captured items: ``(SUCCESS, [...])`` once there are any (MIDI: TimestampedBytes,
        DMus: MusicEvent), ``(CANCELLED, [])`` if the pin stops first;
        INVALID_DEVICE_REQUEST on a render pin, INVALID_DEVICE_STATE once closed."""
        if self._closed:
            return NTSTATUS.INVALID_DEVICE_STATE, []
        if not self.capture:
            return NTSTATUS.INVALID_DEVICE_REQUEST, []
        return await self._captured.take()

    async def _step(self, state):
        status = await call_miniport(self.stream.set_state, state)
        if not nt_success(status):
            return status
        self.running = state == KSSTATE.RUN
        self.port._pin_state_changed()
        await self._entered(state)
        return status

    async def _entered(self, state):
        """Called after the stream accepted ``state`` (subclasses move or flush data)."""

    async def service(self):
        """From the port's service routine: move data if the pin runs."""
        if self.running:
            await self._move()

    async def _move(self):
        """Run the subclass's ``async _move_data()`` while the pin runs, one at a time so
        data reaches the stream in order; a request arriving meanwhile (a service, a client
        write, a timer) makes the running one go round once more instead."""
        if self._moving:
            self._move_again = True
            return
        self._moving = True
        try:
            self._move_again = True
            while self._move_again and self.running:
                self._move_again = False
                await self._move_data()
        finally:
            self._moving = False

    async def _move_data(self):
        """Move what can move now (subclasses)."""

    async def _release(self):
        self.port._pin_closed(self)
        await self._detach()
        await call_miniport(self.stream.close)

    async def _detach(self):
        """Undo what the pin connected at creation (before the stream closes)."""


class CaptureQueue:
    """Captured items waiting for the client, and readers waiting for them.

    :meth:`take` returns everything queued, waiting for at least one item; :meth:`flush`
    (STOP, close) drops what is queued and fails the readers waiting at that moment with
    CANCELLED, as a STOP completes a pin's pending read requests."""

    def __init__(self, scheduler):
        self._items = []
        self._arrived = scheduler.new_event()
        self._epoch = 0                  # bumped by every flush
        self.dropped = 0                 # items discarded by flushes

    def __len__(self):
        return len(self._items)

    def push(self, item):
        self._items.append(item)
        self._arrived.set()

    def flush(self):
        self.dropped += len(self._items)
        self._items.clear()
        self._epoch += 1
        self._arrived.set()              # wake the readers so they see the flush

    async def take(self):
        """``(SUCCESS, items)`` once there are items; ``(CANCELLED, [])`` if a flush came
        first."""
        epoch = self._epoch
        while not self._items:
            if self._epoch != epoch:
                return NTSTATUS.CANCELLED, []
            self._arrived.clear()
            await self._arrived.wait()
        items, self._items = self._items, []
        return NTSTATUS.SUCCESS, items


class MusicClientStream:
    """An open MIDI or DMus pin as the application sees it: state and closing; failed
    statuses become :class:`~portdrv.status.StatusError`."""

    def __init__(self, pin):
        self.pin = pin

    @property
    def state(self) -> KSSTATE:
        return self.pin.state

    @property
    def capture(self) -> bool:
        return self.pin.capture

    async def set_state(self, state):
        state = KSSTATE(state)
        check_status(await self.pin.set_state(state), f"setting the stream to {state.name}")

    async def read(self) -> list:
        """What the pin captured since the last read (MIDI: TimestampedBytes, DMus:
        MusicEvent), waiting for at least one item."""
        status, items = await self.pin.read()
        check_status(status, "reading captured MIDI")
        return items

    async def close(self):
        await self.pin.close()

    def __repr__(self):
        return f"{type(self).__name__}(pin {self.pin.pin_id}, {self.state.name})"


class MusicClient(AudioClient):
    """Opens pins of one kind of music filter (MIDI or DMus) on the filters of a
    :class:`~portdrv.filter.SubdeviceRegistry`; a subclass names the format pins open with
    by default and the client stream class it hands out."""

    default_format = None
    stream_class = MusicClientStream

    async def open(self, filter_name, pin_id, fmt=None):
        """Open pin ``pin_id`` of filter ``filter_name``; StatusError if it cannot be."""
        return await super().open(filter_name, pin_id,
                                  self.default_format if fmt is None else fmt)

    def _client_stream(self, pin):
        return self.stream_class(pin)
