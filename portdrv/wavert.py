"""The WaveRT port driver: IPortWaveRT, IPortWaveRTStream services, pins and the audio engine.

A WaveRT miniport only allocates a cyclic buffer the hardware loops over and reports positions;
everything that moves audio is the client side's job. Here that role (Windows' audio engine)
lives in :class:`WaveRTPin`: for render it writes client audio into the cyclic buffer ahead of
the hardware's DMA position, for capture it reads behind it, woken by the miniport's
notification events (or a timer when the buffer has none). Positions are tracked as linear
byte counts from the start of the stream, unwrapped from the miniport's cyclic offsets.

Glitches: if the hardware fetches data the engine had not written yet (render) or overwrites
data not yet read (capture), the pin counts a glitch, resynchronises and carries on.

Miniport contract (duck-typed, statuses as values):

- miniport: ``async init(port, resources) -> status``, ``get_description() ->``
  :class:`~portdrv.filter.FilterDescriptor`, ``get_device_description() ->``
  :class:`DeviceDescription`, ``async new_stream(port_stream, pin_id, capture, fmt) ->
  (status, stream)``, optional ``data_range_intersection(pin_id, client, range, size)``.
- stream (its initial format is NewStream's ``fmt``; ``set_format`` is only called for a
  later change, KSPROPERTY_CONNECTION_DATAFORMAT on a stopped pin):
  ``async allocate_buffer_with_notification(count, size)`` and
  ``async allocate_audio_buffer(size) -> (status, mdl, size, offset, cache_type)`` (``size``
  at least the requested size, rounded up to what the hardware needs),
  ``async free_audio_buffer(mdl, size)`` / ``async free_buffer_with_notification(mdl,
  size)`` (whichever allocated it), ``register_notification_event(event)`` /
  ``unregister_notification_event(event) -> status``, ``get_hw_latency() ->``
  :class:`HwLatency`, ``get_position_register()`` / ``get_clock_register() -> (status,``
  :class:`HwRegister`\\ ``)``, ``async get_position() -> (status,`` :class:`AudioPosition`\\ ``)``,
  ``async set_format(fmt) -> status``, ``async set_state(state) -> status``,
  ``async close()``.
- packet mode (optional; IMiniportWaveRTOutputStream / IMiniportWaveRTInputStream on a
  buffer with notification, one packet per notification segment):
  render (IMiniportWaveRTOutputStream): ``get_packet_count() -> (status, packets completely
  transferred since STOP)`` (1-based: with count 5, packet 5 is in progress and the client
  writes packet 6),
  ``set_write_packet(number, flags, eos_length) -> status`` (DATA_LATE_ERROR for a packet
  the hardware has already fetched), ``get_output_stream_presentation_position()`` ->
  (status, :class:`PresentationPosition`); capture: ``get_read_packet()`` -> (status,
  :class:`ReadPacket`) (DEVICE_NOT_READY when no new packet is complete). The C
  methods' out-parameters come back in the answer tuple. Any may be a coroutine.

Packet mode (Windows 10's low-latency path): the client opens with ``packet_mode`` and the
pin's engine, woken at each packet's notification, reads GetPacketCount, writes each packet
the hardware will fetch next into its slot of the buffer and tells the miniport with
SetWritePacket (render; the end of stream with its flag and length), or takes each packet
GetReadPacket hands over (capture).
"""

from __future__ import annotations

from dataclasses import dataclass

from .cyclic import CyclicBufferPin
from .ksstate import KSSTATE
from .port import Port, call_miniport
from .properties import (AudioPosition, AudioProperty, PropertyItem, PropertyVerb,
                         RtAudioProperty)
from .memory import CyclicBuffer, MappedBuffer, allocate_mdl, free_mdl
from .status import NTSTATUS, nt_success

__all__ = ["PortWaveRT", "PortWaveRTStream", "WaveRTPin", "RtAudioBuffer", "HwLatency",
           "HwRegister", "PresentationPosition", "ReadPacket", "PACKET_FLAG_END_OF_STREAM",
           "AudioPosition", "DeviceDescription", "RegisterMapping"]


#: SetWritePacket's flag for the packet holding the end of the stream
#: (KSSTREAM_HEADER_OPTIONSF_ENDOFSTREAM)
PACKET_FLAG_END_OF_STREAM = 0x200


@dataclass(frozen=True)
class HwLatency:
    """KSRTAUDIO_HWLATENCY: FIFO size in bytes, chipset and codec delays in 100-ns units."""
    fifo_size: int
    chipset_delay: int
    codec_delay: int


@dataclass(frozen=True)
class HwRegister:
    """KSRTAUDIO_HWREGISTER: a register a client may read directly. ``register`` is its byte
    offset in the device's register window; ``width`` in bits; ``accuracy`` in bytes for a
    position register; a clock register has its frequency as ``numerator / denominator`` Hz."""
    register: int
    width: int
    accuracy: int
    numerator: int = 0
    denominator: int = 0


@dataclass(frozen=True)
class PresentationPosition:
    """KSAUDIO_PRESENTATION_POSITION: frames (blocks) presented since the stream started and
    the HAL time (100 ns, our QueryPerformanceCounter) they were sampled at."""
    position_in_blocks: int
    time_100ns: int


@dataclass(frozen=True)
class ReadPacket:
    """IMiniportWaveRTInputStream::GetReadPacket's out-parameters: the packet number, its
    flags, the HAL time it was captured (PerformanceCounterValue) and whether a newer packet
    is ready too (MoreData)."""
    number: int
    flags: int
    time_100ns: int
    more_data: bool


@dataclass(frozen=True)
class DeviceDescription:
    """The DEVICE_DESCRIPTION fields a WaveRT miniport reports."""
    master: bool
    scatter_gather: bool
    dma32_bit_addresses: bool
    dma64_bit_addresses: bool = False
    maximum_length: int = 0


class PortWaveRTStream:
    """IPortWaveRTStream: the memory services a miniport stream allocates its buffer with."""

    def __init__(self, memory):
        self._memory = memory
        self._mdls = []

    def allocate_pages_for_mdl(self, size):
        """``size`` bytes on pages that need not be contiguous; None when out of memory."""
        mdl = allocate_mdl(self._memory, size)
        if mdl is not None:
            self._mdls.append(mdl)
        return mdl

    def allocate_contiguous_pages_for_mdl(self, low, high, size):
        """``size`` contiguous bytes between physical addresses ``low`` and ``high``."""
        rejected = []
        try:
            while True:
                mdl = allocate_mdl(self._memory, size, contiguous=True)
                if mdl is None:
                    return None
                if mdl.pages[0] >= low and mdl.pages[-1] + mdl.page_size - 1 <= high:
                    self._mdls.append(mdl)
                    return mdl
                rejected.append(mdl)    # held so the next try finds another run
        finally:
            for mdl in rejected:
                free_mdl(self._memory, mdl)

    def map_allocated_pages(self, mdl, cache_type=None):
        return MappedBuffer(self._memory, mdl)

    def unmap_allocated_pages(self, mapping):
        mapping.mdl = None

    def get_physical_pages_count(self, mdl):
        return mdl.page_count

    def get_physical_page_address(self, mdl, index):
        if not 0 <= index < mdl.page_count:
            raise IndexError(f"page {index} of an MDL of {mdl.page_count} pages")
        return mdl.pages[index]

    def free_pages_from_mdl(self, mdl):
        if mdl in self._mdls:
            self._mdls.remove(mdl)
        free_mdl(self._memory, mdl)

    def free_all(self):
        for mdl in list(self._mdls):
            self.free_pages_from_mdl(mdl)


class RegisterMapping:
    """A hardware register mapped for a client to read directly (what KSPROPERTY_RTAUDIO_*
    REGISTER gives an application): reading takes one bus access, no driver involved."""

    def __init__(self, registers, hw_register: HwRegister):
        self._registers = registers
        self.hw_register = hw_register

    async def read(self) -> int:
        reg = self.hw_register
        first = reg.register & ~3
        shift = 8 * (reg.register & 3)
        words = -(-(shift + reg.width) // 32)
        value = 0
        for i in range(words):
            value |= await self._registers.read32(first + 4 * i) << (32 * i)
        return (value >> shift) & ((1 << reg.width) - 1)


class PortWaveRT(Port):
    """IPortWaveRT: binds a WaveRT miniport and makes its pins."""

    async def new_pin(self, filter, pin_id, fmt):
        """Create the miniport stream with the pin's format; returns ``(status, WaveRTPin)``.
        The pin has no buffer yet: the client allocates it with KSPROPERTY_RTAUDIO_BUFFER
        or KSPROPERTY_RTAUDIO_BUFFER_WITH_NOTIFICATION (:meth:`WaveRTPin.allocate_buffer`)
        before the pin can leave STOP."""
        capture = filter.pins[pin_id].capture
        port_stream = PortWaveRTStream(self.resources.memory)
        # the initial format goes to NewStream; no SetFormat follows (IMiniportWaveRT::
        # NewStream, IMiniportWaveRTStream::SetFormat)
        status, stream = await self.miniport.new_stream(port_stream, pin_id, capture, fmt)
        if not nt_success(status):
            port_stream.free_all()
            return status, None
        return NTSTATUS.SUCCESS, WaveRTPin(self, filter, pin_id, capture, fmt, stream,
                                           port_stream)


@dataclass(frozen=True)
class RtAudioBuffer:
    """KSRTAUDIO_BUFFER: the cyclic buffer as the client sees it (its mapping) and its
    actual size in bytes."""
    buffer: CyclicBuffer
    actual_size: int


class WaveRTPin(CyclicBufferPin):
    """One open WaveRT pin: its miniport stream, the cyclic buffer it allocated through the
    port's :class:`PortWaveRTStream`, notification events and register mappings."""

    def __init__(self, port, filter, pin_id, capture, fmt, stream, port_stream):
        super().__init__(port, filter, pin_id, capture, fmt, stream)
        self._port_stream = port_stream
        self._mdl = None
        self._with_notification = False
        self._client_events = []       # notification events clients registered
        self.notifications = 0
        self.packet_mode = False
        #: packet mode: packets handed over (SetWritePacket) or taken (GetReadPacket)
        self.packets_transferred = 0

    # ---- set-up -------------------------------------------------------------------------------

    async def allocate_buffer(self, requested_bytes, notifications=0):
        """KSPROPERTY_RTAUDIO_BUFFER (``notifications`` 0) or _BUFFER_WITH_NOTIFICATION (1
        or 2 events per lap): the miniport allocates the cyclic buffer (at least
        ``requested_bytes``, IMiniportWaveRTStream::AllocateAudioBuffer). A previous buffer
        is given back first; only in STOP (INVALID_DEVICE_STATE otherwise).
        ``(status, RtAudioBuffer)``."""
        if self.state != KSSTATE.STOP or self._closed:
            return NTSTATUS.INVALID_DEVICE_STATE, None
        if notifications not in (0, 1, 2):
            return NTSTATUS.INVALID_PARAMETER, None
        await self._free_buffer()
        status = await self._allocate(requested_bytes, notifications)
        if not nt_success(status):
            await self._free_buffer()
            return status, None
        return status, RtAudioBuffer(self.buffer, self.buffer_size)

    async def _allocate(self, buffer_bytes, notifications):
        if notifications:
            result = await self.stream.allocate_buffer_with_notification(notifications,
                                                                        buffer_bytes)
        else:
            result = await self.stream.allocate_audio_buffer(buffer_bytes)
        status, mdl, size, offset, _cache = result
        if not nt_success(status):
            return status
        self._mdl = mdl
        self._with_notification = bool(notifications)
        self.buffer_size = size
        self.buffer = CyclicBuffer(self._port_stream.map_allocated_pages(mdl), offset, size)
        self.notifications = notifications
        self.wake_period = 0
        self._set_wake_period()
        if notifications:
            status = self.stream.register_notification_event(self._wake)
            if not nt_success(status):
                return status
        return NTSTATUS.SUCCESS

    async def _step(self, state):
        if state == KSSTATE.ACQUIRE and self.state == KSSTATE.STOP and self._mdl is None:
            return NTSTATUS.INVALID_DEVICE_STATE    # KSPROPERTY_RTAUDIO_BUFFER comes first
        return await super()._step(state)

    # ---- packet mode ---------------------------------------------------------------------------

    @property
    def packet_mode_supported(self) -> bool:
        """Whether the miniport stream has the packet interfaces for this direction."""
        names = (("get_read_packet",) if self.capture else
                 ("get_packet_count", "set_write_packet",
                  "get_output_stream_presentation_position"))
        return all(callable(getattr(self.stream, n, None)) for n in names)

    def set_packet_mode(self, enabled) -> int:
        """Stream in packets (see the module docstring): only in STOP, on a buffer with
        notification, with a miniport that has the packet interfaces (NOT_SUPPORTED)."""
        if self.state != KSSTATE.STOP:
            return NTSTATUS.INVALID_DEVICE_STATE
        if enabled and not self.packet_mode_supported:
            return NTSTATUS.NOT_SUPPORTED
        if enabled and not self.notifications:
            return NTSTATUS.INVALID_DEVICE_REQUEST
        self.packet_mode = bool(enabled)
        return NTSTATUS.SUCCESS

    @property
    def packet_bytes(self) -> int:
        return self.buffer_size // self.notifications if self.notifications else 0

    def _reset_positions(self):
        super()._reset_positions()
        self._next_packet = 0          # render: next to write; capture: next to read
        self._eos_packet = None        # render: the packet that carried the end of stream

    async def _transfer(self):
        if not self.packet_mode:
            return await super()._transfer()
        if self.capture:
            return await self._read_packets()
        return await self._write_packets()

    async def _write_packets(self):
        """Write every packet the hardware will fetch before the next notification: those
        below the completed count plus the packets per buffer; SetWritePacket each. A packet
        the client has not filled yet waits unless the hardware is already fetching it (a
        glitch: what there is, then silence)."""
        status, completed = await call_miniport(self.stream.get_packet_count)
        if not nt_success(status):
            return
        per_buffer, size = self.notifications, self.packet_bytes
        if self._next_packet < completed:
            self.glitches += 1                 # fetched before we wrote it
            self._next_packet = completed
        while self._next_packet < completed + per_buffer:
            number = self._next_packet
            offset = number % per_buffer * size
            if self._eos_packet is not None:   # after the end: silence, no SetWritePacket
                self.buffer.write(offset, self._silence(size))
                self._next_packet += 1
                continue
            eos = self._packets.eos_queued and self._packets.pending_bytes <= size
            if not eos and self._packets.pending_bytes < size:
                if number > completed:
                    break                      # the hardware is not there yet: wait
                self.glitches += 1
            data = self._packets.take(size)
            self.buffer.write(offset, data + self._silence(size - len(data)))
            self._log_write(number * size)
            flags = PACKET_FLAG_END_OF_STREAM if eos else 0
            status = await call_miniport(self.stream.set_write_packet, number, flags,
                                         len(data) if eos else 0)
            if status == NTSTATUS.DATA_LATE_ERROR:
                self.glitches += 1
            self.packets_transferred += 1
            self._next_packet += 1
            if eos:
                self._eos_packet = number
                self._data_end = number * size + len(data)
        if self.played_all:
            self._client_event.set()

    async def _read_packets(self):
        """Take every packet GetReadPacket hands over, oldest first (a gap in the numbers is
        a glitch: those packets were overwritten before we read them)."""
        size = self.packet_bytes
        while True:
            status, packet = await call_miniport(self.stream.get_read_packet)
            if not nt_success(status):
                return
            if packet.number > self._next_packet:
                self.glitches += 1
            self._captured += self.buffer.read(packet.number % self.notifications * size,
                                               size)
            self._next_packet = packet.number + 1
            self.packets_transferred += 1
            self._client_event.set()
            if not packet.more_data:
                return

    async def get_packet_count(self):
        """KSPROPERTY_RTAUDIO_PACKETCOUNT: ``(status, packets completed)``."""
        if not callable(getattr(self.stream, "get_packet_count", None)):
            return NTSTATUS.NOT_SUPPORTED, None
        return await call_miniport(self.stream.get_packet_count)

    async def get_presentation_position(self):
        """KSPROPERTY_RTAUDIO_PRESENTATION_POSITION: ``(status, PresentationPosition)``."""
        if self.capture or not self.packet_mode_supported:
            return NTSTATUS.NOT_SUPPORTED, None
        return await call_miniport(self.stream.get_output_stream_presentation_position)

    def _set_wake_period(self):
        if self._mdl is not None and self.notifications < 2:
            # one wake per lap leaves no margin: a quarter-buffer timer drives the engine
            self.wake_period = max(1, self.buffer_size * 10_000_000
                                   // self.format.avg_bytes_per_sec // 4)

    async def _format_changed(self):
        self._set_wake_period()
        return NTSTATUS.SUCCESS

    # ---- KS properties (KSPROPSETID_RtAudio, KSPROPERTY_AUDIO_LATENCY) --------------------

    def _property_items(self):
        get = PropertyVerb.GET
        return super()._property_items() + [
            PropertyItem(AudioProperty.LATENCY, get, self._latency_property),
            PropertyItem(RtAudioProperty.BUFFER, get, self._buffer_property),
            PropertyItem(RtAudioProperty.BUFFER_WITH_NOTIFICATION, get, self._buffer_property),
            PropertyItem(RtAudioProperty.POSITIONREGISTER, get, self._register_property),
            PropertyItem(RtAudioProperty.CLOCKREGISTER, get, self._register_property),
            PropertyItem(RtAudioProperty.HWLATENCY, get, self._hw_latency_property),
            PropertyItem(RtAudioProperty.REGISTER_NOTIFICATION_EVENT, get,
                         self._notification_event_property),
            PropertyItem(RtAudioProperty.UNREGISTER_NOTIFICATION_EVENT, get,
                         self._notification_event_property),
            PropertyItem(RtAudioProperty.PACKETCOUNT, get,
                         lambda request: self.get_packet_count()),
            PropertyItem(RtAudioProperty.PRESENTATION_POSITION, get,
                         lambda request: self.get_presentation_position()),
        ]

    async def _buffer_property(self, request):
        """KSPROPERTY_RTAUDIO_BUFFER (value: the requested size) and
        KSPROPERTY_RTAUDIO_BUFFER_WITH_NOTIFICATION (value: (size, notification count))."""
        if request.property == RtAudioProperty.BUFFER:
            return await self.allocate_buffer(request.value, 0)
        size, count = request.value
        if count not in (1, 2):
            return NTSTATUS.INVALID_PARAMETER, None
        return await self.allocate_buffer(size, count)

    async def _register_property(self, request):
        """KSPROPERTY_RTAUDIO_POSITIONREGISTER / CLOCKREGISTER: a RegisterMapping."""
        if request.property == RtAudioProperty.POSITIONREGISTER:
            return self.position_register()
        return self.clock_register()

    async def _hw_latency_property(self, request):
        return NTSTATUS.SUCCESS, self.get_hw_latency()

    async def _latency_property(self, request):
        """KSPROPERTY_AUDIO_LATENCY in 100-ns units: the FIFO at the stream's byte rate plus
        the chipset and codec delays the miniport reports (KSRTAUDIO_HWLATENCY)."""
        hw = self.get_hw_latency()
        fifo = hw.fifo_size * 10_000_000 // self.format.avg_bytes_per_sec
        return NTSTATUS.SUCCESS, fifo + hw.chipset_delay + hw.codec_delay

    async def _notification_event_property(self, request):
        """KSPROPERTY_RTAUDIO_(UN)REGISTER_NOTIFICATION_EVENT: a client's event, signalled at
        the buffer's notification points; only on a buffer allocated with notification
        (INVALID_DEVICE_REQUEST otherwise)."""
        event = request.value
        if not self.notifications:
            return NTSTATUS.INVALID_DEVICE_REQUEST, None
        if request.property == RtAudioProperty.REGISTER_NOTIFICATION_EVENT:
            status = self.stream.register_notification_event(event)
            if nt_success(status):
                self._client_events.append(event)
            return status, None
        if event not in self._client_events:
            return NTSTATUS.NOT_FOUND, None
        self._client_events.remove(event)
        return self.stream.unregister_notification_event(event), None

    # ---- properties -----------------------------------------------------------------------------

    def get_hw_latency(self) -> HwLatency:
        return self.stream.get_hw_latency()

    def _fifo_bytes(self):
        return self.stream.get_hw_latency().fifo_size

    def position_register(self):
        """``(status, RegisterMapping)`` of the stream's position register."""
        return self._map(self.stream.get_position_register())

    def clock_register(self):
        """``(status, RegisterMapping)`` of the device clock register."""
        return self._map(self.stream.get_clock_register())

    def _map(self, answer):
        status, reg = answer
        if not nt_success(status):
            return status, None
        return status, RegisterMapping(self.port.resources.registers, reg)

    async def get_offsets(self):
        """The miniport's :class:`AudioPosition` (cyclic offsets) as is."""
        return await self.stream.get_position()

    async def _hw_offsets(self):
        status, pos = await self.stream.get_position()
        if not nt_success(status):
            return status, 0, 0
        return status, pos.play_offset, pos.write_offset

    async def _release(self):
        await self._free_buffer()
        await self.stream.close()
        self._port_stream.free_all()

    async def _free_buffer(self):
        """Give the buffer back the way it was allocated: FreeBufferWithNotification for one
        from AllocateBufferWithNotification, else FreeAudioBuffer
        (IMiniportWaveRTStreamNotification::FreeBufferWithNotification); the notification
        events registered on it go first."""
        if self._mdl is None:
            return
        if self.notifications:
            for event in [self._wake] + self._client_events:
                self.stream.unregister_notification_event(event)
            self._client_events.clear()
        if self._with_notification:
            await self.stream.free_buffer_with_notification(self._mdl, self.buffer_size)
        else:
            await self.stream.free_audio_buffer(self._mdl, self.buffer_size)
        self._mdl = None
        self.buffer = None
        self.notifications = 0
