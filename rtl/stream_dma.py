"""One HDA stream descriptor engine: BDL walker, scatter/gather AXI4 DMA, FIFO and link side.

Split as LiteX's DMA cores are: the datapath (FIFO, byte realigner, the link side of
:mod:`rtl.stream_link`), the AXI burst reader and writer of :mod:`rtl.axi_burst`, and the
control (:class:`BdlWalker`: descriptor fetch, bursts, position buffer, IOC). Every engine has
a reader (descriptors; render's data too) and a writer (the position buffer; capture's data
too); ``output`` selects which end of the FIFO faces the bus.
"""

from amaranth.hdl import Elaboratable, Module, Signal, Mux, Cat, Const, ResetInserter
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .axi import AXI4Signature, connect_channels
from .axi_burst import BurstControlSignature, BurstReader, BurstWriter, Beat
from .checked import CheckedComponent
from .realigner import ByteRealigner
from .regmap import BDL_ENTRY_BYTES, POSITION_SLOT_BYTES
from .stream_link import (FifoEntry, RenderLink, CaptureLink, RENDER_REALIGNER_BYTES,
                          CAPTURE_REALIGNER_BYTES)
from .stream_parts import MAX_BURST, BdlEntry, BufferPosition, EntryCursor, StreamFormat

__all__ = ["StreamEngine", "BdlWalker", "start_burst", "MAX_BURST"]


class StreamEngine(CheckedComponent):
    """Stream descriptor ``index``; ``output=True`` for render (memory -> link).

    Register-side ports mirror the SDn registers (see :mod:`rtl.regmap`); link-side ports carry
    one frame (left/right, signed 24-bit) per link frame tick when the stream's cadence is due."""

    @classmethod
    def check_parameters(cls, index, output, fifo_depth=64, addr_width=32):
        if fifo_depth < 2 * MAX_BURST:
            raise ValueError(f"stream FIFO depth {fifo_depth} is below two bursts "
                             f"({2 * MAX_BURST})")

    def __init__(self, index, output, fifo_depth=64, addr_width=32):
        self.index = index
        self.output = output
        self.fifo_depth = fifo_depth
        members = {
            "bus": Out(AXI4Signature(addr_width, 32)),
            # register interface
            "srst_w_stb": In(1), "srst_w_data": In(1), "srst_r": Out(1),
            "run_w_stb": In(1), "run_w_data": In(1), "run_r": Out(1),
            "strm": In(4), "cbl": In(32), "lvi": In(8), "fmt": In(16), "fmt_w_stb": In(1),
            "bdpl": In(25), "queue": In(1), "zero": In(1),
            "dpl_enable": In(1), "dpl_base": In(25),
            "bcis_set": Out(1), "fifoe_set": Out(1), "dese_set": Out(1), "lvbci_set": Out(1),
            "fifordy": Out(1), "lpib": Out(32), "fifos": Out(16), "civ": Out(8),
            "picb": Out(32), "xrun": Out(32),
            # link side
            "frame_tick": In(1),
        }
        if output:
            # tx_l and tx_r are 0 whenever tx_valid is low (RenderLink)
            members.update({"tx_valid": Out(1), "tx_l": Out(24), "tx_r": Out(24)})
        else:
            members.update({"rx_valid": In(1), "rx_tag": In(4), "rx_l": In(24),
                            "rx_r": In(24)})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        in_reset = Signal()
        # SRST is honoured only while stopped; everything else is reset while it is held
        with m.If(self.srst_w_stb & (~self.run_r | ~self.srst_w_data)):
            m.d.sync += in_reset.eq(self.srst_w_data)
        m.d.comb += self.srst_r.eq(in_reset)
        m.submodules.core = ResetInserter(in_reset)(_EngineCore(self))
        return m


class _EngineCore(Elaboratable):
    """Everything of a :class:`StreamEngine` that SRST resets (an elaboratable over its ports):
    run control, format, the walker and burst engines, the FIFO and realigner, the link side."""

    def __init__(self, engine):
        self.e = engine

    def elaborate(self, platform):
        e = self.e
        m = Module()
        m.submodules.format = fmt = StreamFormat()
        m.d.comb += fmt.fmt.eq(e.fmt)
        fmt_written = Signal()
        with m.If(e.fmt_w_stb):
            m.d.sync += fmt_written.eq(1)
        m.d.comb += e.fifos.eq(Mux(fmt_written, e.fifo_depth * 4 - 1, 0))

        m.submodules.walker = walker = BdlWalker(e.index, e.output)
        # render's data goes through the reader, capture's through the writer: only that one
        # needs byte lanes (descriptors and the position buffer are aligned words)
        m.submodules.reader = reader = BurstReader(byte_lanes=e.output)
        m.submodules.writer = writer = BurstWriter(byte_lanes=not e.output)
        wiring.connect(m, walker.read, reader.ctl)
        wiring.connect(m, walker.write, writer.ctl)
        connect_channels(m, reader.bus, e.bus)
        connect_channels(m, writer.bus, e.bus)
        m.d.comb += [
            walker.descriptor.payload.eq(reader.beat.payload),
            walker.descriptor.valid.eq(reader.beat.valid & walker.fetching),
            walker.lvi.eq(e.lvi), walker.queue.eq(e.queue), walker.cbl.eq(e.cbl),
            walker.bdpl.eq(e.bdpl), walker.dpl_enable.eq(e.dpl_enable),
            walker.dpl_base.eq(e.dpl_base),
            e.civ.eq(walker.civ), e.picb.eq(walker.picb), e.bcis_set.eq(walker.bcis),
            e.lvbci_set.eq(walker.lvbci),
        ]

        # RUN: refused (DESE) for a format the codec cannot play; a bus error stops the stream
        run_req = Signal()
        refused = Signal()
        with m.If(e.run_w_stb):
            with m.If(~e.run_w_data):
                m.d.sync += run_req.eq(0)
            with m.Elif(fmt.ok):
                m.d.sync += run_req.eq(1)
            with m.Else():
                m.d.comb += refused.eq(1)
        with m.If(walker.fault):
            m.d.sync += run_req.eq(0)
        m.d.comb += [walker.run.eq(run_req), e.run_r.eq(run_req | ~walker.idle),
                     e.dese_set.eq(refused | walker.fault)]

        m.submodules.fifo = fifo = SyncFIFOBuffered(width=FifoEntry.size, depth=e.fifo_depth)
        # render takes whole frames (2, 4 or 8 bytes), capture the bytes of one beat (0-4)
        if e.output:
            ra = ByteRealigner(capacity=RENDER_REALIGNER_BYTES, takes=(0, 2, 4, 8))
        else:
            ra = ByteRealigner(capacity=CAPTURE_REALIGNER_BYTES, takes=range(5))
        m.submodules.realign = ra
        entry = FifoEntry(fifo.r_data)
        m.d.comb += [ra.i_data.eq(entry.data), ra.i_count.eq(entry.count),
                     ra.i_valid.eq(fifo.r_rdy), fifo.r_en.eq(ra.i_ready)]

        m.submodules.lpib = lpib = BufferPosition(len(fmt.frame.frame_bytes))
        m.d.comb += [lpib.step.eq(fmt.frame.frame_bytes), lpib.cbl.eq(e.cbl),
                     lpib.queue.eq(e.queue), e.lpib.eq(lpib.value)]
        link = self._render(m, fifo, ra) if e.output else self._capture(m, fifo, ra)
        m.d.comb += [link.run.eq(run_req), link.format.eq(fmt.frame), lpib.add.eq(link.advance),
                     e.xrun.eq(link.xrun)]
        return m

    def _render(self, m, fifo, ra):
        """Bus -> FIFO -> realigner -> frames; the writer carries only the DMA position."""
        e = self.e
        walker, reader, writer = m.submodules.walker, m.submodules.reader, m.submodules.writer
        beat = reader.beat.payload
        # FIFO space for the whole burst is reserved before it starts
        m.d.comb += [
            walker.fits.eq(e.fifo_depth - fifo.level >= walker.next_beats),
            fifo.w_data.eq(Cat(beat.data, beat.count)),
            fifo.w_en.eq(reader.beat.valid & ~walker.fetching),
            writer.source.eq(walker.dma_position), writer.level.eq(4),
        ]
        m.submodules.link = link = RenderLink(e.fifo_depth)
        m.d.comb += [
            link.halted.eq(walker.halted), link.zero.eq(e.zero), link.frame_tick.eq(e.frame_tick),
            link.source.eq(ra.o_data), link.level.eq(ra.o_level), ra.o_take.eq(link.take),
            link.fifo_level.eq(fifo.level), link.fifo_readable.eq(fifo.r_rdy),
            e.fifordy.eq(link.started), e.fifoe_set.eq(link.underrun),
            e.tx_valid.eq(link.tx_valid), e.tx_l.eq(link.tx_l), e.tx_r.eq(link.tx_r),
        ]
        return link

    def _capture(self, m, fifo, ra):
        """Frames -> FIFO -> realigner -> bus; the writer carries the data and the position."""
        e = self.e
        walker, writer = m.submodules.walker, m.submodules.writer
        m.submodules.link = link = CaptureLink(e.fifo_depth)
        m.d.comb += [
            link.strm.eq(e.strm), link.rx_valid.eq(e.rx_valid), link.rx_tag.eq(e.rx_tag),
            link.rx_l.eq(e.rx_l), link.rx_r.eq(e.rx_r),
            link.fifo_free.eq(e.fifo_depth - fifo.level),
            fifo.w_data.eq(link.entries.payload), fifo.w_en.eq(link.entries.valid),
            link.taken.eq(ra.o_take),
            walker.fits.eq(link.bytes_ready >= walker.next_bytes),
            e.fifordy.eq(link.run), e.fifoe_set.eq(link.overrun),
        ]
        with m.If(walker.positioning):
            m.d.comb += [writer.source.eq(walker.dma_position), writer.level.eq(4)]
        with m.Else():
            m.d.comb += [writer.source.eq(ra.o_data), writer.level.eq(ra.o_level),
                         ra.o_take.eq(writer.take)]
        return link


class BdlWalker(wiring.Component):
    """The DMA control of stream ``index``: walks the buffer descriptor list while ``run``.

    Fetches an entry (``read``, four beats at BDPL + 16 * index; CIV and PICB change together
    when it is in), cuts it into bursts (:class:`BurstPlanner`; one starts when the datapath says
    it ``fits``) carried by ``read`` (render) or ``write`` (capture), moves the DMA position
    after each and, with ``dpl_enable``, writes it to the position buffer (``write``) before the
    entry can raise ``bcis``. At LVI it wraps to entry 0, or in ``queue`` mode stops (``halted``,
    ``lvbci``) until LVI moves on. A bus error ends the walk (``fault``, one cycle).
    ``fetching`` and ``positioning`` say which of the walker's own transfers is under way."""

    def __init__(self, index, output):
        self.index = index
        self.output = output
        super().__init__({
            "run": In(1), "idle": Out(1),
            "lvi": In(8), "queue": In(1), "cbl": In(32), "bdpl": In(25),
            "dpl_enable": In(1), "dpl_base": In(25),
            "civ": Out(8), "picb": Out(32), "halted": Out(1), "dma_position": Out(32),
            "bcis": Out(1), "lvbci": Out(1), "fault": Out(1),
            "fits": In(1), "next_beats": Out(5), "next_bytes": Out(7),
            "read": Out(BurstControlSignature()), "write": Out(BurstControlSignature()),
            "descriptor": In(stream.Signature(Beat, always_ready=True)),
            "fetching": Out(1), "positioning": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.cursor = cursor = EntryCursor()
        m.submodules.entry = entry = BdlEntry()
        m.submodules.position = position = BufferPosition(len(entry.moved_bytes))
        burst_bytes = Signal.like(entry.next_bytes)
        m.d.comb += [
            cursor.lvi.eq(self.lvi), cursor.queue.eq(self.queue),
            self.civ.eq(cursor.civ), self.halted.eq(cursor.halted), self.lvbci.eq(cursor.lvbci),
            entry.words.payload.eq(self.descriptor.payload),
            entry.words.valid.eq(self.descriptor.valid), entry.moved_bytes.eq(burst_bytes),
            self.picb.eq(entry.remaining), self.next_beats.eq(entry.next_beats),
            self.next_bytes.eq(entry.next_bytes),
            position.step.eq(burst_bytes), position.cbl.eq(self.cbl),
            position.queue.eq(self.queue), self.dma_position.eq(position.value),
        ]
        data = self.read if self.output else self.write

        with m.FSM(name="walk"):
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(self.run):
                    m.next = "NEXT"
            with m.State("NEXT"):
                m.d.comb += cursor.poll.eq(self.run)
                with m.If(~self.run):
                    m.next = "IDLE"
                with m.Elif(cursor.halted):
                    pass                    # until LVI moves on (queue mode)
                with m.Elif(~entry.valid):
                    m.d.comb += start_burst(self.read, Cat(Const(0, 7), self.bdpl)
                                            + cursor.next * BDL_ENTRY_BYTES, BDL_ENTRY_BYTES)
                    m.next = "DESCRIPTOR"
                with m.Elif(entry.remaining == 0):
                    m.next = "ENTRY_DONE"
                with m.Elif(self.fits & entry.plan_ready):
                    m.d.comb += start_burst(data, entry.addr, entry.next_bytes, entry.next_beats)
                    m.d.sync += burst_bytes.eq(entry.next_bytes)
                    m.next = "BURST"
            with m.State("DESCRIPTOR"):
                m.d.comb += self.fetching.eq(1)
                with m.If(self.read.done):
                    # CIV and PICB change together
                    with m.If(self.read.error):
                        m.next = "FAULT"
                    with m.Else():
                        m.d.comb += [cursor.load.eq(1), entry.load.eq(1)]
                        m.next = "NEXT"
            with m.State("BURST"):
                with m.If(data.done):
                    m.next = "BURST_DONE"
            with m.State("BURST_DONE"):
                with m.If(data.error):
                    m.next = "FAULT"
                with m.Else():
                    m.d.comb += [entry.moved.eq(1), position.add.eq(1)]
                    with m.If(self.dpl_enable):
                        # written after every burst, so it is current before BCIS is raised
                        m.d.comb += start_burst(self.write, Cat(Const(0, 7), self.dpl_base)
                                                + POSITION_SLOT_BYTES * self.index, 4)
                        m.next = "POSITION"
                    with m.Else():
                        m.next = "NEXT"
            with m.State("POSITION"):
                m.d.comb += self.positioning.eq(1)
                with m.If(self.write.done):
                    with m.If(self.write.error):
                        m.next = "FAULT"
                    with m.Else():
                        m.next = "NEXT"
            with m.State("ENTRY_DONE"):
                m.d.comb += [self.bcis.eq(entry.ioc), cursor.finish.eq(1), entry.finish.eq(1)]
                m.next = "NEXT"
            with m.State("FAULT"):
                m.d.comb += self.fault.eq(1)
                m.next = "IDLE"
        return m


def start_burst(port, addr, nbytes, beats=None):
    """The statements that start a burst of ``nbytes`` at ``addr`` on a burst engine's control
    ``port`` (whole words unless ``beats`` says otherwise)."""
    return [port.start.eq(1), port.request.addr.eq(addr), port.request.bytes.eq(nbytes),
            port.request.beats.eq(nbytes // 4 if beats is None else beats)]
