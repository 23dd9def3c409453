"""Property and event plumbing shared by every filter (PCAUTOMATION_TABLE and IPortEvents).

A miniport describes what a node or a pin can do with an :class:`AutomationTable`: property
items (a property, the verbs it supports and the miniport's async handler) and the events it
can raise. A client's property request reaches the handler as a :class:`PropertyRequest`
(PCPROPERTY_REQUEST: target node or pin, verb, channel, value) and the handler answers
``(status, value)``: statuses are values here as everywhere at the port/miniport boundary.

Events: a client enables an event on a node or a pin and gets an :class:`EventEntry` holding a
HAL event (a KEVENT) to wait on; the miniport raises it through its port's
``generate_event_list`` (IPortEvents::GenerateEventList), which signals every matching entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntFlag
from typing import Any

from .status import NTSTATUS

__all__ = ["PropertyVerb", "AudioProperty", "PinProperty", "ConnectionProperty",
           "RtAudioProperty", "AudioPosition", "PinInstances", "JackProperty", "KsEvent", "PropertyRequest",
           "PropertyItem", "EventItem", "EventVerb", "EventRequest", "AutomationTable", "EventEntry", "EventList",
           "SteppingRange", "JackDescription", "ALL_CHANNELS", "VOLUME_UNITS_PER_DB"]

#: KSPROPERTY_AUDIO_VOLUMELEVEL is in 1/65536 dB (a 16.16 fixed-point dB value).
VOLUME_UNITS_PER_DB = 1 << 16
#: the channel value a request uses to mean "every channel" (KS's master channel, -1)
ALL_CHANNELS = -1


class PropertyVerb(IntFlag):
    """KSPROPERTY_TYPE_*: what a request does."""
    GET = 0x1
    SET = 0x2
    BASIC_SUPPORT = 0x200


class AudioProperty(Enum):
    """KSPROPSETID_Audio properties: on topology nodes, and (POSITION, LATENCY) on wave pins."""
    VOLUMELEVEL = "volumelevel"     # int per channel, 1/65536 dB
    MUTE = "mute"                   # bool per channel
    MUX_SOURCE = "mux_source"       # the mux node's input pin number (its connection index)
    PEAKMETER = "peakmeter"         # int per channel, 0 .. 0x7FFFFFFF linear, reset by reading
    POSITION = "position"           # a pin's KSAUDIO_POSITION (play, write), bytes
    LATENCY = "latency"             # a pin's latency in 100-ns units


class PinProperty(Enum):
    """KSPROPSETID_Pin properties of a pin factory, answered by the port's filter."""
    CINSTANCES = "cinstances"               # PinInstances
    DATARANGES = "dataranges"               # the pin's data ranges
    DATAINTERSECTION = "dataintersection"   # value (client range or format, size) -> answer
    PHYSICALCONNECTION = "physicalconnection"   # the PhysicalConnection of a bridge pin


class ConnectionProperty(Enum):
    """KSPROPSETID_Connection properties of a pin instance."""
    DATAFORMAT = "dataformat"       # GET the format; SET changes it on a stopped pin


class RtAudioProperty(Enum):
    """KSPROPSETID_RtAudio properties of a WaveRT pin instance."""
    BUFFER = "buffer"                                   # value: requested size
    BUFFER_WITH_NOTIFICATION = "buffer_with_notification"   # value: (size, count)
    POSITIONREGISTER = "positionregister"
    CLOCKREGISTER = "clockregister"
    HWLATENCY = "hwlatency"
    REGISTER_NOTIFICATION_EVENT = "register_notification_event"        # value: an event
    UNREGISTER_NOTIFICATION_EVENT = "unregister_notification_event"    # value: an event
    PACKETCOUNT = "packetcount"
    PRESENTATION_POSITION = "presentation_position"


@dataclass(frozen=True)
class AudioPosition:
    """KSAUDIO_POSITION. A WaveRT miniport stream reports offsets in its cyclic buffer (for
    render the play offset is what has left the device and the write offset what its DMA has
    fetched; for capture the write offset is what the DMA has stored); a pin's
    KSPROPERTY_AUDIO_POSITION gives byte positions since the stream started."""
    play_offset: int
    write_offset: int


@dataclass(frozen=True)
class PinInstances:
    """KSPIN_CINSTANCES: how many instances a pin factory allows and how many are open."""
    possible: int
    current: int


class JackProperty(Enum):
    """KSPROPSETID_Jack properties on bridge pins."""
    DESCRIPTION = "description"     # a JackDescription (IsConnected is the presence)


class KsEvent(Enum):
    """The events clients can enable."""
    CONTROL_CHANGE = "control_change"       # KSEVENT_CONTROL_CHANGE, on a node
    JACK_INFO_CHANGE = "jack_info_change"   # KSEVENT_PINCAPS_JACKINFOCHANGE, on a pin


@dataclass(frozen=True)
class SteppingRange:
    """KSPROPERTY_STEPPING_LONG: what BASIC_SUPPORT answers for VOLUMELEVEL and PEAKMETER."""
    minimum: int
    maximum: int
    step: int


@dataclass(frozen=True)
class JackDescription:
    """KSJACK_DESCRIPTION (the fields a client shows): channel mask, colour as 0xRRGGBB,
    connector type, location, and whether something is plugged in."""
    channel_mapping: int
    color: int
    connection_type: str
    location: str
    is_connected: bool


@dataclass(frozen=True)
class PropertyRequest:
    """PCPROPERTY_REQUEST: ``node`` or ``pin`` is the target (the other is None)."""
    property: Any
    verb: PropertyVerb
    node: int | None = None
    pin: int | None = None
    channel: int = 0
    value: Any = None


@dataclass(frozen=True)
class PropertyItem:
    """PCPROPERTY_ITEM: ``handler`` is ``async handler(request) -> (status, value)``."""
    property: Any
    verbs: PropertyVerb
    handler: Any


class EventVerb(Enum):
    """PCEVENT_VERB_*: what an event request asks the miniport's event handler."""
    ADD = "add"             # a client enables the event
    REMOVE = "remove"       # a client disables it


@dataclass(frozen=True)
class EventRequest:
    """PCEVENT_REQUEST: the event, its target and the verb."""
    event: KsEvent
    verb: EventVerb
    node: int | None = None
    pin: int | None = None


@dataclass(frozen=True)
class EventItem:
    """PCEVENT_ITEM: an event the node or pin can raise and the miniport's handler
    (``handler(EventRequest) -> status``; None: the port accepts every request). The port
    consults the handler on every enable and disable: a failed ADD is the client's answer
    and nothing is enabled (PCEVENT_ITEM, IPortEvents::AddEventToEventList)."""
    event: KsEvent
    handler: Any = None


@dataclass(frozen=True)
class AutomationTable:
    """PCAUTOMATION_TABLE: the properties and events of one node, pin or filter."""
    properties: tuple = ()
    events: tuple = ()

    def item(self, prop):
        return next((i for i in self.properties if i.property == prop), None)

    def has_event(self, event):
        return self.event_item(event) is not None

    def event_item(self, event):
        return next((e for e in self.events if e.event == event), None)


async def dispatch_property(table, request):
    """Route ``request`` to the handler of ``table``; ``(status, value)``.

    NOT_FOUND if the target has no such property, INVALID_DEVICE_REQUEST for a verb the item
    does not support; BASIC_SUPPORT the handler does not implement answers the supported verbs.
    """
    item = table.item(request.property)
    if item is None:
        return NTSTATUS.NOT_FOUND, None
    if request.verb == PropertyVerb.BASIC_SUPPORT and not item.verbs & PropertyVerb.BASIC_SUPPORT:
        return NTSTATUS.SUCCESS, item.verbs
    if not item.verbs & request.verb:
        return NTSTATUS.INVALID_DEVICE_REQUEST, None
    return await item.handler(request)


@dataclass(eq=False)
class EventEntry:
    """An enabled event: ``event`` (a HAL event) is set each time the miniport raises it;
    ``count`` counts the raises (the client clears ``event`` when it has looked)."""
    kind: KsEvent
    node: int | None
    pin: int | None
    event: Any
    count: int = 0


@dataclass
class EventList:
    """The enabled events of one port (what IPortEvents::GenerateEventList walks)."""
    entries: list = field(default_factory=list)

    def add(self, entry):
        self.entries.append(entry)

    def remove(self, entry) -> int:
        if entry not in self.entries:
            return NTSTATUS.NOT_FOUND
        self.entries.remove(entry)
        return NTSTATUS.SUCCESS

    def generate(self, kind, *, node=None, pin=None) -> int:
        """Signal every entry of ``kind`` on ``node``/``pin`` (None matches any); returns how
        many were signalled."""
        hits = 0
        for e in self.entries:
            if e.kind != kind or (node is not None and e.node != node) or \
                    (pin is not None and e.pin != pin):
                continue
            e.count += 1
            e.event.set()
            hits += 1
        return hits
