"""What every port driver object shares: binding its miniport (IPort::Init), and for the
ports whose miniport's Init hands back a service group (WavePci, MIDI, DMus) joining it."""

from __future__ import annotations

import inspect

from .ksstate import KSSTATE, StreamState
from .properties import (AudioPosition, AudioProperty, AutomationTable, ConnectionProperty,
                         EventList, PropertyItem, PropertyRequest, PropertyVerb,
                         dispatch_property)
from .status import NTSTATUS, nt_success

__all__ = ["Port", "ServiceGroupPort", "Pin", "call_miniport"]


async def call_miniport(method, *args):
    """Call a miniport method that may be plain or a coroutine; returns its answer."""
    answer = method(*args)
    if inspect.isawaitable(answer):
        answer = await answer
    return answer


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


class ServiceGroupPort(Port):
    """A port whose miniport's Init answers ``(status, service group or None)``
    (IMiniportWavePci::Init, IMiniportMidi::Init, IMiniportDMus::Init): the port joins the
    group (and any group registered later with RegisterServiceGroup) as a service sink, and
    its service routine calls the miniport's Service (IMiniportWavePci::Service,
    IMiniportMidi::Service)."""

    def __init__(self):
        super().__init__()
        self.service_group = None       # the group the miniport's Init handed back
        self.service_count = 0          # times the port's service routine ran

    async def _init_miniport(self, miniport, resources) -> int:
        status, group = await call_miniport(miniport.init, self, resources)
        if nt_success(status) and group is not None:
            self.service_group = group
            status = self.register_service_group(group)
        return status

    def register_service_group(self, group) -> int:
        """RegisterServiceGroup: the port becomes a member of ``group``, so the miniport's
        requests for service there reach the port's service routine. Joining twice keeps
        one membership."""
        return group.add_member(self)

    def notify(self, service_group=None) -> None:
        """Notify: the miniport has work for the port. With a group, that group's DPC is
        requested (coalescing with other requests); without one the port services itself as
        soon as the scheduler runs it. A plain call, safe from an ISR."""
        if service_group is not None:
            service_group.request_service()
        else:
            self.resources.scheduler.spawn(self.service())

    async def service(self) -> None:
        """The port's service routine: the miniport's Service."""
        self.service_count += 1
        await call_miniport(self.miniport.service)


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

    async def resync_after_restart(self):
        """Called while paused, after the miniport programmed its stream's engine again
        (the device lost its context in D3, or a bus error stopped it): a pin that keeps
        positions of its own brings them in line."""

    def queue_reads(self):
        """Capture pins that store into client packets queue them here ahead of RUN; pins
        with their own cyclic buffer need nothing."""

    # ---- properties of the pin instance ----------------------------------------------------

    async def property(self, prop, verb=PropertyVerb.GET, value=None):
        """A property request on this pin (what :meth:`Filter.pin_property` routes here):
        ``(status, value)`` from the handler in the pin's automation table."""
        table = AutomationTable(tuple(self._property_items()))
        return await dispatch_property(table, PropertyRequest(prop, PropertyVerb(verb),
                                                              pin=self.pin_id, value=value))

    def _property_items(self):
        """The pin's PCPROPERTY_ITEMs: KSPROPERTY_CONNECTION_DATAFORMAT, and
        KSPROPERTY_AUDIO_POSITION on a pin that keeps positions; subclasses add theirs."""
        items = [PropertyItem(ConnectionProperty.DATAFORMAT,
                              PropertyVerb.GET | PropertyVerb.SET, self._dataformat_property)]
        if callable(getattr(self, "get_position", None)):
            items.append(PropertyItem(AudioProperty.POSITION, PropertyVerb.GET,
                                      self._position_property))
        return items

    async def _dataformat_property(self, request):
        if request.verb == PropertyVerb.GET:
            return NTSTATUS.SUCCESS, self.format
        return await self.set_data_format(request.value), self.format

    async def _position_property(self, request):
        play, write = await self.get_position()
        return NTSTATUS.SUCCESS, AudioPosition(play, write)

    async def set_data_format(self, fmt) -> int:
        """KSPROPERTY_CONNECTION_DATAFORMAT (SET): change the format of a stopped pin through
        the miniport stream's SetFormat (the only time a port calls it: the initial format
        went to NewStream, IMiniportWaveRTStream::SetFormat / IMiniportWaveCyclicStream::
        SetFormat / IMiniportWavePciStream::SetFormat). INVALID_DEVICE_STATE unless the pin
        is in STOP, NO_MATCH for a format outside the pin's data ranges, else the miniport's
        status; on success the pin streams ``fmt`` from then on."""
        if self._closed or self.state != KSSTATE.STOP:
            return NTSTATUS.INVALID_DEVICE_STATE
        if not self.filter.format_matches(self.pin_id, fmt):
            return NTSTATUS.NO_MATCH
        set_format = getattr(self.stream, "set_format", None)
        if set_format is None:
            return NTSTATUS.INVALID_DEVICE_REQUEST      # a stream with one fixed format
        status = await call_miniport(set_format, fmt)
        if not nt_success(status):
            return status
        previous, self.format = self.format, fmt
        status = await self._format_changed()
        if not nt_success(status):
            self.format = previous
        return status

    async def _format_changed(self) -> int:
        """After the miniport took a new format: what the port derives from it."""
        return NTSTATUS.SUCCESS

    async def set_state(self, target) -> int:
        """Go to ``target`` one KSSTATE step at a time; returns the first failing status."""
        if self._closed:
            return NTSTATUS.INVALID_DEVICE_STATE
        before = self.state
        status = await self._state.walk(target, self._step)
        tracer = self._scheduler.tracer
        if tracer.enabled:      # a client may ask for a state that does not exist
            asked = KSSTATE(target).name if target in KSSTATE.__members__.values() else target
            tracer.event("port", "KSSTATE", f"pin {self.pin_id}: {before.name} -> "
                         f"{self.state.name} (asked {asked}, status {status:#x})")
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
