"""The WaveCyclic port driver: IPortWaveCyclic, its pins and their service routine.

The miniport's stream loops the hardware over the common buffer of a DMA channel
(:mod:`portdrv.dma_channel`) and interrupts at each notification point (SetNotificationFreq,
10 ms); its ISR asks the service group for a DPC, which calls :meth:`WaveCyclicPin.service`:
the port reads the miniport's position and copies client packets into the buffer ahead of it
(render, silence where the client has not delivered: a reported glitch) or out of it behind it
(capture).

Miniport contract (duck-typed, statuses as values): ``async init(port, resources)``,
``get_description()``, ``async new_stream(pin_id, capture, fmt) -> (status, stream,
dma_channel, service_group)`` (the stream's buffer is the channel's, already allocated);
stream: ``async set_format(fmt)``, ``async set_state(state)``,
``async set_notification_freq(interval_ms) -> bytes per interval`` (sizes the buffer),
``async get_position() -> (status, byte offset in the buffer)`` (0 after STOP, frozen in
PAUSE), ``normalize_physical_position(bytes) -> 100-ns units``, ``silence(buffer, count)``,
``async close()``.
"""

from __future__ import annotations

from .cyclic import CyclicBufferPin
from .dma_channel import new_master_dma_channel
from .ksstate import KSSTATE
from .memory import CyclicBuffer
from .port import Port
from .status import NTSTATUS, nt_success

__all__ = ["PortWaveCyclic", "WaveCyclicPin", "NOTIFICATION_MS"]

#: the notification interval PortCls asks for
NOTIFICATION_MS = 10


class PortWaveCyclic(Port):
    """IPortWaveCyclic: binds a WaveCyclic miniport, gives it DMA channels, makes pins.

    :attr:`notification_ms` is what the port asks SetNotificationFreq for (PortCls: 10 ms;
    shorter intervals make short simulations possible)."""

    notification_ms = NOTIFICATION_MS

    def new_master_dma_channel(self, maximum_length):
        return new_master_dma_channel(self.resources.memory, maximum_length)

    async def new_pin(self, filter, pin_id, fmt):
        """Create the miniport stream, set its format and notification frequency and join
        its service group; returns ``(status, WaveCyclicPin)``."""
        capture = filter.pins[pin_id].capture
        status, stream, channel, group = await self.miniport.new_stream(pin_id, capture, fmt)
        if not nt_success(status):
            return status, None
        pin = WaveCyclicPin(self, filter, pin_id, capture, fmt, stream, channel, group)
        status = await stream.set_format(fmt)
        if nt_success(status):
            pin.notification_bytes = await stream.set_notification_freq(self.notification_ms)
            if not pin.notification_bytes:
                status = NTSTATUS.INVALID_BUFFER_SIZE
        if not nt_success(status):
            await stream.close()
            channel.free_buffer()
            return status, None
        pin.buffer_size = channel.buffer_size
        pin.buffer = CyclicBuffer(channel.system_address, 0, channel.buffer_size)
        group.add_member(pin)
        return NTSTATUS.SUCCESS, pin


class WaveCyclicPin(CyclicBufferPin):
    """One open WaveCyclic pin: serviced by the miniport's DPC."""

    def __init__(self, port, filter, pin_id, capture, fmt, stream, channel, service_group):
        super().__init__(port, filter, pin_id, capture, fmt, stream)
        self.dma_channel = channel
        self.service_group = service_group
        self.notification_bytes = 0
        self._position_events = []     # (linear byte position, event)

    def service(self):
        """IServiceSink::RequestService from the miniport's DPC: wake the copy engine."""
        self._wake.set()

    async def _hw_offsets(self):
        status, offset = await self.stream.get_position()
        return status, offset, None

    def _fetch_lead(self):
        """The miniport reports where the hardware plays (LPIB), not how far its DMA has read
        ahead (render) or stored (capture lags the link by up to a FIFO): count one
        notification interval either way, so a resync after starvation never writes where
        the DMA may have read, and capture never reads what may not be stored yet."""
        if self.capture:
            return -self.notification_bytes
        return self.notification_bytes if self.state == KSSTATE.RUN else 0

    def _silence(self, n):
        buf = bytearray(n)
        self.stream.silence(buf, n)
        return bytes(buf)

    async def get_buffer_position(self):
        """The miniport's position: a byte offset in the cyclic buffer (KSPROPERTY_AUDIO_
        POSITION of a looped WaveCyclic stream)."""
        status, offset = await self.stream.get_position()
        return offset if nt_success(status) else 0

    def normalize_physical_position(self, position):
        return self.stream.normalize_physical_position(position)

    def add_position_event(self, position, event):
        """Signal ``event`` once the play position reaches the linear byte ``position``."""
        self._position_events.append((position, event))
        self._fire_position_events()

    def _fire_position_events(self):
        due = [(p, e) for p, e in self._position_events if self._play >= p]
        for entry in due:
            self._position_events.remove(entry)
            entry[1].set()

    async def _update_positions(self):
        status = await super()._update_positions()
        self._fire_position_events()
        return status

    async def _release(self):
        self.service_group.remove_member(self)
        await self.stream.close()
        self.dma_channel.free_buffer()
