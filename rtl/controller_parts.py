"""The controller's global parts, wired to the register bank by
:class:`rtl.controller.Controller`: the controller reset handshake (:class:`ResetHandshake`),
the wall clock (:class:`WallClock`), the immediate command interface
(:class:`ImmediateCommand`), the queue of the codec's unsolicited responses
(:class:`UnsolicitedQueue`) and the interrupt logic (:class:`InterruptLogic`).

Each part sees register fields as plain ports named after them (``*_w_stb``/``*_w_data`` for a
write request, values for stored fields and for what a read returns), not the bank itself."""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

__all__ = ["ResetHandshake", "WallClock", "ImmediateCommand", "UnsolicitedQueue",
           "InterruptLogic", "STREAM_INTERRUPT_CAUSES"]

#: A stream's interrupt causes as (SDnSTS status bit, SDnCTL enable bit), in the bit order of
#: :class:`InterruptLogic`'s ``causes`` and ``enables``.
STREAM_INTERRUPT_CAUSES = (("BCIS", "IOCE"), ("FIFOE", "FEIE"), ("DESE", "DEIE"),
                           ("LVBCI", "LVBIE"))


class ResetHandshake(wiring.Component):
    """The controller reset handshake of GCTL.CRST.

    Writing 0 puts the controller into reset at once. Writing 1 while in reset starts the
    exit: ``out_of_reset`` rises ``exit_clocks`` clocks after the clock edge that takes the
    write, so that the driver has a real handshake to poll. A 0 written meanwhile cancels the
    exit, a 1 starts it over.

    Members
    -------
    crst_w_stb, crst_w_data : In(1)
        A write of GCTL.CRST.
    out_of_reset : Out(1)
        What CRST reads: 1 once the controller is out of reset (a register).
    in_reset : Out(1)
        The inverse: holds the rest of the controller, and the codec, in reset.
    codec_wake : Out(1)
        High in the first cycle out of reset: the codec answers the first link frames after
        reset, so it is present (sets STATESTS.SDIWAKE).
    """

    def __init__(self, exit_clocks):
        self.exit_clocks = exit_clocks
        super().__init__({
            "crst_w_stb": In(1), "crst_w_data": In(1),
            "out_of_reset": Out(1), "in_reset": Out(1), "codec_wake": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        running = self.out_of_reset
        leaving = Signal(range(self.exit_clocks + 1))   # clocks since the exit began; 0: none
        with m.If(self.crst_w_stb & ~self.crst_w_data):
            m.d.sync += [running.eq(0), leaving.eq(0)]
        with m.Elif(self.crst_w_stb & self.crst_w_data & ~running):
            m.d.sync += leaving.eq(1)
        with m.Elif(leaving != 0):
            with m.If(leaving == self.exit_clocks):
                m.d.sync += [running.eq(1), leaving.eq(0)]
            with m.Else():
                m.d.sync += leaving.eq(leaving + 1)
        was_running = Signal()
        m.d.sync += was_running.eq(running)
        m.d.comb += [self.in_reset.eq(~running), self.codec_wake.eq(running & ~was_running)]
        return m


class WallClock(wiring.Component):
    """The free-running 32-bit clock counter (WALLCLK).

    Only the clock domain's reset clears it, not CRST: the drivers' mapping of WALLCLK to
    system time survives a controller reset.

    Members
    -------
    count : Out(32)
        Clocks since the domain's reset, modulo 2^32.
    """

    def __init__(self):
        super().__init__({"count": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.count.eq(self.count + 1)
        return m


class ImmediateCommand(wiring.Component):
    """The immediate command interface (ICS.ICB, ICOI, IRII, ICS.IRV) over the codec's command
    and response streams.

    Writing 1 to ICB while idle starts a command: ``busy`` (ICB) rises, ``verb`` (ICOI) is
    offered on ``cmd`` until the codec takes it, then ``resp`` is awaited. The response is
    latched into ``response`` (IRII) in the cycle it arrives, ``irv_set`` pulses (ICS.IRV) and
    ``busy`` falls. While ``in_reset`` (CRST) a command is abandoned; ``response`` keeps the
    last one.

    Members
    -------
    in_reset : In(1)
    icb_w_stb, icb_w_data : In(1)
        A write of ICS.ICB.
    verb : In(32)
        ICOI.
    busy : Out(1)
        What ICB reads.
    response : Out(32)
        What IRII reads (a register).
    irv_set : Out(1)
        Sets ICS.IRV.
    cmd : Out(stream.Signature(32)); resp : In(stream.Signature(32))
        The codec's command and response streams (``cmd.payload`` is 0 while idle).
    """

    def __init__(self):
        super().__init__({
            "in_reset": In(1),
            "icb_w_stb": In(1), "icb_w_data": In(1), "verb": In(32),
            "busy": Out(1), "response": Out(32), "irv_set": Out(1),
            "cmd": Out(stream.Signature(32)), "resp": In(stream.Signature(32)),
        })

    def elaborate(self, platform):
        m = Module()
        busy = Signal()
        sent = Signal()             # the codec took the verb: waiting for its response
        # in_reset first: while it is high, nothing is offered or accepted even if busy
        with m.If(self.in_reset):
            m.d.sync += [busy.eq(0), sent.eq(0)]
        with m.Elif(~busy):
            with m.If(self.icb_w_stb & self.icb_w_data):
                m.d.sync += [busy.eq(1), sent.eq(0)]
        with m.Else():
            m.d.comb += [self.cmd.payload.eq(self.verb), self.cmd.valid.eq(~sent)]
            with m.If(self.cmd.valid & self.cmd.ready):
                m.d.sync += sent.eq(1)
            m.d.comb += self.resp.ready.eq(sent)
            with m.If(sent & self.resp.valid):
                m.d.sync += [busy.eq(0), self.response.eq(self.resp.payload)]
                m.d.comb += self.irv_set.eq(1)
        m.d.comb += self.busy.eq(busy)
        return m


class UnsolicitedQueue(wiring.Component):
    """The codec's unsolicited responses, held until the driver reads them (UNSOL).

    A read pops the oldest; an empty queue reads 0. A full queue holds the codec off. Put it
    in a ``ResetInserter`` to empty it on controller reset.

    Members
    -------
    unsol : In(stream.Signature(32))
        The codec's unsolicited responses.
    pop : In(1)
        A read of UNSOL.
    head : Out(32)
        What UNSOL reads: the oldest response, 0 when there is none.
    pending : Out(1)
        High while a response waits (INTSTS.CIS).
    """

    def __init__(self, depth):
        self.depth = depth
        super().__init__({
            "unsol": In(stream.Signature(32)), "pop": In(1),
            "head": Out(32), "pending": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=32, depth=self.depth)
        m.d.comb += [
            fifo.w_data.eq(self.unsol.payload),
            fifo.w_en.eq(self.unsol.valid),
            self.unsol.ready.eq(fifo.w_rdy),
            fifo.r_en.eq(self.pop),
            self.pending.eq(fifo.r_rdy),
        ]
        with m.If(fifo.r_rdy):
            m.d.comb += self.head.eq(fifo.r_data)
        return m


class InterruptLogic(wiring.Component):
    """The controller's interrupt: SIS per stream, GIS and the registered ``irq`` line.

    A stream's SIS is high while one of its status bits is set together with its enable
    (:data:`STREAM_INTERRUPT_CAUSES`). GIS is high while an enabled cause is: a stream's SIS
    with its SIE, MIS with MIE or CIS with CIE. ``irq`` is GIS gated by GIE, one clock later.

    Members
    -------
    causes, enables : In(ArrayLayout(4, num_streams))
        Per stream, the status bits and their enables in the order of
        :data:`STREAM_INTERRUPT_CAUSES`.
    sis : Out(num_streams)
        INTSTS.SISn.
    sie : In(num_streams)
        INTCTL.SIEn.
    mis, cis : In(1)
        The MIDI and codec (unsolicited response) causes; level, like SIS.
    mie, cie, gie : In(1)
        INTCTL's enables.
    gis : Out(1)
        INTSTS.GIS.
    irq : Out(1)
        The interrupt line (a register).
    """

    def __init__(self, num_streams):
        self.num_streams = num_streams
        causes = data.ArrayLayout(unsigned(len(STREAM_INTERRUPT_CAUSES)), num_streams)
        super().__init__({
            "causes": In(causes), "enables": In(causes),
            "sis": Out(num_streams), "sie": In(num_streams),
            "mis": In(1), "cis": In(1),
            "mie": In(1), "cie": In(1), "gie": In(1),
            "gis": Out(1), "irq": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        for n in range(self.num_streams):
            m.d.comb += self.sis[n].eq((self.causes[n] & self.enables[n]).any())
        m.d.comb += self.gis.eq((self.sis & self.sie).any() | (self.mis & self.mie)
                                | (self.cis & self.cie))
        m.d.sync += self.irq.eq(self.gis & self.gie)
        return m
