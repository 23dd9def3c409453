"""What the wave miniports share: the wave filter's pins and one stream on our controller.

:class:`HdaWaveStream` owns an engine SDn, a stream tag and a codec converter (DAC A for SD1,
DAC B for SD2, the ADC for SD0), builds cyclic BDLs split at notification points, and runs the
KSSTATE machine on the hardware: ACQUIRE programs the engine (after a stream reset), RUN sets
RUN (and starts the ADC for capture), PAUSE stops the engine, STOP resets the stream. Each
miniport's stream class adds its buffer model (WaveRT: pages from the port; WaveCyclic: the
DMA channel's common buffer) and what an IOC means to its port (:meth:`on_ioc`).
"""

from __future__ import annotations

from portdrv.filter import Communication, DataFlow, FilterDescriptor, PinDescriptor
from portdrv.formats import (KSDATAFORMAT_SIZE, WAVEFORMATEXTENSIBLE_SIZE, AudioDataRange,
                             WaveFormat, intersect_range, intersection_answer)
from portdrv.ksstate import KSSTATE
from portdrv.power import DevicePowerState
from portdrv.service_group import ServiceGroup
from portdrv.status import NTSTATUS

from .hda import (NID_ADC, NID_DAC_A, NID_DAC_B, POSITION_SLOT_BYTES, Bdl,
                  wave_format_to_fmt)

__all__ = ["HdaWaveMiniport", "HdaWaveStream", "wave_filter_descriptor", "split_at",
           "rotate_entries", "runnable_format", "PIN_RENDER", "PIN_CAPTURE",
           "PIN_RENDER_BRIDGE", "PIN_CAPTURE_BRIDGE", "DATA_RANGES", "RATES"]

PIN_RENDER, PIN_CAPTURE, PIN_RENDER_BRIDGE, PIN_CAPTURE_BRIDGE = range(4)

#: the rates of the 48 kHz family the controller and codec carry (48000 * m / d <= 48 kHz)
RATES = (48000, 32000, 16000, 8000)
#: 16-bit and 24-bit (in 32-bit containers) PCM, 1-2 channels, one range per rate (a range
#: cannot leave 44.1 kHz out otherwise), best first
DATA_RANGES = tuple(AudioDataRange(2, bits, bits, rate, rate) for bits in (24, 16)
                    for rate in RATES)


def wave_filter_descriptor():
    """Pins: 0 render sink (two instances: SD1 and SD2, mixed in the codec), 1 capture sink
    (SD0), 2 render bridge (to the topology filter), 3 capture bridge (from it)."""
    return FilterDescriptor((
        PinDescriptor("render", DataFlow.IN, Communication.SINK, DATA_RANGES, 2),
        PinDescriptor("capture", DataFlow.OUT, Communication.SINK, DATA_RANGES, 1),
        PinDescriptor("render bridge", DataFlow.OUT, Communication.BRIDGE, (), 0),
        PinDescriptor("capture bridge", DataFlow.IN, Communication.BRIDGE, (), 0),
    ))


def runnable_format(fmt):
    """``fmt`` if the controller runs it, else the same samples in the container it carries
    (24 bits in 32, WAVEFORMATEXTENSIBLE), or None."""
    if wave_format_to_fmt(fmt) is not None:
        return fmt
    if fmt.valid_bits == 24 and fmt.channels <= 2:
        moved = WaveFormat.pcm(fmt.channels, fmt.samples_per_sec, 24, 32)
        if wave_format_to_fmt(moved) is not None:
            return moved
    return None


class HdaWaveMiniport:
    """What both wave miniports do the same way: hold the controller, make a service group
    at Init, describe the wave filter, leave intersection to the port's default."""

    def __init__(self, controller):
        self.controller = controller
        self.port = None
        self.service_group = None
        self.streams = []
        self.power_state = DevicePowerState.D0

    async def init(self, port, resources):
        self.port = port
        self.service_group = ServiceGroup(resources.scheduler)
        return NTSTATUS.SUCCESS

    def get_description(self):
        return wave_filter_descriptor()

    def data_range_intersection(self, pin_id, client, driver_range, output_size):
        """Recommend only what the controller runs: the port's default would answer 24-bit
        samples in a 24-bit container (plain WAVEFORMATEX), which the controller cannot carry
        (it takes 16 in 16 and 24 in 32), so this handler answers itself: the default's
        choice, with 24-bit samples moved into a 32-bit WAVEFORMATEXTENSIBLE container; a
        client format the controller cannot run is NO_MATCH ("Data-Intersection Handlers",
        IMiniportWaveRT::DataRangeIntersection)."""
        if isinstance(client, WaveFormat) and wave_format_to_fmt(client) is None:
            return NTSTATUS.NO_MATCH        # a client's exact format is taken as is or not
        choice = intersect_range(driver_range, client, WAVEFORMATEXTENSIBLE_SIZE
                                 + KSDATAFORMAT_SIZE)
        if choice.status != NTSTATUS.SUCCESS:
            return NTSTATUS.NO_MATCH
        return intersection_answer(runnable_format(choice.format), output_size)

    async def power_change_notify(self, state):
        """IPowerNotify on the miniport object: cache the device power state ("Implementing
        IPowerNotify"); each stream saves and restores its own engine (its own
        IPowerNotify, :meth:`HdaWaveStream.power_change_notify`)."""
        self.power_state = state


def rotate_entries(entries, offset):
    """BDL entries that start at byte ``offset`` of the cyclic buffer ``entries`` describe
    and wrap round to it (an entry containing ``offset`` is split; IOC flags stay at the same
    buffer offsets)."""
    if offset == 0:
        return list(entries)
    head, tail, pos = [], [], 0
    for address, length, ioc in entries:
        if pos + length <= offset:
            tail.append((address, length, ioc))
        elif pos >= offset:
            head.append((address, length, ioc))
        else:
            cut = offset - pos
            tail.append((address, cut, False))
            head.append((address + cut, length - cut, ioc))
        pos += length
    return head + tail


def split_at(segments, points):
    """BDL entries ``(address, length, ioc)`` over ``segments`` ``(address, length)``, cut so
    that an entry ends exactly at each byte offset in ``points``, which get IOC."""
    points = set(points)
    entries = []
    offset = 0
    for addr, length in segments:
        end = offset + length
        for cut in sorted(p for p in points if offset < p < end) + [end]:
            entries.append((addr, cut - offset, cut in points))
            addr += cut - offset
            offset = cut
    return entries


class HdaWaveStream:
    """One wave stream on the controller (see the module docstring)."""

    def __init__(self, miniport, capture):
        self.miniport = miniport
        self.controller = miniport.controller
        self.capture = capture
        self.engine = None
        self.tag = 0
        self.converter = None
        self.state = KSSTATE.STOP
        self.power_state = DevicePowerState.D0
        self.fmt = None
        self.fmt_value = None
        self.bdl = None
        self._entries = []          # the cyclic BDL as built (from buffer offset 0)
        self._offset = 0            # buffer offset the engine started at (after a power loss)
        #: hardware causes seen by the ISR
        self.ioc_count = 0
        self.fifo_errors = 0
        self.descriptor_errors = 0
        #: a bus error stopped the engine (DESE) and it has not been restarted since
        self.faulted = False
        #: restarts after a bus error
        self.bus_error_recoveries = 0

    async def open(self, fmt):
        """Claim an engine and a tag and take the stream's initial format (NewStream's
        DataFormat); NTSTATUS: INVALID_PARAMETER for a format the controller cannot run,
        INSUFFICIENT_RESOURCES if every engine is busy."""
        if wave_format_to_fmt(fmt) is None:
            return NTSTATUS.INVALID_PARAMETER
        claim = self.controller.claim_stream(self.capture, self.on_interrupt)
        if claim is None:
            return NTSTATUS.INSUFFICIENT_RESOURCES
        self.engine, self.tag = claim
        self.converter = NID_ADC if self.capture else (NID_DAC_A if self.engine.n == 1
                                                       else NID_DAC_B)
        await self.engine.reset()
        status = await self.set_format(fmt)
        if status != NTSTATUS.SUCCESS:
            self.controller.release_stream(self.engine, self.tag)
        return status

    def set_bdl(self, entries):
        """Write the cyclic BDL (replacing the previous one)."""
        if self.bdl is None or self.bdl.capacity < len(entries):
            self.free_bdl()
            self.bdl = Bdl(self.controller.memory, max(len(entries), 1))
        self.bdl.set_entries(entries)
        self._entries = list(entries)

    def free_bdl(self):
        if self.bdl is not None:
            self.bdl.free()
            self.bdl = None

    @property
    def ioc_enabled(self):
        """Whether the BDL's IOC entries should interrupt."""
        return True

    def on_interrupt(self, cause):
        """From the ISR: count the causes; an IOC goes to :meth:`on_ioc`."""
        if cause.fifoe:
            self.fifo_errors += 1
        if cause.dese:
            self.descriptor_errors += 1
            self.on_bus_error()
        if cause.bcis:
            self.ioc_count += 1
            self.on_ioc()

    def on_ioc(self):
        """What a buffer-completion interrupt means to this miniport's port."""

    def _in_buffer(self, engine_offset):
        """A byte offset the engine reports, as an offset in the cyclic buffer."""
        if not self._offset:
            return engine_offset
        return (self._offset + engine_offset) % self.bdl.length

    async def link_position(self):
        """LPIB: bytes that crossed the link, in the cyclic buffer (0 while stopped)."""
        if self.state == KSSTATE.STOP:
            return 0
        return self._in_buffer(await self.engine.lpib())

    def dma_position(self):
        """The DMA position (from the position buffer), in the cyclic buffer."""
        return self._in_buffer(self.engine.dma_position())

    async def xrun(self):
        """Frames the hardware lost to FIFO underrun/overrun since the stream's last reset."""
        return await self.engine.xrun()

    # ---- format and state ------------------------------------------------------------------

    async def set_format(self, fmt):
        """SetFormat: INVALID_PARAMETER for a format that is not supported, does not fit the
        buffer, or while the stream runs - the one failure status IMiniportWaveRTStream::
        SetFormat documents, used by all three wave streams."""
        value = wave_format_to_fmt(fmt)
        if value is None or self.state == KSSTATE.RUN or not self.buffer_fits(fmt):
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
            if self.bdl is None or not self.bdl.entries:
                return NTSTATUS.INVALID_DEVICE_STATE
            await engine.reset()
            self._clear_dma_position()
            self._offset = 0
            await self.program_engine()
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
            if self.faulted:
                await self._restart_after_fault()
        elif state == KSSTATE.STOP:
            await self.controller.set_stream_interrupt(engine.n, False)
            await codec.set_converter_stream(self.converter, 0)
            await engine.reset()
            self.faulted = False
            self.on_stop()
        self.state = state
        return NTSTATUS.SUCCESS

    async def program_engine(self):
        """Program the reset engine for the buffer (ACQUIRE): a cyclic BDL by default, started
        at buffer offset :attr:`_offset` (0 but after a power loss)."""
        entries = rotate_entries(self._entries, self._offset)
        if entries != self.bdl.entries:
            if len(entries) > self.bdl.capacity:
                self.bdl.free()
                self.bdl = Bdl(self.controller.memory, len(entries))
            self.bdl.set_entries(entries)
        await self.engine.program(self.bdl, self.fmt_value, self.tag, ioce=self.ioc_enabled,
                                  deie=True)

    # ---- bus errors ----------------------------------------------------------------------------

    def on_bus_error(self):
        """DESE: a bus error on a descriptor, data or a position write stopped the engine
        (README "Points where this controller is specific"). The positions now answer
        DEVICE_DATA_ERROR; the port is woken (as by an IOC) to restart the stream: PAUSE
        programs the engine again where the stream stood (:meth:`_restart_after_fault`),
        RUN runs it."""
        self.faulted = True
        self.controller.resources.scheduler.tracer.event(
            "miniport", "BUS_ERROR", f"SD{self.engine.n}: DESE, the engine stopped")
        self.on_ioc()

    async def _restart_after_fault(self):
        """Program the stopped engine again from where the stream stood: render from the
        link position (what sat in the lost FIFO is fetched again), capture from what was
        stored (the FIFO's frames are lost)."""
        await self.save_context()
        await self.reprogram()
        self.faulted = False
        self.bus_error_recoveries += 1

    # ---- power ---------------------------------------------------------------------------------

    async def power_change_notify(self, state):
        """IPowerNotify on the stream object: before D3 (the stream is paused) remember where
        it is; back in D0 from D3 program the engine again so it resumes from there."""
        previous, self.power_state = self.power_state, state
        if state == DevicePowerState.D3:
            await self.save_context()
        elif state == DevicePowerState.D0 and previous == DevicePowerState.D3:
            await self.restore_context()

    async def save_context(self):
        """Before the device loses power (the stream is paused, the engine stopped): where
        the stream got to. Render resumes from the link position (what sat in the FIFO is
        fetched again), capture from what is stored (what sat in the FIFO is lost)."""
        if self.state != KSSTATE.STOP:
            self._offset = self.dma_position() if self.capture else await self.link_position()

    async def restore_context(self):
        """After power returns: the engine and the codec converter as they were, the engine
        starting where the stream stopped (RUN comes from the port)."""
        if self.state == KSSTATE.STOP:
            return
        await self.reprogram()
        codec = self.controller.codec
        await codec.set_converter_format(self.converter, self.fmt_value)
        if not self.capture:
            await codec.set_converter_stream(self.converter, self.tag)

    async def reprogram(self):
        """Program the engine again from scratch (its registers are lost)."""
        await self.engine.reset()
        self._clear_dma_position()
        await self.program_engine()

    def buffer_fits(self, fmt):
        """Whether the current buffer holds whole frames of ``fmt``."""
        return True

    def on_stop(self):
        """Forget what was pending when the stream stops."""

    def _clear_dma_position(self):
        base = self.controller.position_buffer
        self.controller.memory.write(base + POSITION_SLOT_BYTES * self.engine.n, bytes(4))

    async def close(self):
        if self.state != KSSTATE.STOP:
            for step in (KSSTATE.PAUSE, KSSTATE.ACQUIRE, KSSTATE.STOP):
                if int(step) < int(self.state):
                    await self.set_state(step)
        if self in self.miniport.streams:
            self.miniport.streams.remove(self)
        self.free_bdl()
        self.controller.release_stream(self.engine, self.tag)
