"""On-board block RAM shared by the host bridge and the controller's AXI4 DMA master."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from .axi import AXI4Signature, RESP_OKAY, RESP_DECERR
from .bridge_map import RAM_BASE
from .uartbone import MemPortSignature

__all__ = ["BoardRam"]

BEAT_BYTES = 4


class BoardRam(wiring.Component):
    """``size`` bytes of block RAM (a power of two) serving two sides.

    One RAM port (so it maps to block RAM with byte enables), shared: the DMA side has it when
    it needs it, ``host`` (the bridge) is granted it otherwise. ``axi`` is an AXI4 slave for
    the DMA master at byte address :data:`~rtl.bridge_map.RAM_BASE`: one transaction at a
    time, INCR bursts of 32-bit beats with byte strobes; an address outside
    ``[RAM_BASE, RAM_BASE + size)`` answers DECERR (writes are dropped, reads return 0), so a
    stray DMA address becomes a bus error the controller reports (DESE) rather than a silent
    write somewhere in the RAM."""

    def __init__(self, size=64 * 1024):
        if size & (size - 1) or size < 1024:
            raise ValueError(f"board RAM size {size} is not a power of two of at least 1 KiB")
        self.size = size
        self.words = size // BEAT_BYTES
        super().__init__({
            "host": In(MemPortSignature((self.words - 1).bit_length())),
            "axi": In(AXI4Signature(32, 32)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=32, depth=self.words, init=[])
        read = mem.read_port()
        write = mem.write_port(granularity=8)
        h = self.host
        a = self.axi
        addr = Signal(32)
        beats_left = Signal(8)
        inside = Signal()
        rdata = Signal(32)
        dma_uses = Signal()             # the DMA side has the port this clock
        dma_addr = addr[2:2 + (self.words - 1).bit_length()]
        m.d.comb += [h.r_data.eq(read.data), h.grant.eq(~dma_uses)]
        with m.If(dma_uses):
            m.d.comb += [read.addr.eq(dma_addr), write.addr.eq(dma_addr),
                         write.data.eq(a.wdata)]
        with m.Else():
            m.d.comb += [read.addr.eq(h.addr), write.addr.eq(h.addr), write.data.eq(h.w_data),
                         write.en.eq(h.w_en)]
        m.d.comb += [a.rdata.eq(rdata), a.rresp.eq(RESP_OKAY), a.bresp.eq(RESP_OKAY),
                     a.rlast.eq(beats_left == 0)]
        with m.If(~inside):
            m.d.comb += [a.rresp.eq(RESP_DECERR), a.bresp.eq(RESP_DECERR)]

        def start(m, channel_addr, channel_len, channel_id, reply_id, state):
            m.d.sync += [addr.eq(channel_addr), beats_left.eq(channel_len),
                         inside.eq((channel_addr >= RAM_BASE) &
                                   (channel_addr < RAM_BASE + self.size)),
                         reply_id.eq(channel_id)]
            m.next = state

        with m.FSM():
            with m.State("IDLE"):
                with m.If(a.awvalid):
                    m.d.comb += a.awready.eq(1)
                    start(m, a.awaddr, a.awlen, a.awid, a.bid, "WRITE")
                with m.Elif(a.arvalid):
                    m.d.comb += a.arready.eq(1)
                    start(m, a.araddr, a.arlen, a.arid, a.rid, "READ_ADDR")
            with m.State("WRITE"):
                m.d.comb += a.wready.eq(1)
                with m.If(a.wvalid):
                    m.d.comb += [dma_uses.eq(1), write.en.eq(a.wstrb & inside.replicate(4))]
                    m.d.sync += addr.eq(addr + BEAT_BYTES)
                    with m.If(a.wlast):
                        m.next = "WRITE_RESP"
            with m.State("WRITE_RESP"):
                m.d.comb += a.bvalid.eq(1)
                with m.If(a.bready):
                    m.next = "IDLE"
            with m.State("READ_ADDR"):
                m.d.comb += dma_uses.eq(1)
                m.next = "READ_DATA"        # the RAM's data follows its address by a clock
            with m.State("READ_DATA"):
                m.d.sync += rdata.eq(read.data & inside.replicate(32))
                m.next = "READ"
            with m.State("READ"):
                m.d.comb += a.rvalid.eq(1)
                with m.If(a.rready):
                    with m.If(beats_left == 0):
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [addr.eq(addr + BEAT_BYTES), beats_left.eq(beats_left - 1)]
                        m.next = "READ_ADDR"
        return m
