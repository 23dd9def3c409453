"""The Topology port (IPortTopology): a filter that only describes the mixer.

A topology filter has no streaming pins: its pins are bridge pins (the wave filter's ends and
the physical jacks) and its nodes (volume, mute, sum, mux, peak meter...) carry the properties
clients read and set. The port publishes the miniport's descriptor, routes property requests
to the nodes' automation tables (:meth:`portdrv.filter.Filter.property`) and delivers the
miniport's events (IPortEvents, in :class:`portdrv.port.Port`).

:func:`path_to_pin` and :func:`path_from_pin` walk the connection graph, which is how a client
finds "the volume of the headphone output" without knowing node numbers.
"""

from __future__ import annotations

from .filter import FILTER_PIN
from .port import Port
from .status import NTSTATUS

__all__ = ["PortTopology", "path_to_pin", "path_from_pin"]


class PortTopology(Port):
    """IPortTopology: :meth:`init` binds the miniport (IMiniportTopology: ``init(port,
    resources)``, ``get_description()``); the filter's pins cannot be instantiated."""

    async def new_pin(self, filter, pin_id, fmt, **options):
        return NTSTATUS.INVALID_DEVICE_REQUEST, None


def _walk(descriptor, start, forward):
    """Nodes reachable from filter pin ``start`` following connections ``forward`` (or
    backward), nearest first, each once."""
    order, seen = [], set()
    frontier = [c for c in descriptor.connections
                if (c.from_node if forward else c.to_node) is FILTER_PIN
                and (c.from_pin if forward else c.to_pin) == start]
    while frontier:
        nxt = []
        for c in frontier:
            node = c.to_node if forward else c.from_node
            if node is FILTER_PIN or node in seen:
                continue
            seen.add(node)
            order.append(node)
            nxt += [d for d in descriptor.connections
                    if (d.from_node if forward else d.to_node) == node]
        frontier = nxt
    return order


def path_to_pin(descriptor, pin):
    """The nodes data passes through before leaving the filter by ``pin``, nearest first."""
    return _walk(descriptor, pin, forward=False)


def path_from_pin(descriptor, pin):
    """The nodes data entering the filter by ``pin`` passes through, nearest first."""
    return _walk(descriptor, pin, forward=True)
