"""The client API an application uses: open a pin with a format, stream, set state, position.

Statuses cross the port/miniport boundary as values; here, at the application boundary, a
failure becomes a :class:`portdrv.status.StatusError` whose message names the operation.
"""

from __future__ import annotations

from .ksstate import KSSTATE
from .status import NTSTATUS, StatusError, check_status

__all__ = ["AudioClient", "ClientStream"]


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

    def end_of_stream(self):
        self.pin.end_of_stream()

    async def wait_drained(self):
        await self.pin.wait_drained()

    async def read(self, n):
        return await self.pin.read(n)

    async def get_position(self):
        """``(play, write)`` byte positions since the stream started."""
        return await self.pin.get_position()

    async def close(self):
        await self.pin.close()

    def __repr__(self):
        return f"ClientStream(pin {self.pin.pin_id}, {self.state.name})"
