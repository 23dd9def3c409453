"""One HDA stream descriptor engine: BDL walker, scatter/gather AXI4 DMA, FIFO and link side.

Layering follows LiteX's DMA cores: the datapath (FIFO, byte realigner, frame packing), then
the DMA control FSM (descriptor fetch, bursts, position buffer, IOC), then the link timing
(cadence, underrun/overrun, LPIB). The same class serves both directions; ``output`` selects
which end of the FIFO faces the bus.
"""

from amaranth.hdl import Elaboratable, Module, Signal, Mux, Cat, Const, Array, ResetInserter
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .axi import AXI4Signature, RESP_OKAY, BURST_INCR
from .checked import CheckedComponent
from .realigner import ByteRealigner
from .stream_parts import MAX_BURST, BufferPosition, BurstPlanner, Cadence, StreamFormat

__all__ = ["StreamEngine", "MAX_BURST"]


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
    """Everything of a :class:`StreamEngine` that SRST resets (an elaboratable over its ports)."""

    def __init__(self, engine):
        self.e = engine

    def elaborate(self, platform):
        e = self.e
        m = Module()
        bus = e.bus
        depth = e.fifo_depth

        # ---- format --------------------------------------------------------------------------
        m.submodules.format = self.format = fmt = StreamFormat()
        m.d.comb += fmt.fmt.eq(e.fmt)
        fmt_written = Signal()
        with m.If(e.fmt_w_stb):
            m.d.sync += fmt_written.eq(1)
        m.d.comb += e.fifos.eq(Mux(fmt_written, depth * 4 - 1, 0))

        # ---- datapath: FIFO of (data, byte count) entries and the frame-side realigner --------
        m.submodules.fifo = self.fifo = fifo = SyncFIFOBuffered(width=35, depth=depth)
        # render takes whole frames (2, 4 or 8 bytes), capture the bytes of one beat (0-4)
        takes = (0, 2, 4, 8) if e.output else range(5)
        m.submodules.realign = self.ra = ra = ByteRealigner(capacity=12, takes=takes)
        self.fifo_free = fifo_free = Signal(range(depth + 1))
        m.d.comb += [fifo_free.eq(depth - fifo.level),
                     # FIFO -> realigner, in both directions
                     ra.i_data.eq(fifo.r_data[0:32]), ra.i_count.eq(fifo.r_data[32:35]),
                     ra.i_valid.eq(fifo.r_rdy), fifo.r_en.eq(ra.i_ready)]

        # ---- run control -----------------------------------------------------------------------
        self.run_req = run_req = Signal()
        with m.If(e.run_w_stb):
            with m.If(~e.run_w_data):
                m.d.sync += run_req.eq(0)
            with m.Elif(fmt.ok):
                m.d.sync += run_req.eq(1)
            with m.Else():
                m.d.comb += e.dese_set.eq(1)  # the codec cannot play this format

        # ---- DMA state -------------------------------------------------------------------------
        civ = Signal(8)
        next_idx = Signal(8)
        entry_valid = Signal()
        self.halted = halted = Signal()     # queue mode: the entry at LVI is done
        ent_addr = Signal(32)
        picb = Signal(32)
        ioc = Signal()
        m.d.comb += [e.civ.eq(civ), e.picb.eq(picb)]

        # burst being prepared (combinational, from the current entry)
        m.submodules.burst = plan = BurstPlanner()
        m.d.comb += [plan.addr.eq(ent_addr), plan.remaining.eq(picb)]
        offset, beats, burst_bytes = plan.offset, plan.beats, plan.bytes
        # the plan is registered: in the cycle after the entry moves it is still the old one
        plan_stale = Signal()
        m.d.sync += plan_stale.eq(0)

        # latched burst
        b_beats = Signal(5)
        b_offset = Signal(2)
        b_left = Signal(7)          # bytes of the burst not yet moved
        b_beat = Signal(5)
        b_bytes = Signal(7)
        b_err = Signal()
        beat_lane = Signal(2)
        beat_count = Signal(3)
        lane_room = Signal(3)
        m.d.comb += [beat_lane.eq(Mux(b_beat == 0, b_offset, 0)),
                     lane_room.eq(4 - beat_lane),
                     beat_count.eq(Mux(b_left < lane_room, b_left, lane_room))]

        # bytes available for the bus (input direction)
        self.bytes_avail = bytes_avail = Signal(range(depth * 4 + 16))

        # DMA position (bytes fetched or stored) and link position (LPIB)
        m.submodules.dma_pos = dpos = BufferPosition(len(b_bytes))
        m.submodules.lpib = self.lpib = BufferPosition(len(fmt.frame_bytes))
        for pos, step in ((dpos, b_bytes), (self.lpib, fmt.frame_bytes)):
            m.d.comb += [pos.step.eq(step), pos.cbl.eq(e.cbl), pos.queue.eq(e.queue)]
        dma_pos = dpos.value

        masks = Array(Const((1 << k) - 1, 4) for k in range(5))
        m.d.comb += [
            bus.arid.eq(0), bus.awid.eq(0), bus.arsize.eq(2), bus.awsize.eq(2),
            bus.arburst.eq(BURST_INCR), bus.awburst.eq(BURST_INCR),
            bus.arcache.eq(0b0011), bus.awcache.eq(0b0011),
        ]

        desc_word = Signal(2)
        desc_addr = Signal(32)
        desc_len = Signal(32)
        dma_idle = Signal()

        with m.FSM(name="dma"):
            with m.State("IDLE"):
                m.d.comb += dma_idle.eq(1)
                with m.If(run_req):
                    m.next = "NEXT"

            with m.State("NEXT"):
                with m.If(~run_req):
                    m.next = "IDLE"
                with m.Elif(halted):
                    # queue mode: a new LVI beyond the finished entry restarts the engine
                    with m.If(e.lvi != civ):
                        m.d.sync += [halted.eq(0), next_idx.eq(civ + 1)]
                with m.Elif(~entry_valid):
                    m.next = "DESC_ADDR"
                with m.Elif(picb == 0):
                    m.next = "ENTRY_DONE"
                with m.Else():
                    if e.output:
                        ready = fifo_free >= beats
                    else:
                        ready = bytes_avail >= burst_bytes
                    with m.If(ready & ~plan_stale):
                        m.d.sync += [b_beats.eq(beats), b_offset.eq(offset),
                                     b_left.eq(burst_bytes), b_bytes.eq(burst_bytes),
                                     b_beat.eq(0), b_err.eq(0)]
                        m.next = "DATA_ADDR"

            with m.State("DESC_ADDR"):
                m.d.comb += [bus.araddr.eq(Cat(Const(0, 4), next_idx, Const(0, 20)) +
                                           Cat(Const(0, 7), e.bdpl)),
                             bus.arlen.eq(3), bus.arvalid.eq(1)]
                with m.If(bus.arready):
                    m.d.sync += [desc_word.eq(0), b_err.eq(0)]
                    m.next = "DESC_DATA"

            with m.State("DESC_DATA"):
                m.d.comb += bus.rready.eq(1)
                with m.If(bus.rvalid):
                    m.d.sync += desc_word.eq(desc_word + 1)
                    with m.If(bus.rresp != RESP_OKAY):
                        m.d.sync += b_err.eq(1)
                    with m.Switch(desc_word):
                        with m.Case(0):
                            m.d.sync += desc_addr.eq(bus.rdata)
                        with m.Case(2):
                            m.d.sync += desc_len.eq(bus.rdata)
                    with m.If(bus.rlast):
                        with m.If(b_err | (bus.rresp != RESP_OKAY)):
                            m.next = "FAULT"
                        with m.Else():
                            # CIV and PICB change together
                            m.d.sync += [civ.eq(next_idx), ent_addr.eq(desc_addr),
                                         picb.eq(desc_len), ioc.eq(bus.rdata[0]),
                                         plan_stale.eq(1),
                                         entry_valid.eq(1)]
                            m.next = "NEXT"

            if e.output:
                with m.State("DATA_ADDR"):
                    m.d.comb += [bus.araddr.eq(Cat(Const(0, 2), ent_addr[2:])),
                                 bus.arlen.eq(b_beats - 1), bus.arvalid.eq(1)]
                    with m.If(bus.arready):
                        m.next = "DATA"
                with m.State("DATA"):
                    # FIFO space for the whole burst was reserved before it started
                    m.d.comb += bus.rready.eq(1)
                    with m.If(bus.rvalid):
                        ok = bus.rresp == RESP_OKAY
                        m.d.comb += [
                            fifo.w_data.eq(Cat(bus.rdata >> (beat_lane * 8), beat_count)),
                            fifo.w_en.eq(ok & ~b_err & (beat_count != 0)),
                        ]
                        m.d.sync += [b_beat.eq(b_beat + 1), b_left.eq(b_left - beat_count)]
                        with m.If(~ok):
                            m.d.sync += b_err.eq(1)
                        with m.If(bus.rlast):
                            m.next = "BURST_DONE"
            else:
                with m.State("DATA_ADDR"):
                    m.d.comb += [bus.awaddr.eq(Cat(Const(0, 2), ent_addr[2:])),
                                 bus.awlen.eq(b_beats - 1), bus.awvalid.eq(1)]
                    with m.If(bus.awready):
                        m.next = "DATA"
                with m.State("DATA"):
                    m.d.comb += [
                        bus.wdata.eq(ra.o_data[0:32] << (beat_lane * 8)),
                        bus.wstrb.eq(masks[beat_count] << beat_lane),
                        bus.wlast.eq(b_beat == b_beats - 1),
                        bus.wvalid.eq(ra.o_level >= beat_count),
                    ]
                    with m.If(bus.wvalid & bus.wready):
                        m.d.comb += ra.o_take.eq(beat_count)
                        m.d.sync += [b_beat.eq(b_beat + 1), b_left.eq(b_left - beat_count)]
                        with m.If(bus.wlast):
                            m.next = "DATA_RESP"
                with m.State("DATA_RESP"):
                    m.d.comb += bus.bready.eq(1)
                    with m.If(bus.bvalid):
                        with m.If(bus.bresp != RESP_OKAY):
                            m.d.sync += b_err.eq(1)
                        m.next = "BURST_DONE"

            with m.State("BURST_DONE"):
                with m.If(b_err):
                    m.next = "FAULT"
                with m.Else():
                    m.d.sync += [ent_addr.eq(ent_addr + b_bytes), picb.eq(picb - b_bytes),
                                 plan_stale.eq(1)]
                    m.d.comb += dpos.add.eq(1)
                    with m.If(e.dpl_enable):
                        m.next = "POS_ADDR"
                    with m.Else():
                        m.next = "NEXT"

            # the DMA position buffer is written after every burst, so it is current before
            # BCIS is raised for an IOC entry
            with m.State("POS_ADDR"):
                m.d.comb += [bus.awaddr.eq(Cat(Const(0, 7), e.dpl_base) + 8 * e.index),
                             bus.awlen.eq(0), bus.awvalid.eq(1)]
                with m.If(bus.awready):
                    m.next = "POS_DATA"
            with m.State("POS_DATA"):
                m.d.comb += [bus.wdata.eq(dma_pos), bus.wstrb.eq(0xF), bus.wlast.eq(1),
                             bus.wvalid.eq(1)]
                with m.If(bus.wready):
                    m.next = "POS_RESP"
            with m.State("POS_RESP"):
                m.d.comb += bus.bready.eq(1)
                with m.If(bus.bvalid):
                    with m.If(bus.bresp != RESP_OKAY):
                        m.next = "FAULT"
                    with m.Else():
                        m.next = "NEXT"

            with m.State("ENTRY_DONE"):
                m.d.comb += e.bcis_set.eq(ioc)
                m.d.sync += entry_valid.eq(0)
                with m.If(civ == e.lvi):
                    with m.If(e.queue):
                        m.d.comb += e.lvbci_set.eq(1)
                        m.d.sync += halted.eq(1)
                    with m.Else():
                        m.d.sync += next_idx.eq(0)
                with m.Else():
                    m.d.sync += next_idx.eq(civ + 1)
                m.next = "NEXT"

            with m.State("FAULT"):
                m.d.comb += e.dese_set.eq(1)
                m.d.sync += run_req.eq(0)
                m.next = "IDLE"

        m.d.comb += e.run_r.eq(run_req | ~dma_idle)

        # ---- link side ---------------------------------------------------------------------------
        self.xrun = Signal(32)
        m.d.comb += [e.lpib.eq(self.lpib.value), e.xrun.eq(self.xrun)]
        if e.output:
            self._output_link(m)
        else:
            self._input_link(m)
        return m

    def _output_link(self, m):
        """FIFO -> realigner -> frames for the link, with the start threshold and underruns."""
        e, fifo, ra, fmt = self.e, self.fifo, self.ra, self.format
        run_req, halted, xrun = self.run_req, self.halted, self.xrun
        depth = e.fifo_depth
        fb, wide, stereo = fmt.frame_bytes, fmt.wide, fmt.stereo

        # staged frame, decoded from the oldest bytes: 16-bit samples and the top 24 bits of
        # 32-bit containers become MSB-aligned 24-bit samples; mono plays on both channels
        st_valid = Signal()
        st_l, st_r = Signal(24), Signal(24)
        with m.If(~st_valid & (ra.o_level >= fb)):
            d = ra.o_data
            left = Mux(wide, d[8:32], Cat(Const(0, 8), d[0:16]))
            right = Mux(wide, d[40:64], Cat(Const(0, 8), d[16:32]))
            m.d.comb += ra.o_take.eq(fb)
            m.d.sync += [st_valid.eq(1), st_l.eq(left), st_r.eq(Mux(stereo, right, left))]

        # playback starts once the FIFO has filled (or all queued data is in), and waits again
        # after a queue-mode engine ran dry, so a restart is not reported as an underrun
        started = Signal()
        drained = Signal()
        m.d.comb += drained.eq(~st_valid & ~fifo.r_rdy & (ra.o_level < fb))
        with m.If(~run_req | (halted & drained)):
            m.d.sync += started.eq(0)
        with m.Elif((fifo.level >= depth // 2) | halted):
            m.d.sync += started.eq(1)
        m.d.comb += e.fifordy.eq(started)

        last_l, last_r = Signal(24), Signal(24)
        m.submodules.cadence = cadence = Cadence()
        m.d.comb += [cadence.active.eq(run_req & started), cadence.tick.eq(e.frame_tick),
                     cadence.mult.eq(fmt.mult), cadence.div.eq(fmt.div)]
        due = cadence.due
        underrun = Signal()
        m.d.comb += underrun.eq(due & ~st_valid & ~halted)
        with m.If(due & st_valid):
            m.d.comb += [e.tx_valid.eq(1), e.tx_l.eq(st_l), e.tx_r.eq(st_r)]
            with m.If(e.frame_tick):
                m.d.sync += [st_valid.eq(0), last_l.eq(st_l), last_r.eq(st_r)]
                m.d.comb += self.lpib.add.eq(1)
        with m.Elif(underrun):
            m.d.comb += [e.tx_valid.eq(1), e.tx_l.eq(Mux(e.zero, 0, last_l)),
                         e.tx_r.eq(Mux(e.zero, 0, last_r))]
            with m.If(e.frame_tick):
                m.d.comb += e.fifoe_set.eq(1)
                m.d.sync += xrun.eq(xrun + 1)

    def _input_link(self, m):
        """Frames from the link -> FIFO (the realigner then feeds the bus), with overruns."""
        e, fifo, ra, fmt = self.e, self.fifo, self.ra, self.format
        run_req, xrun, fifo_free = self.run_req, self.xrun, self.fifo_free
        fb, wide, stereo = fmt.frame_bytes, fmt.wide, fmt.stereo
        m.d.comb += e.fifordy.eq(run_req)

        # a frame becomes one or two FIFO entries; 16-bit capture keeps the top 16 bits
        pending = Signal()
        pending_word = Signal(32)
        accept = Signal()
        m.d.comb += accept.eq(e.rx_valid & run_req & (e.rx_tag == e.strm) & (e.strm != 0))
        with m.If(pending):
            m.d.comb += [fifo.w_data.eq(Cat(pending_word, Const(4, 3))), fifo.w_en.eq(1)]
            m.d.sync += pending.eq(0)
        with m.Elif(accept):
            with m.If(fifo_free >= 2):
                l16, r16 = e.rx_l[8:24], e.rx_r[8:24]
                word0 = Mux(wide, Cat(Const(0, 8), e.rx_l), Cat(l16, r16))
                count0 = Mux(wide | stereo, 4, 2)
                m.d.comb += [fifo.w_data.eq(Cat(word0, count0)), fifo.w_en.eq(1)]
                m.d.sync += [pending.eq(wide & stereo),
                             pending_word.eq(Cat(Const(0, 8), e.rx_r))]
                m.d.comb += self.lpib.add.eq(1)
            with m.Else():
                m.d.comb += e.fifoe_set.eq(1)
                m.d.sync += xrun.eq(xrun + 1)

        taken = Signal(4)
        m.d.comb += taken.eq(ra.o_take)
        added = Mux(accept & (fifo_free >= 2) & ~pending, fb, 0)
        m.d.sync += self.bytes_avail.eq(self.bytes_avail + added - taken)
