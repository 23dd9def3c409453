"""What every port driver object shares: binding its miniport (IPort::Init)."""

from __future__ import annotations

from .ksstate import KSSTATE, StreamState
from .properties import EventList
from .status import NTSTATUS, nt_success

__all__ = ["Port", "Pin"]


class Port:
    """A port bound to one miniport: :meth:`init` gives the miniport the adapter's resource
    list and reads its filter descriptor (and, if it has one, its device description).

    Every port is also IPortEvents: the miniport raises events with
    :meth:`generate_event_list`; ``events`` holds what clients enabled."""

    def __init__(self):
        self.miniport = None
        self.resources = None
        self.descriptor = None
        self.device_description = None
        self.events = EventList()

    def generate_event_list(self, kind, *, node=None, pin=None) -> int:
        """IPortEvents::GenerateEventList: signal the clients' entries of ``kind`` on ``node``
        or ``pin`` (None: any); returns how many were signalled."""
        return self.events.generate(kind, node=node, pin=pin)

    async def init(self, miniport, resources) -> int:
        if self.miniport is not None:
            return NTSTATUS.INVALID_DEVICE_STATE
        status = await self._init_miniport(miniport, resources)
        if not nt_success(status):
            return status
        self.miniport = miniport
        self.resources = resources
        self.descriptor = miniport.get_description()
        describe = getattr(miniport, "get_device_description", None)
        self.device_description = describe() if describe else None
        return NTSTATUS.SUCCESS

    async def _init_miniport(self, miniport, resources) -> int:
        """The miniport's Init; a port whose miniport answers more than a status (MIDI, DMus:
        also a service group) overrides this to keep the rest."""
        return await miniport.init(self, resources)


class Pin:
    """What every port's pin has: its filter and pin factory, direction, format, the miniport
    stream, the HAL services, and a KSSTATE that clients move one step at a time (a subclass
    implements ``async _step(state) -> status``)."""

    def __init__(self, port, filter, pin_id, capture, fmt, stream=None):
        self.port = port
        self.filter = filter
        self.pin_id = pin_id
        self.capture = capture
        self.format = fmt
        self.stream = stream
        self._memory = port.resources.memory
        self._scheduler = port.resources.scheduler
        self._state = StreamState()
        self._closed = False

    @property
    def state(self) -> KSSTATE:
        return self._state.state

    @property
    def closed(self) -> bool:
        return self._closed

    def resync_after_power_loss(self):
        """Called while paused, after the device lost its context in D3 and the miniport
        restored its stream: a pin that keeps positions of its own brings them in line."""

    def queue_reads(self):
        """Capture pins that store into client packets queue them here ahead of RUN; pins
        with their own cyclic buffer need nothing."""

    async def set_state(self, target) -> int:
        """Go to ``target`` one KSSTATE step at a time; returns the first failing status."""
        if self._closed:
            return NTSTATUS.INVALID_DEVICE_STATE
        before = self.state
        status = await self._state.walk(target, self._step)
        tracer = self._scheduler.tracer
        if tracer.enabled:
            tracer.event("port", "KSSTATE", f"pin {self.pin_id}: {before.name} -> "
                         f"{self.state.name} (asked {KSSTATE(target).name}, status {status:#x})")
        return status

    async def close(self):
        """STOP, release what the pin holds (``async _release()``), give the instance back."""
        if self._closed:
            return
        await self.set_state(KSSTATE.STOP)
        self._closed = True
        await self._release()
        self.filter.pin_closed(self)

    async def _release(self):
        await self.stream.close()
