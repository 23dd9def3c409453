"""The WaveCyclic miniport for our controller (IMiniportWaveCyclic / IMiniportWaveCyclicStream).

Each stream gets a master DMA channel from the port with one contiguous common buffer; the
engine loops over it in cyclic mode. SetNotificationFreq cuts the buffer into BDL entries of one
notification interval each, all with IOC, so the controller interrupts every interval (10 ms);
the ISR acknowledges BCIS and the stream asks the miniport's service group for the DPC in which
the port copies audio. GetPosition is LPIB: the hardware position in the buffer.
"""

from __future__ import annotations

from portdrv.formats import normalize_physical_position
from portdrv.status import NTSTATUS
from portdrv.wavert import HwLatency

from .wavestream import (DATA_RANGES, PIN_CAPTURE, PIN_CAPTURE_BRIDGE, PIN_RENDER,
                         PIN_RENDER_BRIDGE, HdaWaveMiniport, HdaWaveStream, split_at)

__all__ = ["MiniportWaveCyclic", "MiniportWaveCyclicStream", "PIN_RENDER", "PIN_CAPTURE",
           "PIN_RENDER_BRIDGE", "PIN_CAPTURE_BRIDGE", "DATA_RANGES", "DMA_BUFFER_BYTES",
           "INTERVALS_PER_BUFFER"]

#: the common buffer allocated per stream: enough for 4 x 10 ms of the largest format
DMA_BUFFER_BYTES = 4 * 3840 * 4
#: notification intervals in the buffer in use
INTERVALS_PER_BUFFER = 4


class MiniportWaveCyclic(HdaWaveMiniport):
    """IMiniportWaveCyclic over an :class:`miniports.hda.HdaController` the adapter started."""

    async def new_stream(self, pin_id, capture, fmt):
        """``(status, stream, dma_channel, service_group)``."""
        if pin_id not in (PIN_RENDER, PIN_CAPTURE) or capture != (pin_id == PIN_CAPTURE):
            return NTSTATUS.INVALID_PARAMETER, None, None, None
        status, channel = self.port.new_master_dma_channel(DMA_BUFFER_BYTES)
        if status != NTSTATUS.SUCCESS:
            return status, None, None, None
        status = channel.allocate_buffer(DMA_BUFFER_BYTES, max_address=0xFFFF_FFFF)
        if status != NTSTATUS.SUCCESS:
            return status, None, None, None
        stream = MiniportWaveCyclicStream(self, capture, channel)
        status = await stream.open(fmt)
        if status != NTSTATUS.SUCCESS:
            channel.free_buffer()
            return status, None, None, None
        self.streams.append(stream)
        return NTSTATUS.SUCCESS, stream, channel, self.service_group


class MiniportWaveCyclicStream(HdaWaveStream):
    """A WaveCyclic stream over its DMA channel's common buffer."""

    def __init__(self, miniport, capture, dma_channel):
        super().__init__(miniport, capture)
        self.dma_channel = dma_channel
        self.interval_bytes = 0

    async def set_notification_freq(self, interval_ms):
        """Interrupt every ``interval_ms`` and size the buffer to :data:`INTERVALS_PER_BUFFER`
        intervals. Returns ``(interval_ms, frame_size)``: the C method returns the interval
        in ms and writes the bytes per interval (whole frames) through its FrameSize
        out-parameter (IMiniportWaveCyclicStream::SetNotificationFreq); frame_size 0 if it
        cannot."""
        if interval_ms <= 0:
            return interval_ms, 0
        align = self.fmt.block_align
        interval = self.fmt.avg_bytes_per_sec * interval_ms // 1000 // align * align
        count = min(INTERVALS_PER_BUFFER, self.dma_channel.allocated_buffer_size //
                    max(interval, 1))
        if interval == 0 or count < 2:
            return interval_ms, 0
        size = interval * count
        self.dma_channel.set_buffer_size(size)
        self.set_bdl(split_at([(self.dma_channel.physical_address, size)],
                              [interval * (i + 1) for i in range(count)]))
        self.interval_bytes = interval
        return interval_ms, interval

    def buffer_fits(self, fmt):
        return self.dma_channel.buffer_size % fmt.block_align == 0

    def on_ioc(self):
        self.miniport.service_group.request_service()

    def get_hw_latency(self):
        """The engine's FIFO, in IMiniportWaveRTStream::GetHWLatency's form: how far the
        DMA may read ahead of the play position GetPosition reports (the port needs it)."""
        return HwLatency(fifo_size=self.engine.fifo_size or 0, chipset_delay=0, codec_delay=0)

    async def get_position(self):
        """The hardware position: LPIB, a byte offset in the buffer (0 in STOP);
        DEVICE_DATA_ERROR while a bus error has the engine stopped (:meth:`on_bus_error`)."""
        if self.faulted:
            return NTSTATUS.DEVICE_DATA_ERROR, 0
        return NTSTATUS.SUCCESS, await self.link_position()

    def normalize_physical_position(self, position):
        """``(status, 100-ns units)`` (IMiniportWaveCyclicStream::NormalizePhysicalPosition)."""
        return NTSTATUS.SUCCESS, normalize_physical_position(position, self.fmt)

    def silence(self, buffer, count):
        """Fill ``buffer[:count]`` with silence: 0x80 for 8-bit (unsigned) samples, else 0."""
        value = 0x80 if self.fmt is not None and self.fmt.bits_per_sample == 8 else 0
        buffer[:count] = bytes([value]) * count
