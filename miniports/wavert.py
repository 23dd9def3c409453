"""The WaveRT miniport for our controller (IMiniportWaveRT / IMiniportWaveRTStream).

Pins: 0 render sink (two instances: SD1 on DAC A and SD2 on DAC B, mixed in the codec),
1 capture sink (SD0 from the ADC), 2 render bridge (to the topology filter), 3 capture bridge.
Each stream's buffer is a cyclic BDL over the pages the port allocated: one entry per page,
split at the notification points so IOC fires exactly at the buffer's mid-point and/or end.
The ISR (:meth:`miniports.hda.HdaController.isr`) acknowledges the IOC; the stream counts it
and asks its service group for a DPC, which signals the registered notification events.
"""

from __future__ import annotations

from portdrv.ksstate import KSSTATE
from portdrv.status import NTSTATUS
from portdrv.wavert import (PACKET_FLAG_END_OF_STREAM, AudioPosition, DeviceDescription,
                            HwLatency, HwRegister, PresentationPosition, ReadPacket)
from rtl.regmap import REGMAP

from .hda import LINK_FRAME_RATE
from .wavestream import (DATA_RANGES, PIN_CAPTURE, PIN_CAPTURE_BRIDGE, PIN_RENDER,
                         PIN_RENDER_BRIDGE, HdaWaveMiniport, HdaWaveStream, split_at)

__all__ = ["MiniportWaveRT", "MiniportWaveRTStream", "MAX_BUFFER_BYTES", "PIN_RENDER",
           "PIN_CAPTURE",
           "PIN_RENDER_BRIDGE", "PIN_CAPTURE_BRIDGE", "DATA_RANGES"]

#: link frames between a sample leaving the controller and reaching the DAC pins (render),
#: and between the ADC sampling and the controller receiving it (capture)
RENDER_LINK_FRAMES = 1
CAPTURE_LINK_FRAMES = 2
#: BDL capacity of one stream (entries): one per 4 KiB page, plus one per notification point
#: that splits a page
BDL_CAPACITY = 256
#: the most notification points a buffer has (each may split a page into two entries)
MAX_NOTIFICATIONS = 2
#: the largest buffer the BDL can describe whatever the notification points
MAX_BUFFER_BYTES = (BDL_CAPACITY - MAX_NOTIFICATIONS) * 4096


def _frames_to_100ns(frames):
    return (frames * 10_000_000 + LINK_FRAME_RATE // 2) // LINK_FRAME_RATE


class MiniportWaveRT(HdaWaveMiniport):
    """IMiniportWaveRT over an :class:`miniports.hda.HdaController` the adapter started."""

    def get_device_description(self):
        return DeviceDescription(master=True, scatter_gather=True, dma32_bit_addresses=True,
                                 maximum_length=MAX_BUFFER_BYTES)

    async def new_stream(self, port_stream, pin_id, capture, fmt):
        if pin_id not in (PIN_RENDER, PIN_CAPTURE) or capture != (pin_id == PIN_CAPTURE):
            return NTSTATUS.INVALID_PARAMETER, None
        stream = MiniportWaveRTStream(self, port_stream, capture)
        status = await stream.open(fmt)
        if status != NTSTATUS.SUCCESS:
            return status, None
        self.streams.append(stream)
        self.service_group.add_member(stream)
        return NTSTATUS.SUCCESS, stream


class MiniportWaveRTStream(HdaWaveStream):
    """A WaveRT stream: the cyclic buffer on pages from the port, notification events."""

    def __init__(self, miniport, port_stream, capture):
        super().__init__(miniport, capture)
        self.port_stream = port_stream
        self.mdl = None
        self.size = 0
        self.notification_count = 0
        self.events = []
        self._pending_notifications = 0
        self.end_of_stream = None       # packet mode: (packet, bytes) of the end of stream
        self.on_stop()

    # ---- buffer -------------------------------------------------------------------------------

    async def allocate_audio_buffer(self, requested_size):
        return await self._allocate(requested_size, 0)

    async def allocate_buffer_with_notification(self, notification_count, requested_size):
        if notification_count not in (1, 2):
            return NTSTATUS.INVALID_PARAMETER, None, 0, 0, None
        return await self._allocate(requested_size, notification_count)

    async def _allocate(self, requested_size, count):
        if self.state != KSSTATE.STOP or self.mdl is not None:
            return NTSTATUS.INVALID_DEVICE_STATE, None, 0, 0, None
        # at least the requested size, rounded up to whole frames in every notification
        # segment (IMiniportWaveRTStream::AllocateAudioBuffer, KSRTAUDIO_BUFFER_PROPERTY: as
        # close to the request as the hardware allows); only a request beyond what the BDL
        # can describe gets less
        unit = self.fmt.block_align * max(count, 1)
        size = min(-(-requested_size // unit) * unit, MAX_BUFFER_BYTES // unit * unit)
        if size <= 0:
            return NTSTATUS.INVALID_BUFFER_SIZE, None, 0, 0, None
        mdl = self.port_stream.allocate_pages_for_mdl(size)
        if mdl is None:
            return NTSTATUS.INSUFFICIENT_RESOURCES, None, 0, 0, None
        points = [size * (i + 1) // count for i in range(count)]
        try:
            self.set_bdl(split_at(mdl.segments(), points))
        except MemoryError:
            self.port_stream.free_pages_from_mdl(mdl)
            return NTSTATUS.INSUFFICIENT_RESOURCES, None, 0, 0, None
        self.mdl, self.size, self.notification_count = mdl, size, count
        return NTSTATUS.SUCCESS, mdl, size, 0, "cached"

    async def free_buffer_with_notification(self, mdl, size):
        """IMiniportWaveRTStreamNotification::FreeBufferWithNotification: the buffer from
        AllocateBufferWithNotification (its BDL has the IOC points)."""
        await self.free_audio_buffer(mdl, size)

    async def free_audio_buffer(self, mdl, size):
        if mdl is not self.mdl:
            return
        self.free_bdl()
        self.port_stream.free_pages_from_mdl(mdl)
        self.mdl = None
        self.size = 0

    # ---- notification ------------------------------------------------------------------------

    def register_notification_event(self, event):
        if any(e is event for e in self.events):
            return NTSTATUS.UNSUCCESSFUL
        self.events.append(event)
        return NTSTATUS.SUCCESS

    def unregister_notification_event(self, event):
        for i, e in enumerate(self.events):
            if e is event:
                del self.events[i]
                return NTSTATUS.SUCCESS
        return NTSTATUS.NOT_FOUND

    @property
    def ioc_enabled(self):
        return bool(self.notification_count)

    def on_ioc(self):
        """Queue the DPC that signals the notification events (the IOC at each packet's end
        also samples the DMA position, so the packet count never misses a lap)."""
        self._track_dma()
        self._pending_notifications += 1
        self.miniport.service_group.request_service()

    def on_stop(self):
        self._pending_notifications = 0
        self._dma_laps = self._dma_last = 0
        self._last_written = -1
        self._next_read = 0

    # ---- packet mode (IMiniportWaveRTOutputStream / IMiniportWaveRTInputStream) ----------------

    def _track_dma(self):
        """The DMA position (fetched for render, stored for capture) as a byte count since
        the stream started: the position buffer's offset plus the laps seen (it is sampled
        at every IOC, several times a lap)."""
        if not self.size:
            return 0
        offset = self.dma_position() % self.size
        if offset < self._dma_last:
            self._dma_laps += 1
        self._dma_last = offset
        return self._dma_laps * self.size + offset

    def _packets_completed(self):
        return self._track_dma() // (self.size // self.notification_count)

    def get_packet_count(self):
        """IMiniportWaveRTOutputStream::GetPacketCount: the 1-based count of packets the DMA
        has completed (render: fetched; capture: stored, which KSPROPERTY_RTAUDIO_PACKETCOUNT
        also reports) since STOP, from the hardware's DMA position; the BDL has an IOC at
        every packet's end."""
        if not self.notification_count:
            return NTSTATUS.NOT_SUPPORTED, 0
        return NTSTATUS.SUCCESS, self._packets_completed()

    def set_write_packet(self, number, flags, eos_length):
        """IMiniportWaveRTOutputStream::SetWritePacket: the client wrote packet ``number``
        (in order; INVALID_PARAMETER otherwise); DATA_LATE_ERROR if the DMA has already
        fetched all of it. The end-of-stream packet's length is kept (the port writes silence
        after it; the engine keeps looping until the pin stops)."""
        if self.capture or not self.notification_count:
            return NTSTATUS.INVALID_DEVICE_REQUEST
        if number != self._last_written + 1:
            return NTSTATUS.INVALID_PARAMETER
        self._last_written = number
        if flags & PACKET_FLAG_END_OF_STREAM:
            self.end_of_stream = (number, eos_length)
        if number < self._packets_completed():
            return NTSTATUS.DATA_LATE_ERROR
        return NTSTATUS.SUCCESS

    async def get_output_stream_presentation_position(self):
        """IMiniportWaveRTOutputStream::GetOutputStreamPresentationPosition: frames that
        crossed the link (LPIB, unwrapped against the DMA position, which is at most a FIFO
        ahead) and the HAL time."""
        fetched = self._track_dma()
        play = await self.link_position() if self.state != KSSTATE.STOP else 0
        linear = fetched - (fetched - play) % self.size if self.size else 0
        return NTSTATUS.SUCCESS, PresentationPosition(
            linear // self.fmt.block_align, self.controller.resources.scheduler.now_100ns())

    def get_read_packet(self):
        """IMiniportWaveRTInputStream::GetReadPacket: the oldest stored packet the client has
        not read (if it was overwritten meanwhile, the oldest intact one: the client sees the
        gap), with MoreData when a newer one is stored too; DEVICE_NOT_READY when none."""
        if not self.capture or not self.notification_count:
            return NTSTATUS.INVALID_DEVICE_REQUEST, None
        completed = self._packets_completed()
        if self._next_read >= completed:
            return NTSTATUS.DEVICE_NOT_READY, None
        number = max(self._next_read, completed - (self.notification_count - 1))
        self._next_read = number + 1
        now = self.controller.resources.scheduler.now_100ns()
        return NTSTATUS.SUCCESS, ReadPacket(number, 0, now, self._next_read < completed)

    def buffer_fits(self, fmt):
        return self.mdl is None or self.size % fmt.block_align == 0

    def service(self):
        """The DPC: signal every registered notification event once per pending IOC batch."""
        if self._pending_notifications:
            self._pending_notifications = 0
            for event in self.events:
                event.set()

    # ---- properties ----------------------------------------------------------------------------

    def get_hw_latency(self):
        frames = CAPTURE_LINK_FRAMES if self.capture else RENDER_LINK_FRAMES
        return HwLatency(fifo_size=self.engine.fifo_size or 0, chipset_delay=0,
                         codec_delay=_frames_to_100ns(frames))

    def get_position_register(self):
        alias = REGMAP[f"SD{self.engine.n}LPIB_A"]
        accuracy = self.fmt.block_align if self.fmt else 4
        return NTSTATUS.SUCCESS, HwRegister(alias.offset, 32, accuracy)

    def get_clock_register(self):
        hz = self.controller.clock_hz
        if not hz:
            return NTSTATUS.NOT_IMPLEMENTED, None
        return NTSTATUS.SUCCESS, HwRegister(REGMAP["WALLCLK_A"].offset, 32, 1, hz.numerator,
                                            hz.denominator)

    async def get_position(self):
        """Play offset from LPIB; write offset from the DMA position buffer;
        DEVICE_DATA_ERROR while a bus error has the engine stopped (:meth:`on_bus_error`)."""
        if self.state == KSSTATE.STOP or self.mdl is None:
            return NTSTATUS.SUCCESS, AudioPosition(0, 0)
        if self.faulted:
            return NTSTATUS.DEVICE_DATA_ERROR, None
        play = await self.link_position()
        return NTSTATUS.SUCCESS, AudioPosition(play, self.dma_position())

    async def close(self):
        await super().close()
        self.miniport.service_group.remove_member(self)

