"""Shares one AXI4 master port between several DMA clients, one burst at a time."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .axi import AXI4Signature

__all__ = ["AXI4Arbiter"]

_REQUEST = ("id", "addr", "len", "size", "burst", "lock", "cache", "prot")


class AXI4Arbiter(wiring.Component):
    """Round-robin arbiter: a client owns the whole port from its AR (or AW) handshake until the
    last R beat (or the B response). A client must not raise AR and AW at the same time. The
    response payloads (R data, id, resp, last; B id, resp) reach every client; ``rvalid`` and
    ``bvalid`` only the owner."""

    def __init__(self, n_clients, addr_width=32, data_width=32):
        if n_clients < 1:
            raise ValueError(f"arbiter needs at least one client, got {n_clients}")
        self.n_clients = n_clients
        sig = AXI4Signature(addr_width, data_width)
        super().__init__({
            **{f"client{i}": In(sig) for i in range(n_clients)},
            "bus": Out(sig),
        })

    def client(self, i):
        return getattr(self, f"client{i}")

    def elaborate(self, platform):
        m = Module()
        n = self.n_clients
        bus = self.bus
        owner = Signal(range(n))
        last = Signal(range(n))  # round-robin pointer: last granted client
        busy = Signal()
        is_write = Signal()

        def route(c):
            with m.If(is_write):
                for k in _REQUEST:
                    m.d.comb += getattr(bus, f"aw{k}").eq(getattr(c, f"aw{k}"))
                m.d.comb += [
                    bus.awvalid.eq(c.awvalid), c.awready.eq(bus.awready),
                    bus.wdata.eq(c.wdata), bus.wstrb.eq(c.wstrb), bus.wlast.eq(c.wlast),
                    bus.wvalid.eq(c.wvalid), c.wready.eq(bus.wready),
                    c.bvalid.eq(bus.bvalid), bus.bready.eq(c.bready),
                ]
            with m.Else():
                for k in _REQUEST:
                    m.d.comb += getattr(bus, f"ar{k}").eq(getattr(c, f"ar{k}"))
                m.d.comb += [
                    bus.arvalid.eq(c.arvalid), c.arready.eq(bus.arready),
                    c.rvalid.eq(bus.rvalid), bus.rready.eq(c.rready),
                ]

        # responses go to every client; only the owner sees its valid
        for i in range(n):
            c = self.client(i)
            m.d.comb += [c.rid.eq(bus.rid), c.rdata.eq(bus.rdata), c.rresp.eq(bus.rresp),
                         c.rlast.eq(bus.rlast), c.bid.eq(bus.bid), c.bresp.eq(bus.bresp)]
        with m.If(busy):
            with m.Switch(owner):
                for i in range(n):
                    with m.Case(i):
                        route(self.client(i))
            with m.If(is_write & bus.bvalid & bus.bready):
                m.d.sync += busy.eq(0)
            with m.If(~is_write & bus.rvalid & bus.rready & bus.rlast):
                m.d.sync += busy.eq(0)
        with m.Else():
            # grant the first requester after the last owner (round robin)
            with m.Switch(last):
                for prev in range(n):
                    with m.Case(prev):
                        for step in range(1, n + 1):
                            i = (prev + step) % n
                            c = self.client(i)
                            cond = (m.If if step == 1 else m.Elif)
                            with cond(c.arvalid | c.awvalid):
                                m.d.sync += [busy.eq(1), owner.eq(i), last.eq(i),
                                             is_write.eq(c.awvalid)]
        return m
