"""The client API an application uses: open a pin with a format, stream, set state, position.

Statuses cross the port/miniport boundary as values; here, at the application boundary, a
failure becomes a :class:`portdrv.status.StatusError` whose message names the operation.
"""

from __future__ import annotations

from .formats import WaveFormat
from .ksstate import KSSTATE
from .properties import (ALL_CHANNELS, AudioProperty, ConnectionProperty, JackProperty,
                         PinInstances, PinProperty, PropertyVerb, RtAudioProperty)
from .status import NTSTATUS, StatusError, check_status, nt_success
from .topology import path_to_pin

__all__ = ["AudioClient", "ClientStream", "MixerClient"]


class AudioClient:
    """Opens pins on the filters of a :class:`portdrv.filter.SubdeviceRegistry`."""

    def __init__(self, registry):
        self.registry = registry

    def _filter(self, filter_name):
        flt = self.registry.filter(filter_name)
        if flt is None:
            raise StatusError(NTSTATUS.NOT_FOUND, f"no filter named {filter_name!r}")
        return flt

    async def open(self, filter_name, pin_id, fmt, *, buffer_bytes=None, notifications=2,
                   packet_mode=False, **options) -> "ClientStream":
        """Open an instance of pin ``pin_id`` of filter ``filter_name`` with ``fmt``.

        A WaveRT pin then gets its cyclic buffer the way an audio engine asks for it:
        KSPROPERTY_RTAUDIO_BUFFER_WITH_NOTIFICATION (``notifications`` 1 or 2 per lap) or
        KSPROPERTY_RTAUDIO_BUFFER (0) of ``buffer_bytes`` (default 20 ms); with
        ``packet_mode`` it streams in packets, one per notification segment (WaveRT packet
        mode; NOT_SUPPORTED elsewhere). Other ``options`` go to the port."""
        flt = self._filter(filter_name)
        status, pin = await flt.create_pin(pin_id, fmt, **options)
        check_status(status, f"opening pin {pin_id} of filter {filter_name!r} with {fmt}")
        if isinstance(fmt, WaveFormat):
            size = fmt.avg_bytes_per_sec // 50 if buffer_bytes is None else buffer_bytes
            prop, value = ((RtAudioProperty.BUFFER_WITH_NOTIFICATION, (size, notifications))
                           if notifications else (RtAudioProperty.BUFFER, size))
            status, _buffer = await flt.pin_property(pin, prop, value=value)
            if status == NTSTATUS.NOT_FOUND and buffer_bytes is None:
                status = NTSTATUS.SUCCESS           # not a WaveRT pin: nothing to allocate
            if not nt_success(status):
                await pin.close()
                check_status(status, f"allocating the buffer of pin {pin_id} of filter "
                                     f"{filter_name!r}")
        if packet_mode:
            set_mode = getattr(pin, "set_packet_mode", None)
            status = set_mode(True) if set_mode else NTSTATUS.NOT_SUPPORTED
            if not nt_success(status):
                await pin.close()
                check_status(status, f"streaming pin {pin_id} of {filter_name!r} in packets")
        return self._client_stream(pin)

    async def _pin_factory(self, filter_name, pin_id, prop, value=None):
        status, answer = await self._filter(filter_name).property(prop, pin=pin_id,
                                                                  value=value)
        check_status(status, f"reading {prop.value} of pin {pin_id} of {filter_name!r}")
        return answer

    async def pin_instances(self, filter_name, pin_id) -> PinInstances:
        """KSPROPERTY_PIN_CINSTANCES: possible and current instances of a pin factory."""
        return await self._pin_factory(filter_name, pin_id, PinProperty.CINSTANCES)

    async def data_ranges(self, filter_name, pin_id) -> tuple:
        """KSPROPERTY_PIN_DATARANGES."""
        return await self._pin_factory(filter_name, pin_id, PinProperty.DATARANGES)

    async def data_intersection(self, filter_name, pin_id, client, output_size=200):
        """KSPROPERTY_PIN_DATAINTERSECTION: the format the pin recommends for ``client`` (a
        data range or a format); StatusError (NO_MATCH) if there is none."""
        answer = await self._pin_factory(filter_name, pin_id, PinProperty.DATAINTERSECTION,
                                         (client, output_size))
        return answer.format

    async def physical_connection(self, filter_name, pin_id):
        """KSPROPERTY_PIN_PHYSICALCONNECTION of a bridge pin: the PhysicalConnection."""
        return await self._pin_factory(filter_name, pin_id, PinProperty.PHYSICALCONNECTION)

    def _client_stream(self, pin):
        """What :meth:`open` hands the application for ``pin`` (MIDI and DMus clients hand
        out their own stream classes)."""
        return ClientStream(pin)


class ClientStream:
    """An open pin as the application sees it."""

    def __init__(self, pin):
        self.pin = pin

    @property
    def format(self):
        return self.pin.format

    @property
    def state(self) -> KSSTATE:
        return self.pin.state

    async def set_state(self, state):
        state = KSSTATE(state)
        check_status(await self.pin.set_state(state), f"setting the stream to {state.name}")

    def write(self, data):
        """Queue ``data`` (whole frames) as one packet; returns the packet (its ``wait()``
        gives the final status once the port has consumed it)."""
        status, packet = self.pin.write(data)
        check_status(status, f"writing {len(data)} bytes")
        return packet

    async def cancel(self, packet):
        """Cancel a packet :meth:`write` queued (IoCancelIrp); raises StatusError if the port
        cannot (NOT_FOUND: it is no longer pending)."""
        check_status(await self.pin.cancel(packet), "cancelling a packet")

    def end_of_stream(self):
        self.pin.end_of_stream()

    async def wait_drained(self):
        await self.pin.wait_drained()

    async def read(self, n):
        return await self.pin.read(n)

    def queue_reads(self):
        """Queue capture buffers before RUN (a WavePci pin stores straight into them), so
        nothing the ADC delivers from the start is lost."""
        self.pin.queue_reads()

    async def _property(self, prop, value=None, verb=PropertyVerb.GET, what=None):
        status, answer = await self.pin.filter.pin_property(self.pin, prop, verb, value)
        check_status(status, what or f"reading {prop.value} of the stream")
        return answer

    async def get_position(self):
        """``(play, write)`` byte positions since the stream started
        (KSPROPERTY_AUDIO_POSITION)."""
        position = await self._property(AudioProperty.POSITION)
        return position.play_offset, position.write_offset

    async def set_format(self, fmt):
        """KSPROPERTY_CONNECTION_DATAFORMAT (SET) on the stopped stream."""
        await self._property(ConnectionProperty.DATAFORMAT, fmt, PropertyVerb.SET,
                             f"changing the format to {fmt}")

    async def latency(self) -> int:
        """KSPROPERTY_AUDIO_LATENCY in 100-ns units (WaveRT)."""
        return await self._property(AudioProperty.LATENCY)

    async def hw_latency(self):
        """KSPROPERTY_RTAUDIO_HWLATENCY: a HwLatency."""
        return await self._property(RtAudioProperty.HWLATENCY)

    async def position_register(self):
        """KSPROPERTY_RTAUDIO_POSITIONREGISTER: a RegisterMapping to read directly."""
        return await self._property(RtAudioProperty.POSITIONREGISTER)

    async def clock_register(self):
        """KSPROPERTY_RTAUDIO_CLOCKREGISTER: a RegisterMapping of the device clock."""
        return await self._property(RtAudioProperty.CLOCKREGISTER)

    async def register_notification_event(self, event):
        """KSPROPERTY_RTAUDIO_REGISTER_NOTIFICATION_EVENT: ``event`` is set at each of the
        buffer's notification points."""
        await self._property(RtAudioProperty.REGISTER_NOTIFICATION_EVENT, event,
                             what="registering a notification event")

    async def unregister_notification_event(self, event):
        await self._property(RtAudioProperty.UNREGISTER_NOTIFICATION_EVENT, event,
                             what="unregistering a notification event")

    async def close(self):
        await self.pin.close()

    def __repr__(self):
        return f"ClientStream(pin {self.pin.pin_id}, {self.state.name})"


class MixerClient:
    """A client of a topology filter (what a mixer application does): read and set node
    controls, read jack descriptions, enable events, take a snapshot of the whole mixer."""

    def __init__(self, filter):
        self.filter = filter

    @property
    def descriptor(self):
        return self.filter.descriptor

    async def get(self, prop, *, node=None, pin=None, channel=0):
        status, value = await self.filter.property(prop, PropertyVerb.GET, node=node, pin=pin,
                                                   channel=channel)
        check_status(status, f"reading {prop.value} of {self._target(node, pin)}")
        return value

    async def set(self, prop, value, *, node, channel=ALL_CHANNELS):
        """Set a node control; returns the value the device took (e.g. the volume step)."""
        status, value = await self.filter.property(prop, PropertyVerb.SET, node=node,
                                                   channel=channel, value=value)
        check_status(status, f"setting {prop.value} of {self._target(node, None)}")
        return value

    async def basic_support(self, prop, *, node):
        status, value = await self.filter.property(prop, PropertyVerb.BASIC_SUPPORT,
                                                   node=node)
        check_status(status, f"asking the ranges of {prop.value} of node {node}")
        return value

    def enable_event(self, kind, *, node=None, pin=None):
        """An :class:`portdrv.properties.EventEntry` whose HAL event the port sets."""
        status, entry = self.filter.enable_event(kind, node=node, pin=pin)
        check_status(status, f"enabling {kind.value} on {self._target(node, pin)}")
        return entry

    def pin_named(self, category):
        """The id of the first pin of ``category`` (e.g. ``"headphones"``)."""
        for i, pin in enumerate(self.descriptor.pins):
            if pin.category == category:
                return i
        raise StatusError(NTSTATUS.NOT_FOUND, f"the mixer has no {category} pin")

    def node_before_pin(self, node_type, pin):
        """The node of ``node_type`` nearest to where data leaves by ``pin``."""
        for node in path_to_pin(self.descriptor, pin):
            if self.descriptor.nodes[node].type == node_type:
                return node
        raise StatusError(NTSTATUS.NOT_FOUND, f"no {node_type.value} node feeds pin {pin}")

    async def snapshot(self):
        """Every node with its current values per channel, the pins (jack descriptions of
        bridge pins that have one) and the connections, as plain data."""
        nodes = []
        for i, node in enumerate(self.descriptor.nodes):
            values = {}
            for item in node.automation.properties:
                if not item.verbs & PropertyVerb.GET:
                    continue
                per_channel = []
                for channel in range(2):
                    status, value = await self.filter.property(
                        item.property, PropertyVerb.GET, node=i, channel=channel)
                    if not nt_success(status):
                        break
                    per_channel.append(value)
                values[item.property.value] = per_channel
            entry = {"id": i, "type": node.type.value, "name": node.name, "values": values}
            for item in node.automation.properties:
                if item.verbs & PropertyVerb.BASIC_SUPPORT:
                    ranges = await self.basic_support(item.property, node=i)
                    entry.setdefault("ranges", {})[item.property.value] = \
                        [ranges[0].minimum, ranges[0].maximum, ranges[0].step]
            nodes.append(entry)
        pins = []
        for i, pin in enumerate(self.descriptor.pins):
            entry = {"id": i, "name": pin.name, "flow": pin.data_flow.name.lower(),
                     "category": pin.category}
            if pin.automation.item(JackProperty.DESCRIPTION):
                jack = await self.get(JackProperty.DESCRIPTION, pin=i)
                entry["jack"] = dict(jack.__dict__)
            pins.append(entry)
        connections = [[c.from_node, c.from_pin, c.to_node, c.to_pin]
                       for c in self.descriptor.connections]
        return {"nodes": nodes, "pins": pins, "connections": connections}

    @staticmethod
    def _target(node, pin):
        return f"node {node}" if node is not None else f"pin {pin}"
