"""The WavePci miniport for our controller (IMiniportWavePci / IMiniportWavePciStream).

The engine runs in queue mode over a 256-entry BDL ring: each mapping the port hands out
becomes one entry (a mapping never crosses a page, so neither does an entry), all with IOC so
mappings are released as soon as the hardware is done with them; LVI moves as entries are added,
and a new LVI restarts an engine that had run dry. At most :data:`MAX_IN_USE` entries are queued
(the ac97 sample keeps 31 of 32). Service (the DPC, after the ISR's IOC/LVBCI) releases, in
order, the entries the engine has finished (those before CIV, or all once LVBCI says it halted
after LVI) and asks the port for more mappings.

RevokeMappings stops the engine if it runs, works out from LPIB (render) or the stored byte
count (capture) how far it got, releases what it finished, drops the revoked entries, and starts
a new *epoch*: stream reset, the remaining entries (the partly played one from where it got to)
written from BDL index 0, and RUN again if it was running. Positions add the epochs up.
"""

from __future__ import annotations

from portdrv.formats import normalize_physical_position
from portdrv.ksstate import KSSTATE
from portdrv.power import DevicePowerState
from portdrv.status import NTSTATUS
from portdrv.wavepci import AllocatorFraming

from .hda import Bdl
from .wavestream import (DATA_RANGES, PIN_CAPTURE, PIN_CAPTURE_BRIDGE, PIN_RENDER,
                         PIN_RENDER_BRIDGE, HdaWaveMiniport, HdaWaveStream)

__all__ = ["MiniportWavePci", "MiniportWavePciStream", "PIN_RENDER", "PIN_CAPTURE",
           "PIN_RENDER_BRIDGE", "PIN_CAPTURE_BRIDGE", "DATA_RANGES", "MAX_IN_USE", "RING"]

#: BDL entries in the ring (CIV and LVI are 8-bit, so the engine wraps at 256)
RING = 256
#: entries queued at most
MAX_IN_USE = 31


class MiniportWavePci(HdaWaveMiniport):
    """IMiniportWavePci over an :class:`miniports.hda.HdaController` the adapter started."""

    async def init(self, port, resources):
        """IMiniportWavePci::Init: ``(status, service group)``; the port joins the group and
        calls :meth:`service` from its DPC."""
        self.scheduler = resources.scheduler
        self.service_count = 0
        status = await super().init(port, resources)
        return status, self.service_group

    def service(self):
        """IMiniportWavePci::Service: miniport-wide work on a service request. This
        controller has none (each stream's Service releases and queues its own mappings);
        the calls are counted."""
        self.service_count += 1

    async def new_stream(self, port_stream, pin_id, capture, fmt):
        """``(status, stream, service_group)``."""
        if pin_id not in (PIN_RENDER, PIN_CAPTURE) or capture != (pin_id == PIN_CAPTURE):
            return NTSTATUS.INVALID_PARAMETER, None, None
        stream = MiniportWavePciStream(self, port_stream, capture)
        status = await stream.open(fmt)
        if status != NTSTATUS.SUCCESS:
            return status, None, None
        try:
            stream.bdl = Bdl(self.controller.memory, RING)
        except MemoryError:
            await stream.close()
            return NTSTATUS.INSUFFICIENT_RESOURCES, None, None
        self.streams.append(stream)
        return NTSTATUS.SUCCESS, stream, self.service_group


class _Entry:
    """A queued mapping: its tag, where it is, its BDL index and where it ends in the epoch."""
    __slots__ = ("tag", "address", "length", "index", "end")

    def __init__(self, tag, address, length, index, end):
        self.tag, self.address, self.length, self.index, self.end = \
            tag, address, length, index, end


class MiniportWavePciStream(HdaWaveStream):
    """A WavePci stream: the queue of mappings in the BDL ring."""

    def __init__(self, miniport, port_stream, capture):
        super().__init__(miniport, capture)
        self.port_stream = port_stream
        self.queued = []          # _Entry, oldest first
        self._next_tag = 0
        self._next_index = 0      # BDL index of the next entry
        self._epoch_base = 0      # position at the start of this epoch
        self._epoch_end = 0       # epoch offset where the last queued entry ends
        self._lpib_high = 0       # LPIB wrap tracking (queue mode counts modulo 2**32)
        self._lpib_last = 0
        self._dry = False         # LVBCI seen: the engine finished everything queued
        self._played_any = False
        self._timer_armed = False
        self._programmed = False  # the engine has the ring (ACQUIRE and beyond)
        self._saved_progress = 0  # epoch bytes done when power was lost
        #: times the engine ran dry while running and data came later (client starvation)
        self.starvations = 0

    # ---- PortCls interface ----------------------------------------------------------------

    def get_allocator_framing(self):
        """``(status, framing)``: 8 packets of 10 ms, as the ac97 sample asks
        (IMiniportWavePciStream::GetAllocatorFraming)."""
        size = self.fmt.avg_bytes_per_sec // 100 // self.fmt.block_align * self.fmt.block_align
        return NTSTATUS.SUCCESS, AllocatorFraming(frames=8, frame_size=size)

    async def mapping_available(self):
        """The port has data again after refusing a GetMapping."""
        await self._fill()

    async def service(self):
        self._timer_armed = False
        if self.power_state != DevicePowerState.D0:
            return          # the device is off; power_change_notify takes over
        await self._release_finished()
        await self._fill()
        self._arm_timer()

    def normalize_physical_position(self, position):
        """``(status, 100-ns units)`` (IMiniportWavePciStream::NormalizePhysicalPosition)."""
        return NTSTATUS.SUCCESS, normalize_physical_position(position, self.fmt)

    async def get_position(self):
        """Bytes that crossed the link since the stream started (64-bit)."""
        return NTSTATUS.SUCCESS, self._epoch_base + await self._epoch_lpib()

    def on_bus_error(self):
        """DESE stopped the engine. This miniport owns its ring (the port only hands out
        mappings), so it restarts the engine itself, from a work item."""
        self.miniport.scheduler.spawn(self._recover_from_bus_error())

    async def _recover_from_bus_error(self):
        """Queue what is not finished again from where the hardware got to (render: the
        link position, so nothing is lost, the mappings still hold it; capture: what was
        stored, the FIFO's frames are lost) and run again."""
        if (self.state == KSSTATE.STOP or self.power_state != DevicePowerState.D0
                or not self._programmed):
            return
        await self._release_finished()
        progress = await self._progress()
        self.miniport.scheduler.tracer.event(
            "miniport", "BUS_ERROR", f"SD{self.engine.n}: DESE, ring queued again at byte "
            f"{self._epoch_base + progress}")
        await self._new_epoch(list(self.queued), progress)
        self.bus_error_recoveries += 1
        if self.state == KSSTATE.RUN:
            await self.engine.run()

    async def revoke_mappings(self, first_tag, last_tag):
        """Take the entries with tags first..last (inclusive, in queue order) out of the ring;
        returns ``(status, revoked)``, counting only entries not released before."""
        tags = [e.tag for e in self.queued]
        if first_tag not in tags and last_tag not in tags:
            return NTSTATUS.SUCCESS, 0
        running = self.state == KSSTATE.RUN
        if running:
            await self.engine.stop()
        await self._release_finished()
        tags = [e.tag for e in self.queued]
        lo = tags.index(first_tag) if first_tag in tags else 0
        hi = tags.index(last_tag) if last_tag in tags else len(tags) - 1
        revoked = self.queued[lo:hi + 1]
        keep = self.queued[:lo] + self.queued[hi + 1:]
        await self._new_epoch(keep)
        if running:
            await self.engine.run()
        # the port calls MappingAvailable only after a refused GetMapping: what the revoke
        # took away (and anything behind it) is asked for again from Service
        self.miniport.service_group.request_service()
        return NTSTATUS.SUCCESS, len(revoked)

    # ---- the ring ----------------------------------------------------------------------------

    def on_ioc(self):
        self.miniport.service_group.request_service()

    def on_interrupt(self, cause):
        if cause.lvbci:
            self._dry = True
            self.miniport.service_group.request_service()
        super().on_interrupt(cause)

    async def _fill(self):
        """Queue mappings while the port has them and the ring has room; move LVI. Only once
        the engine has its ring (ACQUIRE): a stopped stream takes no mappings."""
        if not self._programmed or self.power_state != DevicePowerState.D0:
            return 0            # power_change_notify queues them again back in D0
        added = 0
        while len(self.queued) < MAX_IN_USE:
            tag = self._next_tag
            status, address, length, _flags = self.port_stream.get_mapping(tag)
            if status != NTSTATUS.SUCCESS:
                break
            self._next_tag += 1
            index = self._next_index
            self._next_index = (index + 1) % RING
            self.bdl.set_entry(index, address, length, True)
            self._epoch_end += length
            self.queued.append(_Entry(tag, address, length, index, self._epoch_end))
            added += 1
        if added:
            if self._dry and self.state == KSSTATE.RUN and self._played_any:
                self.starvations += 1
            self._dry = False
            await self.engine.set_lvi(self.queued[-1].index)
        return added

    async def _release_finished(self):
        """Release, oldest first, the entries the hardware is done with: played across the
        link (render; what is only in the FIFO would be lost by a stream reset) or stored in
        memory (capture)."""
        if not self.queued or self.state == KSSTATE.STOP:
            return
        if self.capture:
            civ = await self.engine.civ()
            picb = await self.controller.regs.read(f"SD{self.engine.n}PICB")
            indices = [e.index for e in self.queued]
            finished = indices.index(civ) + (picb == 0) if civ in indices else 0
        else:
            played = await self._epoch_lpib()
            finished = 0
            while finished < len(self.queued) and self.queued[finished].end <= played:
                finished += 1
        for entry in self.queued[:finished]:
            self.port_stream.release_mapping(entry.tag)
        if finished:
            self._played_any = True
        del self.queued[:finished]

    def _arm_timer(self):
        """While entries wait for the link (render) there may be no interrupt left to come:
        look again after the FIFO has had time to drain."""
        if self.queued and self.state == KSSTATE.RUN and not self._timer_armed:
            self._timer_armed = True
            fifo = self.engine.fifo_size or 256
            wait = max(1, fifo * 10_000_000 // self.fmt.avg_bytes_per_sec)
            self.miniport.scheduler.spawn(self._later(wait))

    async def _later(self, wait):
        await self.miniport.scheduler.sleep_100ns(wait)
        if self._timer_armed:
            self.miniport.service_group.request_service()

    async def _epoch_lpib(self):
        if self.state == KSSTATE.STOP:
            return 0
        lpib = await self.engine.lpib()
        if lpib < self._lpib_last:
            self._lpib_high += 1 << 32
        self._lpib_last = lpib
        return self._lpib_high + lpib

    async def _progress(self):
        """Epoch bytes the hardware is done with: played (render) or stored (capture)."""
        if not self.capture:
            return await self._epoch_lpib()
        if not self.queued:
            return self._epoch_end
        picb = await self.controller.regs.read(f"SD{self.engine.n}PICB")
        civ = await self.engine.civ()
        head = self.queued[0]
        return head.end - head.length + (head.length - picb if civ == head.index else 0)

    async def _new_epoch(self, keep, progress=None):
        """Reset the engine and queue ``keep`` again from BDL index 0; the oldest entry
        resumes where the hardware got to (``progress``: epoch bytes done, read from the
        hardware unless given)."""
        if progress is None:
            progress = await self._progress()
        oldest = self.queued[0] if self.queued else None
        entries, end = [], 0
        for i, e in enumerate(keep):
            address, length = e.address, e.length
            if e is oldest:
                skip = progress - (e.end - e.length)
                if 0 < skip < length:
                    address, length = address + skip, length - skip
            end += length
            entries.append(_Entry(e.tag, address, length, i + 1, end))
        self._epoch_base += progress
        self._lpib_high = self._lpib_last = 0
        self.queued = entries
        self._epoch_end = end
        await self.engine.reset()
        self._clear_dma_position()
        await self._program_ring()

    async def _program_ring(self):
        """Queue mode from index 0: a zero-length entry there (so an empty ring halts at
        once and the first mapping goes at index 1), then the queued entries."""
        self.bdl.set_entry(0, self.controller.position_buffer, 0, False)
        for e in self.queued:
            self.bdl.set_entry(e.index, e.address, e.length, True)
        self._next_index = (len(self.queued) + 1) % RING
        lvi = self.queued[-1].index if self.queued else 0
        await self.engine.program(self.bdl, self.fmt_value, self.tag, cbl=0, lvi=lvi,
                                  queue=True, ioce=True, lvbie=True, deie=True)
        self._dry = not self.queued
        self._programmed = True

    # ---- power -----------------------------------------------------------------------------

    async def save_context(self):
        """Before power is lost (engine stopped): release what is done, note how far the
        hardware got into the rest."""
        if self.state != KSSTATE.STOP:
            await self._release_finished()
            self._saved_progress = await self._progress()

    async def reprogram(self):
        """A new epoch with the entries still queued, from where the hardware got."""
        await self._new_epoch(self.queued, progress=self._saved_progress)

    async def restore_context(self):
        """Back in D0: the ring as it was, then the mappings the port offered meanwhile."""
        await super().restore_context()
        if self.state != KSSTATE.STOP:
            await self._fill()

    # ---- state -----------------------------------------------------------------------------

    async def program_engine(self):
        self._epoch_base = self._epoch_end = 0
        self._lpib_high = self._lpib_last = 0
        self.queued = []
        self._played_any = False
        await self._program_ring()
        await self._fill()

    async def set_state(self, state):
        if state == KSSTATE.ACQUIRE and self.state == KSSTATE.STOP:
            self.bdl.entries = [None]      # the ring exists; its entries come with mappings
        status = await super().set_state(state)
        if status == NTSTATUS.SUCCESS and self.state == KSSTATE.RUN:
            self._arm_timer()
        return status

    def on_stop(self):
        self._programmed = False
        self._epoch_base = self._epoch_end = 0
        self._lpib_high = self._lpib_last = 0
        self.queued = []
        self._dry = False
        self._timer_armed = False
