"""The HDA-style controller: register bank, stream engines, DMA arbiter, link master,
immediate command interface, MIDI UART, interrupts, wall clock and controller reset (CRST).
:class:`Controller` wires these to the register bank; the global ones are in
:mod:`rtl.controller_parts`."""

from amaranth.hdl import Module, Signal, Cat, Const, ResetInserter
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from .axi import AXI4LiteSignature, AXI4Signature
from .axil_slave import AXI4LiteToCSR
from .axi_arbiter import AXI4Arbiter
from .checked import CheckedComponent
from .controller_parts import (ImmediateCommand, InterruptLogic, ResetHandshake,
                               STREAM_INTERRUPT_CAUSES, UnsolicitedQueue, WallClock)
from .csr_bank import RegisterBank
from .i2s_link import LinkMaster
from .midi import MidiUart
from .regmap import (REGMAP, NUM_STREAMS, OUTPUT_STREAMS, INPUT_STREAMS, midi_divisor,
                     stream_reg)
from .stream_dma import StreamEngine

__all__ = ["Controller", "frame_clocks_for"]

LINK_RATE = 48000
#: clocks from writing CRST=1 until the controller reads out of reset (a real handshake to poll)
CRST_EXIT_CLOCKS = 16
#: codec unsolicited responses the controller holds until the driver reads them (UNSOL)
UNSOL_DEPTH = 8


def frame_clocks_for(clk_hz):
    """Clocks per 48 kHz link frame; the link needs 256 clocks per frame (bclk = clk/2)."""
    if clk_hz % LINK_RATE or clk_hz // LINK_RATE < 256:
        raise ValueError(f"clock {clk_hz} Hz is not a multiple of 48 kHz of at least "
                         f"{256 * LINK_RATE} Hz (256 clocks per link frame)")
    return clk_hz // LINK_RATE


class Controller(CheckedComponent):
    """HDA-style audio controller with SD0 (capture) and SD1/SD2 (render).

    The codec is reached through the serial link pins and the immediate-command streams
    ``codec_cmd``/``codec_resp``; ``codec_reset`` is high while CRST holds the link in reset.
    ``codec_unsol`` takes the codec's unsolicited responses into the queue the driver pops
    through UNSOL (:data:`UNSOL_DEPTH` entries; a full queue holds the codec off).

    ``midi_tx``/``midi_rx`` are the MIDI UART's serial pins (idle high)."""

    @classmethod
    def check_parameters(cls, clk_hz=12_288_000, fifo_depth=64):
        frame_clocks_for(clk_hz)

    def __init__(self, clk_hz=12_288_000, fifo_depth=64):
        self.clk_hz = clk_hz
        self.frame_clocks = frame_clocks_for(clk_hz)
        self.midi_divisor = midi_divisor(clk_hz)
        self.fifo_depth = fifo_depth
        super().__init__({
            "s_axil": In(AXI4LiteSignature(16)),
            "m_axi": Out(AXI4Signature(32, 32)),
            "irq": Out(1),
            "i2s_bclk": Out(1), "i2s_lrclk": Out(1), "i2s_dout": Out(1), "i2s_din": In(1),
            "codec_cmd": Out(stream.Signature(32)),
            "codec_resp": In(stream.Signature(32)),
            "codec_unsol": In(stream.Signature(32)),
            "codec_reset": Out(1),
            "midi_tx": Out(1, init=1), "midi_rx": In(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        # MIDI_DIV's reset gives 31250 baud at this clock (the register map documents the
        # reference clock's value)
        m.submodules.bank = bank = RegisterBank(
            REGMAP, addr_width=14, resets={("MIDI_DIV", "DIV"): self.midi_divisor})
        m.submodules.axil = axil = AXI4LiteToCSR(16)
        wiring.connect(m, wiring.flipped(self.s_axil), axil.axil)
        wiring.connect(m, axil.csr, bank.bus)
        r = bank.reg

        m.submodules.wallclock = wallclock = WallClock()
        m.d.comb += r("WALLCLK").COUNT.r_data.eq(wallclock.count)
        m.submodules.crst = crst = ResetHandshake(CRST_EXIT_CLOCKS)
        gctl = r("GCTL").CRST
        m.d.comb += [crst.crst_w_stb.eq(gctl.w_stb), crst.crst_w_data.eq(gctl.w_data),
                     gctl.r_data.eq(crst.out_of_reset), self.codec_reset.eq(crst.in_reset),
                     r("STATESTS").SDIWAKE.set.eq(crst.codec_wake)]
        in_reset = crst.in_reset
        self._wire_constant_registers(m, r)

        # the stream engines, the link, the unsolicited response queue and the MIDI block are
        # held in reset while CRST is 0
        engines = self._add_stream_engines(m, bank, in_reset)
        m.submodules.link = link = ResetInserter(in_reset)(LinkMaster(self.frame_clocks))
        m.d.comb += [link.enable.eq(crst.out_of_reset), self.i2s_bclk.eq(link.bclk),
                     self.i2s_lrclk.eq(link.lrclk), self.i2s_dout.eq(link.dout),
                     link.din.eq(self.i2s_din)]
        self._wire_link_slots(m, link, engines)

        m.submodules.icmd = icmd = ImmediateCommand()
        wiring.connect(m, icmd.cmd, wiring.flipped(self.codec_cmd))
        wiring.connect(m, wiring.flipped(self.codec_resp), icmd.resp)
        ics = r("ICS")
        m.d.comb += [icmd.in_reset.eq(in_reset), icmd.icb_w_stb.eq(ics.ICB.w_stb),
                     icmd.icb_w_data.eq(ics.ICB.w_data), icmd.verb.eq(r("ICOI").VERB.data),
                     ics.ICB.r_data.eq(icmd.busy), ics.IRV.set.eq(icmd.irv_set),
                     r("IRII").RESP.r_data.eq(icmd.response)]

        m.submodules.unsol = unsol = ResetInserter(in_reset)(UnsolicitedQueue(UNSOL_DEPTH))
        wiring.connect(m, wiring.flipped(self.codec_unsol), unsol.unsol)
        m.d.comb += [unsol.pop.eq(r("UNSOL").r_stb), r("UNSOL").RESP.r_data.eq(unsol.head)]

        midi = MidiUart()
        m.submodules.midi = ResetInserter(in_reset)(midi)
        self._wire_midi_registers(m, r, midi)
        m.d.comb += [midi.wallclk.eq(wallclock.count), self.midi_tx.eq(midi.tx),
                     midi.rx.eq(self.midi_rx)]

        m.submodules.interrupts = interrupts = InterruptLogic(NUM_STREAMS)
        # levels: MIS while the MIDI data port has a byte to read, CIS while any unsolicited
        # response remains
        m.d.comb += [interrupts.mis.eq(midi.irq), interrupts.cis.eq(unsol.pending),
                     self.irq.eq(interrupts.irq)]
        self._wire_interrupt_registers(m, r, interrupts)
        return m

    @staticmethod
    def _wire_constant_registers(m, r):
        # a list, not a set: elaboration order must not depend on hash seeds, or the Verilog
        # (and the content-hashed build cache key) would change from process to process
        constant = ["GCAP", "VMIN", "VMAJ", "DPUBASE"] + [stream_reg("BDPU", n)
                                                          for n in range(NUM_STREAMS)]
        for name in constant:
            for f in REGMAP[name].fields:
                m.d.comb += getattr(r(name), f.name).r_data.eq(f.reset)

    def _add_stream_engines(self, m, bank, in_reset):
        """The stream engines (held in reset while ``in_reset``) and their DMA arbiter."""
        r = bank.reg
        m.submodules.arbiter = arbiter = AXI4Arbiter(NUM_STREAMS)
        wiring.connect(m, arbiter.bus, wiring.flipped(self.m_axi))
        engines = {}
        for n in range(NUM_STREAMS):
            eng = StreamEngine(n, output=n in OUTPUT_STREAMS, fifo_depth=self.fifo_depth)
            m.submodules[f"sd{n}"] = ResetInserter(in_reset)(eng)
            engines[n] = eng
            wiring.connect(m, eng.bus, arbiter.client(n))
            self._wire_stream_registers(m, r, n, eng)
            m.d.comb += [eng.dpl_enable.eq(r("DPLBASE").ENABLE.data),
                         eng.dpl_base.eq(r("DPLBASE").BASE.data)]
        # CRST clears every register group, a stream's SRST its own
        m.d.comb += bank.clear.eq(Cat(*[
            in_reset | (engines[int(g[2:])].srst_r if g.startswith("sd") else 0)
            for g in bank.groups]))
        return engines

    @staticmethod
    def _wire_link_slots(m, link, engines):
        slots = []
        for n in OUTPUT_STREAMS:
            eng = engines[n]
            m.d.comb += eng.frame_tick.eq(link.frame_tick)
            for chan, sample in ((0, eng.tx_l), (1, eng.tx_r)):
                # an empty slot is all zeros; the engine's samples already are 0 while it sends
                # nothing (tx_valid low), so only the channel and tag bits need the gate
                tag = Cat(Const(chan, 1), eng.strm)
                word = Signal(32, name=f"sd{n}_slot{chan}")
                m.d.comb += word.eq(Cat(sample, Const(0, 3),
                                        tag & eng.tx_valid.replicate(len(tag))))
                slots.append(word)
        # slot 0 is the most significant word of the frame
        m.d.comb += link.tx_slots.eq(Cat(*reversed(slots)))
        for n in INPUT_STREAMS:
            eng = engines[n]
            left, right = link.rx_slots[96:128], link.rx_slots[64:96]
            m.d.comb += [eng.frame_tick.eq(link.frame_tick), eng.rx_valid.eq(link.rx_valid),
                         eng.rx_tag.eq(left[28:32]), eng.rx_l.eq(left[0:24]),
                         eng.rx_r.eq(right[0:24])]

    @staticmethod
    def _wire_interrupt_registers(m, r, interrupts):
        intctl, intsts = r("INTCTL"), r("INTSTS")
        for n in range(NUM_STREAMS):
            ctl, sts = r(stream_reg("CTL", n)), r(stream_reg("STS", n))
            m.d.comb += [
                interrupts.causes[n].eq(Cat(*[getattr(sts, status).data
                                              for status, _ in STREAM_INTERRUPT_CAUSES])),
                interrupts.enables[n].eq(Cat(*[getattr(ctl, enable).data
                                               for _, enable in STREAM_INTERRUPT_CAUSES])),
                interrupts.sie[n].eq(getattr(intctl, f"SIE{n}").data),
                getattr(intsts, f"SIS{n}").r_data.eq(interrupts.sis[n]),
            ]
        m.d.comb += [interrupts.mie.eq(intctl.MIE.data), interrupts.cie.eq(intctl.CIE.data),
                     interrupts.gie.eq(intctl.GIE.data),
                     intsts.MIS.r_data.eq(interrupts.mis), intsts.CIS.r_data.eq(interrupts.cis),
                     intsts.GIS.r_data.eq(interrupts.gis)]

    @staticmethod
    def _wire_midi_registers(m, r, midi):
        data, stat, err = r("MIDI_DATA"), r("MIDI_STAT"), r("MIDI_ERR")
        mq = r("MQ_DATA").DATA
        m.d.comb += [
            midi.data_w_stb.eq(data.DATA.w_stb), midi.data_w_data.eq(data.DATA.w_data),
            midi.data_r_stb.eq(data.r_stb), data.DATA.r_data.eq(midi.data_r_data),
            # MIDI_STAT is written as one command byte and read as status bits
            midi.cmd_w_stb.eq(stat.w_stb),
            midi.cmd_w_data.eq(Cat(stat.CMD.w_data, stat.DRR.w_data, stat.DSR.w_data)),
            stat.CMD.r_data.eq(0), stat.DRR.r_data.eq(midi.drr), stat.DSR.r_data.eq(midi.dsr),
            midi.div.eq(r("MIDI_DIV").DIV.data),
            err.FRAMING.r_data.eq(midi.framing_errors), err.OVERRUN.r_data.eq(midi.overruns),
            midi.mq_time.eq(r("MQ_TIME").TIME.data),
            midi.mq_w_stb.eq(mq.w_stb), midi.mq_w_data.eq(mq.w_data), mq.r_data.eq(0),
            r("MQ_FREE").FREE.r_data.eq(midi.mq_free),
        ]

    @staticmethod
    def _wire_stream_registers(m, r, n, eng):
        ctl, sts, fmt = r(stream_reg("CTL", n)), r(stream_reg("STS", n)), r(stream_reg("FMT", n))
        mode = r(stream_reg("MODE", n))
        m.d.comb += [
            eng.srst_w_stb.eq(ctl.SRST.w_stb), eng.srst_w_data.eq(ctl.SRST.w_data),
            ctl.SRST.r_data.eq(eng.srst_r),
            eng.run_w_stb.eq(ctl.RUN.w_stb), eng.run_w_data.eq(ctl.RUN.w_data),
            ctl.RUN.r_data.eq(eng.run_r),
            eng.strm.eq(ctl.STRM.data),
            sts.BCIS.set.eq(eng.bcis_set), sts.FIFOE.set.eq(eng.fifoe_set),
            sts.DESE.set.eq(eng.dese_set), sts.LVBCI.set.eq(eng.lvbci_set),
            sts.FIFORDY.r_data.eq(eng.fifordy),
            r(stream_reg("LPIB", n)).LPIB.r_data.eq(eng.lpib),
            eng.cbl.eq(r(stream_reg("CBL", n)).CBL.data),
            eng.lvi.eq(r(stream_reg("LVI", n)).LVI.data),
            r(stream_reg("FIFOS", n)).FIFOS.r_data.eq(eng.fifos),
            eng.fmt.eq(Cat(fmt.CHAN.data, fmt.BITS.data, Const(0, 1), fmt.DIV.data,
                           fmt.MULT.data, fmt.BASE.data, Const(0, 1))),
            eng.fmt_w_stb.eq(fmt.w_stb),
            eng.bdpl.eq(r(stream_reg("BDPL", n)).BASE.data),
            eng.queue.eq(mode.QUEUE.data), eng.zero.eq(mode.ZERO.data),
            r(stream_reg("CIV", n)).CIV.r_data.eq(eng.civ),
            r(stream_reg("PICB", n)).PICB.r_data.eq(eng.picb),
            r(stream_reg("XRUN", n)).XRUN.r_data.eq(eng.xrun),
        ]
