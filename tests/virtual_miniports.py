"""Virtual wave miniports written only from the WDK reference pages: no hardware, a timer.

A second, independent set of miniports for the port drivers, in the spirit of Microsoft's
SysVAD (WaveRT) and MSVAD (WaveCyclic, WavePci) samples but sharing no code with ours
(``miniports/``): each stream's "device" is a clock that moves the stream's position at the
format's byte rate from KSSTATE_RUN on, and a periodic hardware timer that does what the DMA
would have done meanwhile (render: read the buffer or the mappings into :attr:`dac`; capture:
write bytes of a known :attr:`source` into them).

They keep the documented liberties a miniport may take, which ours does not use:

- SetFormat answers STATUS_NOT_SUPPORTED (as SysVAD does): the initial format comes from
  NewStream, so the pins open and stream all the same; KSPROPERTY_CONNECTION_DATAFORMAT fails.
- No service group: WaveCyclic's and WavePci's NewStream and WavePci's Init hand back None, so
  the ports run their own timers.
- WaveRT buffers are rounded up to whole pages of whole frames (at least the requested size).
- No data-intersection handler: the port's default answers.
- No position or clock register (STATUS_NOT_SUPPORTED).
- WaveRT packet mode (GetPacketCount, SetWritePacket, GetOutputStreamPresentationPosition,
  GetReadPacket) on a buffer with notification.

Use :func:`make_virtual_system` for a port + virtual miniport on a pure-Python HAL.
"""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

from portdrv.client import AudioClient
from portdrv.filter import (Communication, DataFlow, FilterDescriptor, PinDescriptor,
                            SubdeviceRegistry)
from portdrv.formats import AudioDataRange, normalize_physical_position
from portdrv.hal import RegisterAccess, ResourceList, SoftInterruptLine, SoftPhysicalMemory
from portdrv.ksstate import KSSTATE
from portdrv.memory import CyclicBuffer
from portdrv.status import NTSTATUS
from portdrv.wavecyclic import PortWaveCyclic
from portdrv.wavepci import AllocatorFraming, PortWavePci
from portdrv.wavert import (AudioPosition, DeviceDescription, HwLatency, PortWaveRT,
                            PresentationPosition, ReadPacket)

__all__ = ["VirtualWaveRT", "VirtualWaveCyclic", "VirtualWavePci", "VIRTUAL_MINIPORTS",
           "make_virtual_system", "PIN_RENDER", "PIN_CAPTURE", "TICK_100NS", "PAGE"]

PIN_RENDER, PIN_CAPTURE = 0, 1
PAGE = 4096
#: the virtual hardware's timer: 1 ms
TICK_100NS = 10_000
#: bytes the virtual render DMA reads ahead of what has played (WaveRT)
FIFO_BYTES = 64
#: WaveCyclic common buffer (MSVAD keeps one buffer of this order per stream)
CYCLIC_BUFFER_BYTES = 4 * PAGE * 4
#: WavePci: mappings the virtual engine holds at once
PCI_QUEUE = 8

#: integer PCM, mono or stereo, 8 to 24 bits, 8 to 48 kHz: a software device plays anything
DATA_RANGES = (AudioDataRange(2, 8, 24, 8000, 48000),)


def filter_descriptor():
    """Pin 0 render sink, pin 1 capture sink (one instance each)."""
    return FilterDescriptor((
        PinDescriptor("render", DataFlow.IN, Communication.SINK, DATA_RANGES, 1),
        PinDescriptor("capture", DataFlow.OUT, Communication.SINK, DATA_RANGES, 1),
    ))


class VirtualDevice:
    """One stream's virtual hardware: KSSTATE stepping (jumps refused, as the docs say the
    port steps), a byte clock running only in RUN, and the timer that calls :meth:`tick`."""

    def __init__(self, scheduler, fmt, capture, source):
        self.scheduler = scheduler
        self.fmt = fmt
        self.capture = capture
        self.source = source
        self.state = KSSTATE.STOP
        self.steps = []                  # every SetState the port asked for
        self.dac = bytearray()           # render: what the "DMA" read, in order
        self._frames_before = 0          # frames run before the last RUN
        self._run_start = None
        self._timer_generation = 0
        self.format_calls = []           # SetFormat requests (all refused)

    def elapsed_bytes(self):
        """Bytes the device has run through since the last STOP."""
        frames = self._frames_before
        if self._run_start is not None:
            frames += ((self.scheduler.now_100ns() - self._run_start)
                       * self.fmt.samples_per_sec // 10_000_000)
        return frames * self.fmt.block_align

    async def set_format(self, fmt):
        """IMiniportWaveXxxStream::SetFormat: not supported (SysVAD's answer)."""
        self.format_calls.append(fmt)
        return NTSTATUS.NOT_SUPPORTED

    async def set_state(self, state):
        state = KSSTATE(state)
        self.steps.append(state)
        if abs(int(state) - int(self.state)) > 1:
            return NTSTATUS.INVALID_DEVICE_STATE
        if state == self.state:
            return NTSTATUS.SUCCESS
        self.tick()
        if state == KSSTATE.RUN:
            self._run_start = self.scheduler.now_100ns()
            self._timer_generation += 1
            self.scheduler.spawn(self._timer(self._timer_generation))
        elif self.state == KSSTATE.RUN:
            self._frames_before = self.elapsed_bytes() // self.fmt.block_align
            self._run_start = None
            self._timer_generation += 1
        if state == KSSTATE.STOP:
            self._frames_before = 0
            self.reset()
        self.state = state
        self.tick()
        return NTSTATUS.SUCCESS

    async def _timer(self, generation):
        while True:
            await self.scheduler.sleep_100ns(TICK_100NS)
            if generation != self._timer_generation:
                return
            self.tick()

    def tick(self):
        """Do what the hardware did since the last tick (subclasses)."""

    def reset(self):
        """STOP: forget positions (subclasses)."""

    def source_bytes(self, start, n):
        return bytes(self.source[start:start + n])

    async def close(self):
        self._timer_generation += 1
        self.state = KSSTATE.STOP


class VirtualMiniport:
    """What the three virtual miniports share: Init, the filter descriptor, the source."""

    def __init__(self, seed=7):
        rate = DATA_RANGES[0].max_sample_frequency * 2 * 3       # 1 s of the largest format
        self.source = random.Random(seed).randbytes(4 * rate)     # the "microphone"
        self.streams = []

    async def init(self, port, resources):
        self.port = port
        self.scheduler = resources.scheduler
        self.memory = resources.memory
        return NTSTATUS.SUCCESS

    def get_description(self):
        return filter_descriptor()

    def _pin_ok(self, pin_id, capture):
        return pin_id in (PIN_RENDER, PIN_CAPTURE) and capture == (pin_id == PIN_CAPTURE)


# ---------------------------------------------------------------- WaveRT (SysVAD-like)


class VirtualWaveRTStream(VirtualDevice):
    """IMiniportWaveRTStream(Notification) on a timer: the buffer is pages from the port."""

    def __init__(self, miniport, port_stream, fmt, capture):
        super().__init__(miniport.scheduler, fmt, capture, miniport.source)
        self.port_stream = port_stream
        self.mdl = None
        self.size = 0
        self.buffer = None
        self.notification_count = 0
        self.events = {}                 # id -> registered notification event
        self.freed = []                  # ("audio" | "notification", size)
        self.signalled = 0
        self.reset()

    async def allocate_audio_buffer(self, requested_size):
        return self._allocate(requested_size, 0)

    async def allocate_buffer_with_notification(self, notification_count, requested_size):
        if notification_count not in (1, 2):
            return NTSTATUS.INVALID_PARAMETER, None, 0, 0, None
        return self._allocate(requested_size, notification_count)

    def _allocate(self, requested_size, count):
        if self.mdl is not None or self.state != KSSTATE.STOP:
            return NTSTATUS.INVALID_DEVICE_STATE, None, 0, 0, None
        # whole pages of whole frames, split evenly by the notification points: at least the
        # request (IMiniportWaveRTStream::AllocateAudioBuffer, KSRTAUDIO_BUFFER_PROPERTY)
        unit = math.lcm(PAGE, self.fmt.block_align * max(count, 1))
        size = -(-requested_size // unit) * unit
        if size <= 0:
            return NTSTATUS.INVALID_BUFFER_SIZE, None, 0, 0, None
        mdl = self.port_stream.allocate_pages_for_mdl(size)
        if mdl is None:
            return NTSTATUS.INSUFFICIENT_RESOURCES, None, 0, 0, None
        self.mdl, self.size, self.notification_count = mdl, size, count
        self.buffer = CyclicBuffer(self.port_stream.map_allocated_pages(mdl), 0, size)
        return NTSTATUS.SUCCESS, mdl, size, 0, "cached"

    async def free_audio_buffer(self, mdl, size):
        self._free(mdl, size, "audio")

    async def free_buffer_with_notification(self, mdl, size):
        self._free(mdl, size, "notification")

    def _free(self, mdl, size, how):
        self.freed.append((how, size))
        if mdl is self.mdl:
            self.port_stream.free_pages_from_mdl(mdl)
            self.mdl = self.buffer = None

    def register_notification_event(self, event):
        """KSPROPERTY_RTAUDIO_REGISTER_NOTIFICATION_EVENT: an event registered twice is
        refused."""
        if id(event) in self.events:
            return NTSTATUS.UNSUCCESSFUL
        self.events[id(event)] = event
        return NTSTATUS.SUCCESS

    def unregister_notification_event(self, event):
        return NTSTATUS.SUCCESS if self.events.pop(id(event), None) else NTSTATUS.NOT_FOUND

    def get_hw_latency(self):
        return HwLatency(fifo_size=FIFO_BYTES, chipset_delay=0, codec_delay=0)

    def get_position_register(self):
        return NTSTATUS.NOT_SUPPORTED, None

    def get_clock_register(self):
        return NTSTATUS.NOT_SUPPORTED, None

    async def get_position(self):
        self.tick()
        if self.state == KSSTATE.STOP or self.mdl is None:
            return NTSTATUS.SUCCESS, AudioPosition(0, 0)
        played = self.elapsed_bytes()
        return NTSTATUS.SUCCESS, AudioPosition(played % self.size, self._moved % self.size)

    def reset(self):
        self._moved = 0
        self.written = []                # packet mode: SetWritePacket calls
        self._read = 0                   # packet mode: the next packet GetReadPacket gives

    # ---- packet mode: IMiniportWaveRTOutputStream / IMiniportWaveRTInputStream ------------------

    def _completed(self):
        self.tick()
        return self._moved // (self.size // self.notification_count)

    def get_packet_count(self):
        """GetPacketCount: packets wholly transferred since STOP (1-based count)."""
        if not self.notification_count:
            return NTSTATUS.NOT_SUPPORTED, 0
        return NTSTATUS.SUCCESS, self._completed()

    def set_write_packet(self, number, flags, eos_length):
        """SetWritePacket: packets in order; DATA_LATE_ERROR once the DMA has read it."""
        expected = self.written[-1][0] + 1 if self.written else 0
        if number != expected:
            return NTSTATUS.INVALID_PARAMETER
        self.written.append((number, flags, eos_length))
        return NTSTATUS.DATA_LATE_ERROR if number < self._completed() else NTSTATUS.SUCCESS

    def get_output_stream_presentation_position(self):
        return NTSTATUS.SUCCESS, PresentationPosition(
            self.elapsed_bytes() // self.fmt.block_align, self.scheduler.now_100ns())

    def get_read_packet(self):
        """GetReadPacket: the next stored packet (DEVICE_NOT_READY if none); a packet the
        device overwrote is skipped to the oldest intact one."""
        done = self._completed()
        if self._read >= done:
            return NTSTATUS.DEVICE_NOT_READY, None
        self._read = max(self._read, done - self.notification_count + 1) + 1
        return NTSTATUS.SUCCESS, ReadPacket(self._read - 1, 0, self.scheduler.now_100ns(),
                                            self._read < done)

    def tick(self):
        if self.buffer is None:
            return
        # render: the DMA keeps a FIFO's worth read ahead while it runs
        lead = FIFO_BYTES if not self.capture and self.state == KSSTATE.RUN else 0
        target = max(self._moved, self.elapsed_bytes() + lead)
        old = self._moved
        while self._moved < target:
            n = min(target - self._moved, self.size - self._moved % self.size)
            if self.capture:
                self.buffer.write(self._moved, self.source_bytes(self._moved, n))
            else:
                self.dac += self.buffer.read(self._moved, n)
            self._moved += n
        if self.notification_count and self._moved > old:
            segment = self.size // self.notification_count
            if self._moved // segment > old // segment:
                self.signalled += 1
                for event in self.events.values():
                    event.set()


class VirtualWaveRT(VirtualMiniport):
    """IMiniportWaveRT: no registers, buffers from pages."""

    def get_device_description(self):
        return DeviceDescription(master=True, scatter_gather=True, dma32_bit_addresses=True)

    async def new_stream(self, port_stream, pin_id, capture, fmt):
        if not self._pin_ok(pin_id, capture):
            return NTSTATUS.INVALID_PARAMETER, None
        stream = VirtualWaveRTStream(self, port_stream, fmt, capture)
        self.streams.append(stream)
        return NTSTATUS.SUCCESS, stream


# ---------------------------------------------------------------- WaveCyclic (MSVAD-like)


class VirtualWaveCyclicStream(VirtualDevice):
    """IMiniportWaveCyclicStream on a timer over its DMA channel's common buffer; the
    position is where the virtual DMA has got to in the buffer."""

    def __init__(self, miniport, channel, fmt, capture):
        super().__init__(miniport.scheduler, fmt, capture, miniport.source)
        self.dma_channel = channel
        self.frame_size = 0
        self._moved = 0

    @property
    def _size(self):
        return self.dma_channel.buffer_size

    def _buffer(self):
        return CyclicBuffer(self.dma_channel.system_address, 0, self._size)

    async def set_notification_freq(self, interval_ms):
        """``(interval_ms, frame_size)``: the C method's return value and its FrameSize
        out-parameter (IMiniportWaveCyclicStream::SetNotificationFreq). The buffer becomes a
        whole number of frames of ``frame_size`` bytes (at least two)."""
        align = self.fmt.block_align
        frame = self.fmt.avg_bytes_per_sec * interval_ms // 1000 // align * align
        frames = self.dma_channel.allocated_buffer_size // frame if frame else 0
        if frames < 2:
            return interval_ms, 0
        self.dma_channel.set_buffer_size(frames * frame)
        self.frame_size = frame
        return interval_ms, frame

    async def get_position(self):
        self.tick()
        return NTSTATUS.SUCCESS, self._moved % self._size if self._size else 0

    def normalize_physical_position(self, position):
        return NTSTATUS.SUCCESS, normalize_physical_position(position, self.fmt)

    def silence(self, buffer, count):
        buffer[:count] = bytes([0x80 if self.fmt.bits_per_sample == 8 else 0]) * count

    def reset(self):
        self._moved = 0

    def tick(self):
        target = self.elapsed_bytes()
        buffer = self._buffer()
        while self._moved < target:
            n = min(target - self._moved, self._size - self._moved % self._size)
            if self.capture:
                buffer.write(self._moved, self.source_bytes(self._moved, n))
            else:
                self.dac += buffer.read(self._moved, n)
            self._moved += n


class VirtualWaveCyclic(VirtualMiniport):
    """IMiniportWaveCyclic: a common buffer per stream, no service group."""

    async def new_stream(self, pin_id, capture, fmt):
        if not self._pin_ok(pin_id, capture):
            return NTSTATUS.INVALID_PARAMETER, None, None, None
        status, channel = self.port.new_master_dma_channel(CYCLIC_BUFFER_BYTES)
        if status == NTSTATUS.SUCCESS:
            status = channel.allocate_buffer(CYCLIC_BUFFER_BYTES)
        if status != NTSTATUS.SUCCESS:
            return status, None, None, None
        stream = VirtualWaveCyclicStream(self, channel, fmt, capture)
        self.streams.append(stream)
        # ServiceGroup NULL: the port services the stream on its own timer
        return NTSTATUS.SUCCESS, stream, channel, None


# ---------------------------------------------------------------- WavePci (MSVAD-like)


class VirtualWavePciStream(VirtualDevice):
    """IMiniportWavePciStream on a timer: up to :data:`PCI_QUEUE` mappings held, played or
    filled in order at the byte rate, released in order as each one is done."""

    def __init__(self, miniport, port_stream, fmt, capture):
        super().__init__(miniport.scheduler, fmt, capture, miniport.source)
        self.memory = miniport.memory
        self.port_stream = port_stream
        self.queue = []               # [tag, address, length, done]
        self._next_tag = 0
        self._done = 0                # bytes played (render) or stored (capture)
        self._ran = 0                 # elapsed bytes accounted for
        self.starvations = 0
        self._dry = False
        self.mapping_available_calls = 0
        self.revokes = []

    def get_allocator_framing(self):
        """``(status, framing)``: four packets of 10 ms."""
        size = self.fmt.avg_bytes_per_sec // 100 // self.fmt.block_align * self.fmt.block_align
        return NTSTATUS.SUCCESS, AllocatorFraming(frames=4, frame_size=size)

    async def mapping_available(self):
        self.mapping_available_calls += 1
        self._pull()

    async def service(self):
        """IMiniportWavePciStream::Service (here from the port's own timer)."""
        self.tick()
        self._pull()

    async def revoke_mappings(self, first_tag, last_tag):
        tags = [entry[0] for entry in self.queue]
        if first_tag not in tags or last_tag not in tags:
            return NTSTATUS.SUCCESS, 0
        lo, hi = tags.index(first_tag), tags.index(last_tag)
        self.revokes.append((first_tag, last_tag))
        del self.queue[lo:hi + 1]
        return NTSTATUS.SUCCESS, hi - lo + 1

    async def get_position(self):
        self.tick()
        return NTSTATUS.SUCCESS, self._done

    def normalize_physical_position(self, position):
        return NTSTATUS.SUCCESS, normalize_physical_position(position, self.fmt)

    def reset(self):
        self._done = self._ran = 0
        self._dry = False

    async def set_state(self, state):
        status = await super().set_state(state)
        self._pull()                  # a stream that is not stopped takes mappings
        return status

    def _pull(self):
        while self.state != KSSTATE.STOP and len(self.queue) < PCI_QUEUE:
            status, address, length, _flags = self.port_stream.get_mapping(self._next_tag)
            if status != NTSTATUS.SUCCESS:
                return
            self.queue.append([self._next_tag, address, length, 0])
            self._next_tag += 1
            if self._dry:
                self.starvations += 1         # data came after the engine had run dry
                self._dry = False

    def tick(self):
        budget = self.elapsed_bytes() - self._ran
        self._ran += budget
        while budget > 0 and self.queue:
            entry = self.queue[0]
            tag, address, length, done = entry
            n = min(budget, length - done)
            if self.capture:
                self.memory.write(address + done, self.source_bytes(self._done, n))
            else:
                self.dac += self.memory.read(address + done, n)
            entry[3] += n
            self._done += n
            budget -= n
            if entry[3] == length:
                self.queue.pop(0)
                self.port_stream.release_mapping(tag)
                self._pull()
        if budget > 0 and self._done:
            self._dry = True                  # the engine ran dry: silence meanwhile


class VirtualWavePci(VirtualMiniport):
    """IMiniportWavePci: no service group at Init or per stream."""

    async def init(self, port, resources):
        """IMiniportWavePci::Init: ``(status, None)``: no service group."""
        self.service_calls = 0
        return await super().init(port, resources), None

    def service(self):
        """IMiniportWavePci::Service: never requested without a service group."""
        self.service_calls += 1

    async def new_stream(self, port_stream, pin_id, capture, fmt):
        if not self._pin_ok(pin_id, capture):
            return NTSTATUS.INVALID_PARAMETER, None, None
        stream = VirtualWavePciStream(self, port_stream, fmt, capture)
        self.streams.append(stream)
        return NTSTATUS.SUCCESS, stream, None


#: port class and virtual miniport class by kind
VIRTUAL_MINIPORTS = {
    "wavert": (PortWaveRT, VirtualWaveRT),
    "wavecyclic": (PortWaveCyclic, VirtualWaveCyclic),
    "wavepci": (PortWavePci, VirtualWavePci),
}


class _NoRegisters(RegisterAccess):
    """A device without registers."""

    async def read32(self, offset):
        raise AssertionError("a virtual device has no registers")

    async def write(self, offset, data):
        raise AssertionError("a virtual device has no registers")


async def make_virtual_system(scheduler, kind, memory_bytes=8 << 20):
    """A port of ``kind`` ("wavert", "wavecyclic", "wavepci") bound to its virtual miniport
    and registered as filter "wave", on a pure-Python HAL: ``SimpleNamespace(port, miniport,
    registry, filter, client, memory)``."""
    port_class, miniport_class = VIRTUAL_MINIPORTS[kind]
    memory = SoftPhysicalMemory(memory_bytes)
    resources = ResourceList(_NoRegisters(), SoftInterruptLine(), memory, scheduler)
    port, miniport = port_class(), miniport_class()
    status = await port.init(miniport, resources)
    if status != NTSTATUS.SUCCESS:
        raise RuntimeError(f"virtual {kind} port init failed: {status!r}")
    registry = SubdeviceRegistry()
    registry.register_subdevice("wave", port)
    return SimpleNamespace(port=port, miniport=miniport, registry=registry,
                           filter=registry.filter("wave"), client=AudioClient(registry),
                           memory=memory)
