"""AXI4-Lite slave that drives the register bank's simple bus."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .axi import AXI4LiteSignature, RESP_OKAY
from .csr_bank import CSRBusSignature

__all__ = ["AXI4LiteToCSR"]


class AXI4LiteToCSR(wiring.Component):
    """One transaction at a time; every access answers OKAY (unmapped reads return 0 and
    unmapped writes are dropped by the bank). A write needs AW and W together."""

    def __init__(self, addr_width=16):
        super().__init__({
            "axil": In(AXI4LiteSignature(addr_width)),
            "csr": Out(CSRBusSignature(addr_width - 2)),
        })

    def elaborate(self, platform):
        m = Module()
        a, c = self.axil, self.csr
        # the bus side is registered: the bank decodes from flops only, so simulators evaluate
        # its address compares once per clock rather than on every change of the AXI inputs
        m.d.comb += [a.bresp.eq(RESP_OKAY), a.rresp.eq(RESP_OKAY), a.rdata.eq(c.r_data)]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(a.awvalid & a.wvalid):
                    m.d.comb += [a.awready.eq(1), a.wready.eq(1)]
                    m.d.sync += [c.addr.eq(a.awaddr[2:]), c.w_data.eq(a.wdata),
                                 c.w_strb.eq(a.wstrb), c.w_stb.eq(1)]
                    m.next = "WRITE_RESP"
                with m.Elif(a.arvalid):
                    m.d.comb += a.arready.eq(1)
                    m.d.sync += [c.addr.eq(a.araddr[2:]), c.r_stb.eq(1)]
                    m.next = "READ_WAIT"
            with m.State("WRITE_RESP"):
                m.d.sync += c.w_stb.eq(0)
                m.d.comb += a.bvalid.eq(1)
                with m.If(a.bready):
                    m.next = "IDLE"
            with m.State("READ_WAIT"):
                m.d.sync += c.r_stb.eq(0)
                m.next = "READ_RESP"
            with m.State("READ_RESP"):
                # the bank registered r_data after r_stb and holds it
                m.d.comb += a.rvalid.eq(1)
                with m.If(a.rready):
                    m.next = "IDLE"
        return m
