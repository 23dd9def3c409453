"""Filters, pins and the adapter's subdevice registry (PcRegisterSubdevice and friends).

A port driver bound to its miniport is one *filter*: the miniport describes it with a
:class:`FilterDescriptor` (pin factories with their data flow, communication type, data ranges
and instance limits); the :class:`Filter` enforces the limits and the formats and asks the port
to make the pin. The :class:`SubdeviceRegistry` is what an adapter's StartDevice fills: named
filters and the physical connections between their bridge pins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum

from .formats import (AudioDataRange, MusicDataRange, MusicFormat, WaveFormat,
                      port_intersection)
from .properties import (AutomationTable, EventEntry, EventRequest, EventVerb, PinInstances,
                         PinProperty, PropertyRequest, PropertyVerb, dispatch_property)
from .status import NTSTATUS, nt_success

__all__ = ["DataFlow", "Communication", "PinDescriptor", "FilterDescriptor", "Filter",
           "SubdeviceRegistry", "PhysicalConnection", "NodeType", "NodeDescriptor",
           "NodeConnection", "FILTER_PIN"]

# The format class each kind of data range describes: a pin is opened with a format of one of
# these classes, and only a range of the matching kind can contain it.
_RANGE_FORMATS = {AudioDataRange: WaveFormat, MusicDataRange: MusicFormat}
_FORMAT_TYPES = tuple(set(_RANGE_FORMATS.values()))


def _range_contains(data_range, fmt) -> bool:
    return isinstance(fmt, _RANGE_FORMATS.get(type(data_range), ())) and data_range.contains(fmt)


class DataFlow(IntEnum):
    """KSPIN_DATAFLOW: IN = data flows into the filter (a render sink pin)."""
    IN = 1
    OUT = 2


class Communication(IntEnum):
    """KSPIN_COMMUNICATION: SINK pins are instantiated by clients; BRIDGE pins only describe
    a physical connection and can never be opened."""
    NONE = 0
    SINK = 1
    SOURCE = 2
    BOTH = 3
    BRIDGE = 4


class NodeType(Enum):
    """KSNODETYPE_*: what a topology node does."""
    DAC = "dac"
    ADC = "adc"
    VOLUME = "volume"
    MUTE = "mute"
    SUM = "sum"
    MUX = "mux"
    PEAKMETER = "peakmeter"


@dataclass(frozen=True)
class NodeDescriptor:
    """PCNODE_DESCRIPTOR: a node's type, a name for people, and its automation table."""
    type: NodeType
    name: str
    automation: AutomationTable = AutomationTable()


#: the node number meaning "a pin of the filter itself" in a connection (KSFILTER_NODE)
FILTER_PIN = None


@dataclass(frozen=True)
class NodeConnection:
    """PCCONNECTION_DESCRIPTOR: data flows from ``from_node``'s output pin ``from_pin`` to
    ``to_node``'s input pin ``to_pin``; a node of :data:`FILTER_PIN` means the filter's pin."""
    from_node: int | None
    from_pin: int
    to_node: int | None
    to_pin: int


@dataclass(frozen=True)
class PinDescriptor:
    """One pin factory: ``max_instances`` pins of it may be open at once. ``category`` says
    what a bridge pin is physically (e.g. ``"headphones"``); ``automation`` holds its
    properties and events (jack description)."""
    name: str
    data_flow: DataFlow
    communication: Communication
    data_ranges: tuple = ()
    max_instances: int = 1
    category: str = ""
    automation: AutomationTable = AutomationTable()

    @property
    def capture(self) -> bool:
        """True for a pin clients read from (the filter's data flows out of it)."""
        return self.data_flow == DataFlow.OUT


@dataclass(frozen=True)
class FilterDescriptor:
    """PCFILTER_DESCRIPTOR: pins, plus topology nodes and connections (Topology port)."""
    pins: tuple
    nodes: tuple = ()
    connections: tuple = ()


class Filter:
    """A port + miniport pair as clients see it: pin factories with instance limits.

    ``port`` implements ``descriptor`` (the miniport's FilterDescriptor), ``miniport`` and
    ``async new_pin(filter, pin_id, fmt, **options) -> (status, pin)``; a pin calls
    :meth:`pin_closed` with itself when it goes away.
    """

    def __init__(self, name, port, registry=None):
        self.name = name
        self.port = port
        #: the SubdeviceRegistry the filter is published in (for KSPROPERTY_PIN_
        #: PHYSICALCONNECTION)
        self.registry = registry
        self.instances = [0] * len(port.descriptor.pins)
        #: the pins open on this filter, in the order they were opened
        self.open_pins = []

    @property
    def descriptor(self) -> FilterDescriptor:
        return self.port.descriptor

    @property
    def pins(self) -> tuple:
        return self.descriptor.pins

    def pin_descriptor(self, pin_id):
        if not isinstance(pin_id, int) or not 0 <= pin_id < len(self.pins):
            return None
        return self.pins[pin_id]

    def data_intersection(self, pin_id, client, output_size):
        """KSPROPERTY_PIN_DATAINTERSECTION on ``pin_id``: the miniport's handler first, the
        port's default over every data range where it answers NOT_IMPLEMENTED."""
        pin = self.pin_descriptor(pin_id)
        if pin is None:
            return (NTSTATUS.INVALID_PARAMETER, None, 0)
        handler = getattr(self.port.miniport, "data_range_intersection", None)
        bound = None if handler is None else (
            lambda c, r, size: handler(pin_id, c, r, size))
        return port_intersection(bound, pin.data_ranges, client, output_size)

    def format_matches(self, pin_id, fmt) -> bool:
        """Whether one of pin ``pin_id``'s data ranges contains ``fmt``."""
        desc = self.pin_descriptor(pin_id)
        return desc is not None and any(_range_contains(r, fmt) for r in desc.data_ranges)

    async def create_pin(self, pin_id, fmt, **options):
        """Open an instance of pin ``pin_id`` with ``fmt``; returns ``(status, pin)``.

        ``fmt`` is a WaveFormat (audio pins) or a MusicFormat (MIDI and DMus pins).
        INVALID_PARAMETER for an unknown pin id or a non-format; INVALID_DEVICE_REQUEST for a
        bridge pin; NO_MATCH if no data range contains the format; INSUFFICIENT_RESOURCES
        when ``max_instances`` pins are already open; else whatever the port answers.
        """
        desc = self.pin_descriptor(pin_id)
        if desc is None or not isinstance(fmt, _FORMAT_TYPES):
            return NTSTATUS.INVALID_PARAMETER, None
        if desc.communication == Communication.BRIDGE:
            return NTSTATUS.INVALID_DEVICE_REQUEST, None
        if not self.format_matches(pin_id, fmt):
            return NTSTATUS.NO_MATCH, None
        if self.instances[pin_id] >= desc.max_instances:
            return NTSTATUS.INSUFFICIENT_RESOURCES, None
        self.instances[pin_id] += 1
        try:
            status, pin = await self.port.new_pin(self, pin_id, fmt, **options)
        except BaseException:
            self.instances[pin_id] -= 1
            raise
        if status != NTSTATUS.SUCCESS:
            self.instances[pin_id] -= 1
            return status, None
        self.open_pins.append(pin)
        return status, pin

    def pin_closed(self, pin):
        """Called by a pin as it closes: its instance is free again."""
        self.instances[pin.pin_id] -= 1
        self.open_pins.remove(pin)

    def _automation(self, node, pin):
        """The automation table of the target, or None if it does not exist."""
        if (node is None) == (pin is None):
            return None
        if node is not None:
            nodes = self.descriptor.nodes
            ok = isinstance(node, int) and 0 <= node < len(nodes)
            return nodes[node].automation if ok else None
        desc = self.pin_descriptor(pin)
        return None if desc is None else desc.automation

    async def property(self, prop, verb=PropertyVerb.GET, *, node=None, pin=None, channel=0,
                       value=None):
        """A property request on one node or pin (exactly one of them); ``(status, value)``.

        INVALID_PARAMETER for a missing or unknown target, NOT_FOUND for a property the target
        does not have; else the miniport's handler answers."""
        if isinstance(prop, PinProperty) and node is None:
            return self._pin_factory_property(prop, PropertyVerb(verb), pin, value)
        table = self._automation(node, pin)
        if table is None:
            return NTSTATUS.INVALID_PARAMETER, None
        request = PropertyRequest(prop, PropertyVerb(verb), node, pin, channel, value)
        return await dispatch_property(table, request)

    def _pin_factory_property(self, prop, verb, pin, value):
        """KSPROPSETID_Pin on pin factory ``pin``, answered by the port (GET only):
        CINSTANCES, DATARANGES, DATAINTERSECTION (``value`` = (client range or format,
        output size); the answer's status is the request's), PHYSICALCONNECTION (NOT_FOUND
        for a pin wired to nothing)."""
        desc = self.pin_descriptor(pin)
        if desc is None:
            return NTSTATUS.INVALID_PARAMETER, None
        if verb != PropertyVerb.GET:
            return NTSTATUS.INVALID_DEVICE_REQUEST, None
        if prop == PinProperty.CINSTANCES:
            return NTSTATUS.SUCCESS, PinInstances(desc.max_instances, self.instances[pin])
        if prop == PinProperty.DATARANGES:
            return NTSTATUS.SUCCESS, tuple(desc.data_ranges)
        if prop == PinProperty.DATAINTERSECTION:
            client, output_size = value
            answer = self.data_intersection(pin, client, output_size)
            return answer[0], answer
        connections = [] if self.registry is None else [
            c for c in self.registry.connections_of(self.name)
            if (c.from_filter, c.from_pin) == (self.name, pin)
            or (c.to_filter, c.to_pin) == (self.name, pin)]
        if not connections:
            return NTSTATUS.NOT_FOUND, None
        return NTSTATUS.SUCCESS, connections[0]

    async def pin_property(self, instance, prop, verb=PropertyVerb.GET, value=None):
        """A property request on an open pin ``instance`` (KSPROPSETID_Connection,
        KSPROPSETID_Audio POSITION/LATENCY, KSPROPSETID_RtAudio): ``(status, value)``;
        INVALID_PARAMETER for a pin not open on this filter, NOT_FOUND for a property the
        pin does not have."""
        if not any(p is instance for p in self.open_pins):
            return NTSTATUS.INVALID_PARAMETER, None
        return await instance.property(prop, PropertyVerb(verb), value)

    def enable_event(self, kind, *, node=None, pin=None):
        """KSPROPERTY_TYPE_ENABLEEVENT: ``(status, EventEntry)``; the entry's HAL event is set
        each time the miniport raises ``kind`` on the target. NOT_FOUND if the target does not
        raise it."""
        table = self._automation(node, pin)
        if table is None:
            return NTSTATUS.INVALID_PARAMETER, None
        item = table.event_item(kind)
        if item is None:
            return NTSTATUS.NOT_FOUND, None
        # the miniport's event handler decides (PCEVENT_ITEM: PCEVENT_VERB_ADD)
        status = self._event_handler(item, EventVerb.ADD, node, pin)
        if not nt_success(status):
            return status, None
        entry = EventEntry(kind, node, pin, self.port.resources.scheduler.new_event())
        self.port.events.add(entry)
        return NTSTATUS.SUCCESS, entry

    def disable_event(self, entry) -> int:
        status = self.port.events.remove(entry)
        if nt_success(status):
            table = self._automation(entry.node, entry.pin)
            item = table.event_item(entry.kind) if table is not None else None
            if item is not None:
                self._event_handler(item, EventVerb.REMOVE, entry.node, entry.pin)
        return status

    @staticmethod
    def _event_handler(item, verb, node, pin) -> int:
        if item.handler is None:
            return NTSTATUS.SUCCESS
        return item.handler(EventRequest(item.event, verb, node, pin))


@dataclass(frozen=True)
class PhysicalConnection:
    """A wire between two filters' bridge pins (PcRegisterPhysicalConnection)."""
    from_filter: str
    from_pin: int
    to_filter: str
    to_pin: int


@dataclass
class SubdeviceRegistry:
    """The adapter's filters by name and the physical connections between them."""
    filters: dict = field(default_factory=dict)
    connections: list = field(default_factory=list)

    def register_subdevice(self, name, port) -> int:
        """Publish an initialised port as filter ``name``; OBJECT_NAME_COLLISION if taken,
        INVALID_DEVICE_STATE if the port was not initialised with its miniport."""
        if name in self.filters:
            return NTSTATUS.OBJECT_NAME_COLLISION
        if getattr(port, "descriptor", None) is None:
            return NTSTATUS.INVALID_DEVICE_STATE
        self.filters[name] = Filter(name, port, self)
        return NTSTATUS.SUCCESS

    def register_physical_connection(self, from_filter, from_pin, to_filter, to_pin) -> int:
        """Record that ``from_filter``'s pin feeds ``to_filter``'s pin. NOT_FOUND for an
        unknown filter, INVALID_PARAMETER for a pin id the filter does not have."""
        for name, pin in ((from_filter, from_pin), (to_filter, to_pin)):
            flt = self.filters.get(name)
            if flt is None:
                return NTSTATUS.NOT_FOUND
            if flt.pin_descriptor(pin) is None:
                return NTSTATUS.INVALID_PARAMETER
        conn = PhysicalConnection(from_filter, from_pin, to_filter, to_pin)
        if conn not in self.connections:
            self.connections.append(conn)
        return NTSTATUS.SUCCESS

    def filter(self, name):
        return self.filters.get(name)

    def connections_of(self, name):
        return [c for c in self.connections if name in (c.from_filter, c.to_filter)]
