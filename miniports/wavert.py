"""The WaveRT miniport for our controller (IMiniportWaveRT / IMiniportWaveRTStream).

Pins: 0 render sink (two instances: SD1 on DAC A and SD2 on DAC B, mixed in the codec),
1 capture sink (SD0 from the ADC), 2 render bridge (to the topology filter), 3 capture bridge.
Each stream's buffer is a cyclic BDL over the pages the port allocated: one entry per page,
split at the notification points so IOC fires exactly at the buffer's mid-point and/or end.
The ISR (:meth:`miniports.hda.HdaController.isr`) acknowledges the IOC; the stream counts it
and asks its service group for a DPC, which signals the registered notification events.
"""

from __future__ import annotations

from portdrv.filter import Communication, DataFlow, FilterDescriptor, PinDescriptor
from portdrv.formats import AudioDataRange
from portdrv.ksstate import KSSTATE
from portdrv.service_group import ServiceGroup
from portdrv.status import NTSTATUS, nt_success
from portdrv.wavert import AudioPosition, DeviceDescription, HwLatency, HwRegister
from rtl.regmap import REGMAP

from .hda import NID_ADC, NID_DAC_A, NID_DAC_B, LINK_FRAME_RATE, Bdl, wave_format_to_fmt

__all__ = ["MiniportWaveRT", "MiniportWaveRTStream", "PIN_RENDER", "PIN_CAPTURE",
           "PIN_RENDER_BRIDGE", "PIN_CAPTURE_BRIDGE", "DATA_RANGES"]

PIN_RENDER, PIN_CAPTURE, PIN_RENDER_BRIDGE, PIN_CAPTURE_BRIDGE = range(4)

#: the rates of the 48 kHz family the controller and codec carry (48000 * m / d <= 48 kHz)
RATES = (48000, 32000, 16000, 8000)
#: 16-bit and 24-bit (in 32-bit containers) PCM, 1-2 channels, one range per rate (a range
#: cannot leave 44.1 kHz out otherwise), best first
DATA_RANGES = tuple(AudioDataRange(2, bits, bits, rate, rate) for bits in (24, 16)
                    for rate in RATES)

#: link frames between a sample leaving the controller and reaching the DAC pins (render),
#: and between the ADC sampling and the controller receiving it (capture)
RENDER_LINK_FRAMES = 1
CAPTURE_LINK_FRAMES = 2
#: BDL capacity of one stream (entries), a buffer of up to 1 MiB in 4 KiB pages
BDL_CAPACITY = 256


def _frames_to_100ns(frames):
    return (frames * 10_000_000 + LINK_FRAME_RATE // 2) // LINK_FRAME_RATE


class MiniportWaveRT:
    """IMiniportWaveRT over an :class:`miniports.hda.HdaController` the adapter started."""

    def __init__(self, controller):
        self.controller = controller
        self.port = None
        self.service_group = None
        self.streams = []

    async def init(self, port, resources):
        self.port = port
        self.service_group = ServiceGroup(resources.scheduler)
        return NTSTATUS.SUCCESS

    def get_description(self):
        pins = (
            PinDescriptor("render", DataFlow.IN, Communication.SINK, DATA_RANGES, 2),
            PinDescriptor("capture", DataFlow.OUT, Communication.SINK, DATA_RANGES, 1),
            PinDescriptor("render bridge", DataFlow.OUT, Communication.BRIDGE, (), 0),
            PinDescriptor("capture bridge", DataFlow.IN, Communication.BRIDGE, (), 0),
        )
        return FilterDescriptor(pins)

    def get_device_description(self):
        return DeviceDescription(master=True, scatter_gather=True, dma32_bit_addresses=True,
                                 maximum_length=BDL_CAPACITY * 4096)

    def data_range_intersection(self, pin_id, client, driver_range, output_size):
        """The port's default intersection is right for this hardware."""
        return NTSTATUS.NOT_IMPLEMENTED

    async def new_stream(self, port_stream, pin_id, capture, fmt):
        if pin_id not in (PIN_RENDER, PIN_CAPTURE) or capture != (pin_id == PIN_CAPTURE):
            return NTSTATUS.INVALID_PARAMETER, None
        stream = MiniportWaveRTStream(self, port_stream, capture)
        claim = self.controller.claim_stream(capture, stream.on_interrupt)
        if claim is None:
            return NTSTATUS.INSUFFICIENT_RESOURCES, None
        stream.engine, stream.tag = claim
        stream.converter = NID_ADC if capture else (NID_DAC_A if stream.engine.n == 1
                                                    else NID_DAC_B)
        await stream.engine.reset()
        self.streams.append(stream)
        self.service_group.add_member(stream)
        return NTSTATUS.SUCCESS, stream


class MiniportWaveRTStream:
    """One stream: an engine SDn, a stream tag, a codec converter and a cyclic buffer."""

    def __init__(self, miniport, port_stream, capture):
        self.miniport = miniport
        self.controller = miniport.controller
        self.port_stream = port_stream
        self.capture = capture
        self.engine = None
        self.tag = 0
        self.converter = None
        self.state = KSSTATE.STOP
        self.fmt = None
        self.fmt_value = None
        self.bdl = None
        self.mdl = None
        self.size = 0
        self.notification_count = 0
        self.events = []
        self._pending_notifications = 0
        #: hardware causes seen by the ISR
        self.ioc_count = 0
        self.fifo_errors = 0
        self.descriptor_errors = 0

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
        align = self.fmt.block_align if self.fmt else 4
        unit = align * max(count, 1)
        size = min(requested_size, BDL_CAPACITY // 2 * 4096) // unit * unit
        if size <= 0:
            return NTSTATUS.INVALID_BUFFER_SIZE, None, 0, 0, None
        mdl = self.port_stream.allocate_pages_for_mdl(size)
        if mdl is None:
            return NTSTATUS.INSUFFICIENT_RESOURCES, None, 0, 0, None
        points = {size * (i + 1) // count for i in range(count)} if count else set()
        entries = []
        offset = 0
        for addr, length in mdl.segments():
            end = offset + length
            for cut in sorted(p for p in points if offset < p < end) + [end]:
                entries.append((addr, cut - offset, cut in points))
                addr += cut - offset
                offset = cut
        try:
            self.bdl = Bdl(self.controller.memory, max(len(entries), 1))
        except MemoryError:
            self.port_stream.free_pages_from_mdl(mdl)
            return NTSTATUS.INSUFFICIENT_RESOURCES, None, 0, 0, None
        self.bdl.set_entries(entries)
        self.mdl, self.size, self.notification_count = mdl, size, count
        return NTSTATUS.SUCCESS, mdl, size, 0, "cached"

    async def free_audio_buffer(self, mdl, size):
        if mdl is not self.mdl:
            return
        if self.bdl is not None:
            self.bdl.free()
            self.bdl = None
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

    def on_interrupt(self, cause):
        """From the ISR: count the causes and queue the DPC for the notifications."""
        if cause.bcis:
            self.ioc_count += 1
            self._pending_notifications += 1
        if cause.fifoe:
            self.fifo_errors += 1
        if cause.dese:
            self.descriptor_errors += 1
        if cause.bcis:
            self.miniport.service_group.request_service()

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
        """Play offset from LPIB; write offset from the DMA position buffer."""
        if self.state == KSSTATE.STOP or self.mdl is None:
            return NTSTATUS.SUCCESS, AudioPosition(0, 0)
        play = await self.engine.lpib()
        return NTSTATUS.SUCCESS, AudioPosition(play, self.engine.dma_position())

    async def xrun(self):
        """Frames the hardware lost to FIFO underrun/overrun since the stream's last reset."""
        return await self.engine.xrun()

    # ---- format and state --------------------------------------------------------------------

    async def set_format(self, fmt):
        value = wave_format_to_fmt(fmt)
        if value is None:
            return NTSTATUS.NOT_SUPPORTED
        if self.state == KSSTATE.RUN:
            return NTSTATUS.INVALID_DEVICE_STATE
        if self.mdl is not None and fmt.block_align != self.fmt.block_align \
                and self.size % fmt.block_align:
            return NTSTATUS.INVALID_PARAMETER
        self.fmt, self.fmt_value = fmt, value
        await self.engine.set_format(value)
        await self.controller.codec.set_converter_format(self.converter, value)
        return NTSTATUS.SUCCESS

    async def set_state(self, state):
        state = KSSTATE(state)
        if abs(int(state) - int(self.state)) > 1:
            return NTSTATUS.INVALID_DEVICE_STATE    # the port must step
        if state == self.state:
            return NTSTATUS.SUCCESS
        engine, codec = self.engine, self.controller.codec
        if state == KSSTATE.ACQUIRE and self.state == KSSTATE.STOP:
            if self.mdl is None:
                return NTSTATUS.INVALID_DEVICE_STATE
            await engine.reset()
            self._clear_dma_position()
            await engine.program(self.bdl, self.fmt_value, self.tag,
                                 ioce=bool(self.notification_count), deie=True)
            await self.controller.set_stream_interrupt(engine.n, True)
            if not self.capture:
                await codec.set_converter_stream(self.converter, self.tag)
        elif state == KSSTATE.RUN:
            await engine.run()
            if self.capture:
                await codec.set_converter_stream(self.converter, self.tag)
        elif state == KSSTATE.PAUSE and self.state == KSSTATE.RUN:
            if self.capture:
                await codec.set_converter_stream(self.converter, 0)
            await engine.stop()
        elif state == KSSTATE.STOP:
            await self.controller.set_stream_interrupt(engine.n, False)
            await codec.set_converter_stream(self.converter, 0)
            await engine.reset()
            self._pending_notifications = 0
        self.state = state
        return NTSTATUS.SUCCESS

    def _clear_dma_position(self):
        base = self.controller.position_buffer
        self.controller.memory.write(base + 8 * self.engine.n, bytes(4))

    async def close(self):
        if self.state != KSSTATE.STOP:
            for step in (KSSTATE.PAUSE, KSSTATE.ACQUIRE, KSSTATE.STOP):
                if int(step) < int(self.state):
                    await self.set_state(step)
        self.miniport.service_group.remove_member(self)
        if self in self.miniport.streams:
            self.miniport.streams.remove(self)
        self.controller.release_stream(self.engine, self.tag)
