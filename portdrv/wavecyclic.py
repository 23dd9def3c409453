"""The WaveCyclic port driver: IPortWaveCyclic, its pins and their service routine.

The miniport's stream loops the hardware over the common buffer of a DMA channel
(:mod:`portdrv.dma_channel`) and interrupts at each notification point (SetNotificationFreq,
10 ms); its ISR asks the service group for a DPC, which calls :meth:`WaveCyclicPin.service`:
the port reads the miniport's position and copies client packets into the buffer ahead of it
(render, silence where the client has not delivered: a reported glitch) or out of it behind it
(capture).

Miniport contract (duck-typed, statuses as values): ``async init(port, resources)``,
``get_description()``, ``async new_stream(pin_id, capture, fmt) -> (status, stream,
dma_channel, service_group)`` (the stream starts with ``fmt``; its buffer is the channel's,
already allocated; ``service_group`` may be None: the port then services the pin on its own
timer, once per notification interval); stream: ``async set_format(fmt) -> status`` (only for
a later change: KSPROPERTY_CONNECTION_DATAFORMAT on a stopped pin), ``async set_state(state)``,
``async set_notification_freq(interval_ms) -> (interval_ms, frame_size)``: the C method
returns the interval and writes the bytes per interval through its FrameSize out-parameter;
here both come back as a tuple (the port uses ``frame_size``, 0 if the miniport cannot; it
sizes the buffer), ``async get_position() -> (status, byte offset in the buffer)`` (0 after
STOP, frozen in PAUSE), ``normalize_physical_position(bytes) -> (status, 100-ns units)``,
``silence(buffer, count)``, ``async close()``.
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
        """Create the miniport stream with the pin's format, set its notification frequency
        and join its service group (or run the port's own timer); returns ``(status,
        WaveCyclicPin)``."""
        capture = filter.pins[pin_id].capture
        status, stream, channel, group = await self.miniport.new_stream(pin_id, capture, fmt)
        if not nt_success(status):
            return status, None
        pin = WaveCyclicPin(self, filter, pin_id, capture, fmt, stream, channel, group)
        # the stream got its format in NewStream (IMiniportWaveCyclic::NewStream)
        status = await pin._set_notification_freq()
        if not nt_success(status):
            await stream.close()
            channel.free_buffer()
            return status, None
        if group is not None:
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

    async def _set_notification_freq(self):
        """SetNotificationFreq at the port's interval; the bytes per interval come back
        through the FrameSize out-parameter (IMiniportWaveCyclicStream::SetNotificationFreq:
        the return value is the interval in ms, which Windows' port ignores). Sizes the
        buffer view and, without a service group, the port's own service period."""
        _interval_ms, frame_size = await self.stream.set_notification_freq(
            self.port.notification_ms)
        if not frame_size:
            return NTSTATUS.INVALID_BUFFER_SIZE
        self.notification_bytes = frame_size
        channel = self.dma_channel
        self.buffer_size = channel.buffer_size
        self.buffer = CyclicBuffer(channel.system_address, 0, channel.buffer_size)
        if self.service_group is None:
            # no service group from NewStream: the port services the pin on its own timer,
            # once per notification interval
            self.wake_period = self.port.notification_ms * 10_000
        return NTSTATUS.SUCCESS

    async def _format_changed(self):
        return await self._set_notification_freq()

    def service(self):
        """IServiceSink::RequestService from the miniport's DPC: wake the copy engine."""
        self._wake.set()

    async def _hw_offsets(self):
        status, offset = await self.stream.get_position()
        return status, offset, None

    def _fetch_lead(self):
        """The miniport reports where the hardware plays (GetPosition: "the data currently
        in the DAC or ADC"), not how far its DMA has read ahead (render) or stored (capture
        lags the link by up to a FIFO): count one notification interval plus the hardware's
        FIFO either way, so a resync after starvation never writes where the DMA may have
        read, and capture never reads what may not be stored yet. (Writing silence where the
        DMA had not read yet costs a reported glitch, never lost audio.)"""
        lead = self.notification_bytes + self._hardware_fifo_bytes()
        if self.capture:
            return -lead
        return lead if self.state == KSSTATE.RUN else 0

    def _hardware_fifo_bytes(self):
        """The FIFO the miniport stream reports through an optional ``get_hw_latency()`` (as
        WaveRT streams have; IMiniportWaveCyclicStream has none), else 0. Deliberately not
        :meth:`_fifo_bytes`: that would let the engine write up to a lap past the estimated
        DMA position, and here the estimate runs ahead of the real one."""
        latency = getattr(self.stream, "get_hw_latency", None)
        return latency().fifo_size if callable(latency) else 0

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
        """``(status, 100-ns units)`` (IMiniportWaveCyclicStream::NormalizePhysicalPosition)."""
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
        if self.service_group is not None:
            self.service_group.remove_member(self)
        await self.stream.close()
        self.dma_channel.free_buffer()
