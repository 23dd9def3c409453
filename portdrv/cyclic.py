"""The part every cyclic-buffer port shares (WaveRT and WaveCyclic): a pin whose hardware loops
over a buffer while the port's engine writes client audio ahead of the hardware position
(render) or reads behind it (capture).

Glitches: if the hardware fetches data the engine had not written yet (render: the client or
the engine was late, silence plays) or overwrites data not yet read (capture), the pin counts a
glitch, resynchronises and carries on. Positions are linear byte counts from the stream start,
unwrapped from the hardware's cyclic offsets with the elapsed time, so a wait longer than the
buffer still counts the laps.
"""

from __future__ import annotations

from .ksstate import KSSTATE
from .packets import Packet, PacketQueue
from .port import Pin
from .status import NTSTATUS, nt_success

__all__ = ["CyclicBufferPin"]


#: buffers at least this many hardware FIFOs long keep fetched, unplayed audio (see
#: :meth:`CyclicBufferPin._transfer_render`)
KEEP_FETCHED_FIFOS = 4


class CyclicBufferPin(Pin):
    """A pin whose hardware loops over a cyclic buffer: KSSTATE stepping through the miniport
    stream, client packets, linear positions and the transfer engine.

    Render: :meth:`write` queues a client packet, :meth:`end_of_stream` queues the last one and
    :meth:`wait_drained` waits until all of it has been played. Capture: :meth:`read` returns
    what the engine has collected. Positions are linear byte counts since the stream started.

    A subclass sets :attr:`buffer` (a :class:`~portdrv.memory.CyclicBuffer`),
    :attr:`buffer_size` and :attr:`wake_period` (0: wake only on :attr:`_wake`), may override
    :meth:`_silence`, and implements ``async _hw_offsets() -> (status, play, fetch)``
    (cyclic offsets of the hardware's play position and of how far its DMA has fetched or
    stored; ``fetch`` None means the hardware does not say, and :meth:`_fetch_lead` estimates
    it from the play position) and ``async _release()`` (free what the pin holds at close).
    """

    def __init__(self, port, filter, pin_id, capture, fmt, stream):
        super().__init__(port, filter, pin_id, capture, fmt, stream)
        self._wake = self._scheduler.new_event()    # set by a notification or a DPC
        self.buffer = None
        self.buffer_size = 0
        self.wake_period = 0
        self._engine_stop = True
        self._engine_idle = None
        # client data
        self._packets = PacketQueue()   # render packets not yet in the cyclic buffer
        self._captured = bytearray()    # capture data not yet read
        self._data_end = None           # render: linear position where client data ends
        self._client_event = self._scheduler.new_event()  # capture data / drained
        self._reset_positions()
        #: glitches: the hardware overtook the engine (render) or overran it (capture)
        self.glitches = 0
        #: bytes the glitches cost: what the hardware played instead of the client's next
        #: data (render: silence, or the previous lap if the buffer was full), or captured
        #: data dropped unread (capture)
        self.glitch_bytes = 0
        #: device errors (a bus error stopped the hardware) the pin restarted the stream after
        self.device_errors = 0
        self._restarting = self._stepping = False
        self._restarted = None         # set when a restart after a device error has ended
        #: wake-ups by the notification event or DPC
        self.notifications_seen = 0
        #: None, or a list the engine appends (linear byte offset, HAL time) to each time it
        #: puts client audio in the buffer (render)
        self.write_log = None
        #: HAL time the pin last entered RUN
        self.run_started_100ns = None

    async def get_position(self):
        """``(play, write)`` linear byte positions since the stream started."""
        await self._update_positions()
        return self._play, self._dma

    # ---- state ----------------------------------------------------------------------------------

    async def _step(self, state):
        """One KSSTATE step; never while the engine restarts the stream after a device error
        (both step the miniport stream), nor does a restart begin meanwhile."""
        self._stepping = True
        try:
            if self._restarting:
                await self._restarted.wait()
            return await self._step_stream(state)
        finally:
            self._stepping = False

    async def _step_stream(self, state):
        previous = self._state.state
        if state == KSSTATE.RUN:
            if not self.capture:
                await self._update_positions()
                await self._transfer()           # prefill before the hardware starts
            status = await self.stream.set_state(state)
            if nt_success(status):
                self._last_update = self.run_started_100ns = self._scheduler.now_100ns()
                self._engine_stop = False
                self._wake.clear()
                self._engine_idle = self._scheduler.new_event()
                self._scheduler.spawn(self._engine_loop())
            return status
        status = await self.stream.set_state(state)
        if not nt_success(status):
            return status
        if previous == KSSTATE.RUN:
            # the hardware has stopped: stop the engine and wait until it is idle
            self._engine_stop = True
            self._wake.set()
            await self._engine_idle.wait()
            await self._update_positions()
        if state == KSSTATE.STOP:
            self._reset_positions()
            self._flush()
        return status

    # ---- client data ---------------------------------------------------------------------------

    def write(self, data, end_of_stream=False):
        """Queue a render packet of whole frames; returns ``(status, packet)`` (PENDING until
        the packet has been consumed)."""
        if self.capture:
            return NTSTATUS.INVALID_DEVICE_REQUEST, None
        if self._packets.eos_queued:
            return NTSTATUS.INVALID_DEVICE_STATE, None
        if len(data) % self.format.block_align:
            return NTSTATUS.INVALID_PARAMETER, None
        try:
            memory = self.port.resources.client_memory or self._memory
            packet = Packet(memory, self._scheduler, len(data), data, end_of_stream)
        except MemoryError:
            return NTSTATUS.INSUFFICIENT_RESOURCES, None
        return self._packets.submit(packet), packet

    async def cancel(self, packet):
        """Cancel a render packet the engine has not started copying (IoCancelIrp):
        CANCELLED; NOT_FOUND if it is not queued, or already partly in the buffer."""
        if packet.done:
            return NTSTATUS.NOT_FOUND
        status = self._packets.cancel(packet)
        if status == NTSTATUS.SUCCESS:
            packet.release()
        return status

    def end_of_stream(self):
        """No more render data will come; :meth:`wait_drained` then waits for the end."""
        if not self.capture and not self._packets.eos_queued:
            self.write(b"", end_of_stream=True)

    @property
    def played_all(self) -> bool:
        return self._data_end is not None and self._play >= self._data_end

    async def wait_drained(self):
        """Wait until every byte written has left the device (render, after end_of_stream)."""
        while not self.played_all:
            self._client_event.clear()
            await self._client_event.wait()

    def available(self) -> int:
        """Capture bytes collected and not yet read."""
        return len(self._captured) if self.capture else 0

    async def read(self, n):
        """Up to ``n`` bytes of captured audio, waiting until at least one frame is there."""
        if not self.capture:
            raise ValueError("read on a render pin")
        while len(self._captured) < self.format.block_align:
            self._client_event.clear()
            await self._client_event.wait()
        n = min(n, len(self._captured))
        n -= n % self.format.block_align
        data = bytes(self._captured[:n])
        del self._captured[:n]
        return data

    # ---- the engine ---------------------------------------------------------------------------

    def _reset_positions(self):
        self._play = 0            # linear play (link) position
        self._dma = 0             # linear DMA position (fetched / stored, or an estimate)
        self._done = 0            # render: bytes written into the buffer; capture: read out
        self._last_update = None
        self._unplayed = bytearray()  # render: what was written from _unplayed_start on ...
        self._unplayed_start = 0      # ... and may not have crossed the link yet
        self._replay = bytearray()    # render: written before the engine restarted, again

    def _flush(self):
        """STOP cancels the client's pending packets (render) and drops unread capture data."""
        for packet in list(self._packets.packets):
            packet.release()
        self._packets.cancel_all()
        self._captured.clear()
        self._data_end = None

    def _unwrap(self, linear, offset, elapsed_bytes):
        """The linear position whose cyclic offset is ``offset``, at or after ``linear`` and
        nearest to ``linear + elapsed_bytes`` (so a wait longer than the buffer still counts
        the laps the hardware made)."""
        size = self.buffer_size
        candidate = linear + (offset - linear) % size
        laps = max(0, round((linear + elapsed_bytes - candidate) / size))
        return candidate + laps * size

    async def _update_positions(self):
        status, play, fetch = await self._hw_offsets()
        if (status == NTSTATUS.DEVICE_DATA_ERROR and self.state == KSSTATE.RUN
                and not self._restarting and not self._stepping):
            status = await self._restart_after_device_error()
            if nt_success(status):
                status, play, fetch = await self._hw_offsets()
        if not nt_success(status):
            return status
        now = self._scheduler.now_100ns()
        elapsed = 0
        if self._last_update is not None and self.state == KSSTATE.RUN:
            elapsed = (now - self._last_update) * self.format.avg_bytes_per_sec // 10_000_000
        self._last_update = now
        self._play = self._unwrap(self._play, play, elapsed)
        if fetch is None:
            fetch_linear = max(0, self._play + self._fetch_lead())
        elif self.capture:
            # unwrapped on its own: no order against the play offset is assumed (our
            # hardware stores behind the link position, and clamping to it read unstored data)
            fetch_linear = self._unwrap(self._dma, fetch, elapsed)
        else:
            fetch_linear = max(self._unwrap(self._dma, fetch, elapsed), self._play)
        self._dma = max(self._dma, fetch_linear)
        if not self.capture and self.played_all:
            self._client_event.set()
        return NTSTATUS.SUCCESS

    async def _engine_loop(self):
        """Wake on :attr:`_wake` (a notification event or the DPC) or, with a
        :attr:`wake_period`, on that timer; then update the positions and transfer."""
        try:
            while True:
                if self.wake_period:
                    await self._scheduler.sleep_100ns(self.wake_period)
                else:
                    await self._wake.wait()
                if self._engine_stop or self._closed:
                    break
                if self._wake.is_set():
                    self._wake.clear()
                    self.notifications_seen += 1
                await self._update_positions()
                if self._engine_stop or self._closed:
                    break
                await self._transfer()
        finally:
            self._engine_idle.set()

    async def _transfer(self):
        """One pass of the engine: move client audio into the buffer or captured audio out
        (a subclass with another transfer model, e.g. WaveRT packets, overrides this)."""
        if self.capture:
            self._transfer_capture()
        else:
            self._transfer_render()

    def _log_write(self, offset):
        """Note, if :attr:`write_log` is a list, when client audio from linear byte
        ``offset`` on was put where the hardware will fetch it (latency measurement)."""
        if self.write_log is not None:
            self.write_log.append((offset, self._scheduler.now_100ns()))

    async def resync_after_restart(self):
        """The engine lost its FIFO (D3, or a bus error) and the miniport programmed it
        again where the stream stood (render: the link position, capture: the stored
        position); it has not run yet. Both positions are there now: the pin asks the
        hardware where that is (the link may have moved on after the port last looked).
        Render writes everything from there again: what sat in the lost FIFO may have been
        overwritten by the next lap already."""
        base = self._dma if self.capture else self._play
        status, offset, _ = await self._hw_offsets()
        resume = self._unwrap(base, offset, 0) if nt_success(status) else base
        if not self.capture:
            self._rewind_render(resume)
        self._play = self._dma = resume
        self._last_update = None

    async def _restart_after_device_error(self):
        """The miniport's position said DEVICE_DATA_ERROR: a bus error stopped the engine.
        Step the miniport stream to PAUSE (it programs the engine again where the stream
        stood), resynchronise, refill (render) and RUN again; counted in
        :attr:`device_errors`. The status of the first step that failed, else SUCCESS."""
        self._restarting = True
        self._restarted = self._scheduler.new_event()
        try:
            self.device_errors += 1
            self._scheduler.tracer.event("port", "DEVICE_ERROR",
                                         f"pin {self.pin_id}: restarting the stream")
            status = await self.stream.set_state(KSSTATE.PAUSE)
            if not nt_success(status):
                return status
            await self.resync_after_restart()
            await self._transfer()
            return await self.stream.set_state(KSSTATE.RUN)
        finally:
            self._restarting = False
            self._restarted.set()

    def _rewind_render(self, resume):
        """Make linear ``resume`` the next byte the engine writes, the bytes from there to
        where it had written queued again ahead of the client's packets."""
        skip = max(0, resume - self._unplayed_start)
        self._replay = self._unplayed[skip:] + self._replay
        self._unplayed = bytearray()
        self._unplayed_start = self._done = resume

    def _note_written(self, data):
        """Keep what was written at :attr:`_done` until it has crossed the link."""
        if self._unplayed_start + len(self._unplayed) != self._done:
            self._unplayed = bytearray()
            self._unplayed_start = self._done
        self._unplayed += data
        played = self._play - self._unplayed_start
        if played > 0:
            del self._unplayed[:played]
            self._unplayed_start = self._play

    def _take_client(self, n):
        """Up to ``n`` bytes of render data: what a restart (D3, a bus error) made the engine
        write again first, then the client's packets."""
        data = bytes(self._replay[:n])
        del self._replay[:n]
        return data + self._packets.take(n - len(data))

    def _fifo_bytes(self):
        """How much the hardware fetches ahead of the link (render); 0 if unknown."""
        return 0

    def _fetch_lead(self):
        """Bytes the DMA is taken to be ahead of (render, > 0) or behind (capture, < 0) the
        play position when the hardware reports only that."""
        return 0

    def _silence(self, n):
        """``n`` bytes of silence for this format."""
        return bytes(n)

    def _transfer_render(self):
        """Write client audio ahead of the hardware's fetch position, silence after it."""
        align = self.format.block_align
        size = self.buffer_size
        if self._dma > self._done:
            # the hardware fetched bytes nobody wrote in time: a glitch; skip past them
            late = -(-self._dma // align) * align
            if self._data_end is None or self._done < self._data_end:
                self.glitches += 1
                self.glitch_bytes += late - self._done
                self._scheduler.tracer.event(
                    "port", "GLITCH", f"pin {self.pin_id}: render late, hardware at "
                    f"{self._dma}, written up to {self._done} ({self._dma - self._done} bytes)")
            # what a restart fetches again there is silence
            self._note_written(self._silence(late - self._done))
            self._done = late
        # What the DMA fetched is free to overwrite one lap later. With room to spare (a
        # buffer of at least KEEP_FETCHED_FIFOS FIFOs) only what crossed the link is: what sits
        # in the FIFO stays in the buffer too, so a device that loses its FIFO (D3) fetches it
        # again and no client data is lost.
        base = self._play if size >= KEEP_FETCHED_FIFOS * self._fifo_bytes() else self._dma
        limit = base + size
        n = (limit - self._done) // align * align
        data = self._take_client(n)
        if data:
            self.buffer.write(self._done, data)
            self._log_write(self._done)
            self._note_written(data)
            self._done += len(data)
        if self._packets.end_of_stream and not self._replay and self._data_end is None:
            self._data_end = self._done
        # silence where nothing is written yet, so a starving stream plays silence, not old
        # data
        gap = limit - self._done
        if gap > 0:
            self.buffer.write(self._done, self._silence(min(gap, size)))
        if self.played_all:
            self._client_event.set()

    def _transfer_capture(self):
        """Collect what the DMA has stored since the last pass."""
        align = self.format.block_align
        size = self.buffer_size
        if self._dma - self._done > size:
            # overwritten before we read it: a glitch; keep the newest half buffer
            self.glitches += 1
            self._scheduler.tracer.event(
                "port", "GLITCH", f"pin {self.pin_id}: capture overrun, hardware at "
                f"{self._dma}, read up to {self._done}")
            keep_from = (self._dma - size // 2) // align * align
            self.glitch_bytes += keep_from - self._done
            self._done = keep_from
        n = (self._dma - self._done) // align * align
        if n:
            self._captured += self.buffer.read(self._done, n)
            self._done += n
            self._client_event.set()
