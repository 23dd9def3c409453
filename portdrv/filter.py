"""Filters, pins and the adapter's subdevice registry (PcRegisterSubdevice and friends).

A port driver bound to its miniport is one *filter*: the miniport describes it with a
:class:`FilterDescriptor` (pin factories with their data flow, communication type, data ranges
and instance limits); the :class:`Filter` enforces the limits and the formats and asks the port
to make the pin. The :class:`SubdeviceRegistry` is what an adapter's StartDevice fills: named
filters and the physical connections between their bridge pins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from .formats import (AudioDataRange, MusicDataRange, MusicFormat, WaveFormat,
                      port_intersection)
from .status import NTSTATUS

__all__ = ["DataFlow", "Communication", "PinDescriptor", "FilterDescriptor", "Filter",
           "SubdeviceRegistry", "PhysicalConnection"]

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


@dataclass(frozen=True)
class PinDescriptor:
    """One pin factory: ``max_instances`` pins of it may be open at once."""
    name: str
    data_flow: DataFlow
    communication: Communication
    data_ranges: tuple = ()
    max_instances: int = 1

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
    :meth:`pin_closed` when it goes away.
    """

    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.instances = [0] * len(port.descriptor.pins)

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
        if not any(_range_contains(r, fmt) for r in desc.data_ranges):
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
        return status, pin

    def pin_closed(self, pin_id):
        self.instances[pin_id] -= 1


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
        self.filters[name] = Filter(name, port)
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
