"""The client API an application uses: open a pin with a format, stream, set state, position.

Statuses cross the port/miniport boundary as values; here, at the application boundary, a
failure becomes a :class:`portdrv.status.StatusError` whose message names the operation.
"""

from __future__ import annotations

from .ksstate import KSSTATE
from .properties import ALL_CHANNELS, JackProperty, PropertyVerb
from .status import NTSTATUS, StatusError, check_status, nt_success
from .topology import path_to_pin

__all__ = ["AudioClient", "ClientStream", "MixerClient"]


class AudioClient:
    """Opens pins on the filters of a :class:`portdrv.filter.SubdeviceRegistry`."""

    def __init__(self, registry):
        self.registry = registry

    async def open(self, filter_name, pin_id, fmt, **options) -> "ClientStream":
        """Open an instance of pin ``pin_id`` of filter ``filter_name`` with ``fmt``.

        ``options`` go to the port (WaveRT: ``buffer_bytes``, ``notifications``)."""
        flt = self.registry.filter(filter_name)
        if flt is None:
            raise StatusError(NTSTATUS.NOT_FOUND, f"no filter named {filter_name!r}")
        status, pin = await flt.create_pin(pin_id, fmt, **options)
        check_status(status, f"opening pin {pin_id} of filter {filter_name!r} with {fmt}")
        return self._client_stream(pin)

    def _client_stream(self, pin):
        """What :meth:`open` hands the application for ``pin`` (MIDI and DMus clients hand
        out their own stream classes)."""
        return ClientStream(pin)


class ClientStream:
    """An open pin as the application sees it."""

    def __init__(self, pin):
        self.pin = pin
        self._tracer = pin.port.resources.scheduler.tracer

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
        self._tracer.event("client", "WRITE", f"pin {self.pin.pin_id}: {len(data)} bytes")
        return packet

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

    async def get_position(self):
        """``(play, write)`` byte positions since the stream started."""
        play, write = await self.pin.get_position()
        self._tracer.event("client", "POSITION", f"pin {self.pin.pin_id}: play {play} "
                           f"write {write}")
        return play, write

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
