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
- stream: ``async allocate_buffer_with_notification(count, size)`` and
  ``async allocate_audio_buffer(size) -> (status, mdl, size, offset, cache_type)``,
  ``async free_audio_buffer(mdl, size)``, ``register_notification_event(event)`` /
  ``unregister_notification_event(event) -> status``, ``get_hw_latency() ->``
  :class:`HwLatency`, ``get_position_register()`` / ``get_clock_register() -> (status,``
  :class:`HwRegister`\\ ``)``, ``async get_position() -> (status,`` :class:`AudioPosition`\\ ``)``,
  ``async set_format(fmt) -> status``, ``async set_state(state) -> status``,
  ``async close()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ksstate import KSSTATE, StreamState
from .memory import CyclicBuffer, MappedBuffer, allocate_mdl, free_mdl
from .status import NTSTATUS, nt_success

__all__ = ["PortWaveRT", "PortWaveRTStream", "WaveRTPin", "HwLatency", "HwRegister",
           "AudioPosition", "DeviceDescription", "RegisterMapping"]


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
class AudioPosition:
    """KSAUDIO_POSITION of a WaveRT stream: offsets in the cyclic buffer. For render the play
    offset is what has left the device and the write offset what its DMA has fetched; for
    capture the write offset is what the DMA has stored."""
    play_offset: int
    write_offset: int


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


class PortWaveRT:
    """IPortWaveRT: binds a WaveRT miniport and makes its pins."""

    def __init__(self):
        self.miniport = None
        self.resources = None
        self.descriptor = None
        self.device_description = None

    async def init(self, miniport, resources) -> int:
        """Initialise ``miniport`` with the adapter's resource list; then read its filter
        and device descriptions."""
        if self.miniport is not None:
            return NTSTATUS.INVALID_DEVICE_STATE
        status = await miniport.init(self, resources)
        if not nt_success(status):
            return status
        self.miniport = miniport
        self.resources = resources
        self.descriptor = miniport.get_description()
        self.device_description = miniport.get_device_description()
        return NTSTATUS.SUCCESS

    async def new_pin(self, filter, pin_id, fmt, *, buffer_bytes=None, notifications=2):
        """Create the miniport stream, set its format, allocate the cyclic buffer of
        ``buffer_bytes`` (default 20 ms) with ``notifications`` events per buffer (0 for a
        buffer without notification) and return ``(status, WaveRTPin)``."""
        if notifications not in (0, 1, 2):
            return NTSTATUS.INVALID_PARAMETER, None
        capture = filter.pins[pin_id].capture
        port_stream = PortWaveRTStream(self.resources.memory)
        status, stream = await self.miniport.new_stream(port_stream, pin_id, capture, fmt)
        if not nt_success(status):
            port_stream.free_all()
            return status, None
        pin = WaveRTPin(self, filter, pin_id, capture, fmt, stream, port_stream)
        status = await pin._allocate(buffer_bytes, notifications)
        if not nt_success(status):
            if pin._mdl is not None:
                await stream.free_audio_buffer(pin._mdl, pin.buffer_size)
            await stream.close()
            port_stream.free_all()
            return status, None
        return NTSTATUS.SUCCESS, pin


class WaveRTPin:
    """One open WaveRT pin: its miniport stream, cyclic buffer and audio engine.

    Render: :meth:`write` queues client audio, :meth:`end_of_stream` marks its end and
    :meth:`wait_drained` waits until all of it has been played. Capture: :meth:`read` returns
    what the engine has collected. :meth:`set_state` walks the KSSTATE steps; positions are
    linear byte counts since the stream started.
    """

    def __init__(self, port, filter, pin_id, capture, fmt, stream, port_stream):
        self.port = port
        self.filter = filter
        self.pin_id = pin_id
        self.capture = capture
        self.format = fmt
        self.stream = stream
        self._port_stream = port_stream
        self._scheduler = port.resources.scheduler
        self._state = StreamState()
        self._event = None
        self._mdl = None
        self.buffer = None
        self.buffer_size = 0
        self.notifications = 0
        self._engine_stop = True
        self._engine_idle = None
        self._closed = False
        # client data
        self._queue = bytearray()       # render: not yet in the cyclic buffer; capture: read
        self._eos = False
        self._client_bytes = 0          # render: bytes the client wrote in total
        self._data_end = None           # render: linear position where client data ends
        self._queue_event = self._scheduler.new_event()   # capture data / drained
        # linear positions
        self._reset_positions()
        #: glitches: the hardware overtook the engine (render) or overran it (capture)
        self.glitches = 0
        #: notification events seen by the engine
        self.notifications_seen = 0

    # ---- set-up -------------------------------------------------------------------------------

    async def _allocate(self, buffer_bytes, notifications):
        fmt = self.format
        if buffer_bytes is None:
            buffer_bytes = fmt.avg_bytes_per_sec // 50       # 20 ms
        status = await self.stream.set_format(fmt)
        if not nt_success(status):
            return status
        if notifications:
            result = await self.stream.allocate_buffer_with_notification(notifications,
                                                                        buffer_bytes)
        else:
            result = await self.stream.allocate_audio_buffer(buffer_bytes)
        status, mdl, size, offset, _cache = result
        if not nt_success(status):
            return status
        self._mdl = mdl
        self.buffer_size = size
        self.buffer = CyclicBuffer(self._port_stream.map_allocated_pages(mdl), offset, size)
        self.notifications = notifications
        if notifications:
            self._event = self._scheduler.new_event()
            status = self.stream.register_notification_event(self._event)
            if not nt_success(status):
                return status
        return NTSTATUS.SUCCESS

    # ---- properties -----------------------------------------------------------------------------

    @property
    def state(self) -> KSSTATE:
        return self._state.state

    def get_hw_latency(self) -> HwLatency:
        return self.stream.get_hw_latency()

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

    async def get_position(self):
        """``(play, write)`` linear byte positions since the stream started."""
        await self._update_positions()
        return self._play, self._dma

    async def get_offsets(self):
        """The miniport's :class:`AudioPosition` (cyclic offsets) as is."""
        return await self.stream.get_position()

    # ---- state ----------------------------------------------------------------------------------

    async def set_state(self, target) -> int:
        """Go to ``target`` one KSSTATE step at a time; returns the first failing status."""
        if self._closed:
            return NTSTATUS.INVALID_DEVICE_STATE
        try:
            target = KSSTATE(target)
        except ValueError:
            return NTSTATUS.INVALID_PARAMETER
        return await self._state.set_state_async(target, self._step)

    async def _step(self, state):
        previous = self._state.state
        if state == KSSTATE.RUN:
            if not self.capture:
                await self._update_positions()
                self._transfer_render()          # prefill before the hardware starts
            status = await self.stream.set_state(state)
            if nt_success(status):
                self._last_update = self._scheduler.now_100ns()
                self._engine_stop = False
                self._engine_idle = self._scheduler.new_event()
                self._scheduler.spawn(self._engine_loop())
            return status
        status = await self.stream.set_state(state)
        if not nt_success(status):
            return status
        if previous == KSSTATE.RUN:
            # the hardware has stopped: stop the engine and wait until it is idle
            self._engine_stop = True
            if self._event is not None:
                self._event.set()
            await self._engine_idle.wait()
            await self._update_positions()
        if state == KSSTATE.STOP:
            self._reset_positions()
            self._flush()
        return status

    async def close(self):
        """STOP, free the buffer, close the miniport stream and give the instance back."""
        if self._closed:
            return
        await self.set_state(KSSTATE.STOP)
        self._closed = True
        if self._event is not None:
            self.stream.unregister_notification_event(self._event)
        if self._mdl is not None:
            await self.stream.free_audio_buffer(self._mdl, self.buffer_size)
            self._mdl = None
        await self.stream.close()
        self._port_stream.free_all()
        self.filter.pin_closed(self.pin_id)

    # ---- client data ---------------------------------------------------------------------------

    def write(self, data):
        """Queue render audio (whole frames)."""
        if self.capture:
            return NTSTATUS.INVALID_DEVICE_REQUEST
        if self._eos:
            return NTSTATUS.INVALID_DEVICE_STATE
        if len(data) % self.format.block_align:
            return NTSTATUS.INVALID_PARAMETER
        self._queue += data
        self._client_bytes += len(data)
        return NTSTATUS.SUCCESS

    def end_of_stream(self):
        """No more render data will come; :meth:`wait_drained` then waits for the end."""
        self._eos = True

    @property
    def played_all(self) -> bool:
        return self._data_end is not None and self._play >= self._data_end

    async def wait_drained(self):
        """Wait until every byte written has left the device (render, after end_of_stream)."""
        while not self.played_all:
            self._queue_event.clear()
            await self._queue_event.wait()

    def available(self) -> int:
        """Capture bytes collected and not yet read."""
        return len(self._queue) if self.capture else 0

    async def read(self, n):
        """Up to ``n`` bytes of captured audio, waiting until at least one frame is there."""
        if not self.capture:
            raise ValueError("read on a render pin")
        while not self._queue:
            self._queue_event.clear()
            await self._queue_event.wait()
        n = min(n, len(self._queue))
        n -= n % self.format.block_align
        data = bytes(self._queue[:n])
        del self._queue[:n]
        return data

    # ---- the engine ---------------------------------------------------------------------------

    def _reset_positions(self):
        self._play = 0            # linear play (link) position
        self._dma = 0             # linear DMA position
        self._done = 0            # render: bytes written into the buffer; capture: read out
        self._last_update = None

    def _flush(self):
        """STOP discards what the client queued (render) or has not read (capture)."""
        self._queue.clear()
        self._eos = False
        self._data_end = None
        self._client_bytes = 0

    def _unwrap(self, linear, offset, elapsed_bytes):
        """The linear position whose cyclic offset is ``offset``, at or after ``linear`` and
        nearest to ``linear + elapsed_bytes`` (so a wait longer than the buffer still counts
        the laps the hardware made)."""
        size = self.buffer_size
        candidate = linear + (offset - linear) % size
        laps = max(0, round((linear + elapsed_bytes - candidate) / size))
        return candidate + laps * size

    async def _update_positions(self):
        status, pos = await self.stream.get_position()
        if not nt_success(status):
            return status
        now = self._scheduler.now_100ns()
        elapsed = 0
        if self._last_update is not None and self.state == KSSTATE.RUN:
            elapsed = (now - self._last_update) * self.format.avg_bytes_per_sec // 10_000_000
        self._last_update = now
        self._play = self._unwrap(self._play, pos.play_offset, elapsed)
        self._dma = max(self._dma, self._unwrap(self._dma, pos.write_offset, elapsed),
                        self._play)
        if not self.capture and self.played_all:
            self._queue_event.set()
        return NTSTATUS.SUCCESS

    async def _engine_loop(self):
        """Wake on each notification (two per buffer) or on a quarter-buffer timer (buffers
        with one or no notification: one wake per lap leaves no margin), then transfer."""
        period = max(1, self.buffer_size * 10_000_000 // self.format.avg_bytes_per_sec // 4)
        use_timer = self.notifications < 2
        try:
            while True:
                if use_timer:
                    await self._scheduler.sleep_100ns(period)
                else:
                    await self._event.wait()
                if self._engine_stop or self._closed:
                    break
                if self._event is not None and self._event.is_set():
                    self._event.clear()
                    self.notifications_seen += 1
                await self._update_positions()
                if self._engine_stop or self._closed:
                    break
                if self.capture:
                    self._transfer_capture()
                else:
                    self._transfer_render()
        finally:
            self._engine_idle.set()

    def _transfer_render(self):
        """Write client audio ahead of the DMA position, silence past the end of it."""
        align = self.format.block_align
        size = self.buffer_size
        if self._dma > self._done:
            # the hardware fetched bytes nobody wrote in time: a glitch; skip past them
            if self._data_end is None or self._done < self._data_end:
                self.glitches += 1
            self._done = -(-self._dma // align) * align
        limit = self._dma + size
        n = (limit - self._done) // align * align
        take = min(n, len(self._queue))
        if take:
            self.buffer.write(self._done, self._queue[:take])
            del self._queue[:take]
            self._done += take
        if self._eos and not self._queue and self._data_end is None:
            self._data_end = self._done
        # silence where nothing is written yet, so a starving stream plays zeros, not old data
        gap = limit - self._done
        if gap > 0:
            self.buffer.write(self._done, bytes(min(gap, size)))
        if self.played_all:
            self._queue_event.set()

    def _transfer_capture(self):
        """Collect what the DMA has stored since the last pass."""
        align = self.format.block_align
        size = self.buffer_size
        if self._dma - self._done > size:
            # overwritten before we read it: a glitch; keep the newest half buffer
            self.glitches += 1
            self._done = (self._dma - size // 2) // align * align
        n = (self._dma - self._done) // align * align
        if n:
            self._queue += self.buffer.read(self._done, n)
            self._done += n
            self._queue_event.set()
