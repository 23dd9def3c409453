"""AXI4 and AXI4-Lite signatures (initiator side) with cocotbext-axi member names."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AXI4LiteSignature", "AXI4Signature", "RESP_OKAY", "RESP_SLVERR", "RESP_DECERR",
           "BURST_INCR"]

RESP_OKAY = 0b00
RESP_SLVERR = 0b10
RESP_DECERR = 0b11
BURST_INCR = 0b01


class AXI4LiteSignature(wiring.Signature):
    """AXI4-Lite, initiator (manager) side; 32-bit data."""

    def __init__(self, addr_width):
        self.addr_width = addr_width
        super().__init__({
            "awaddr": Out(addr_width), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
            "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "araddr": Out(addr_width), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
            "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
        })


class AXI4Signature(wiring.Signature):
    """AXI4 full, initiator (manager) side: INCR bursts, one ID bit."""

    def __init__(self, addr_width=32, data_width=32):
        if data_width not in (32, 64, 128):
            raise ValueError(f"AXI data width {data_width} is not 32, 64 or 128")
        self.addr_width = addr_width
        self.data_width = data_width
        members = {}
        for ch in ("aw", "ar"):
            members.update({
                f"{ch}id": Out(1), f"{ch}addr": Out(addr_width), f"{ch}len": Out(8),
                f"{ch}size": Out(3), f"{ch}burst": Out(2), f"{ch}lock": Out(1),
                f"{ch}cache": Out(4), f"{ch}prot": Out(3), f"{ch}valid": Out(1),
                f"{ch}ready": In(1),
            })
        members.update({
            "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wlast": Out(1),
            "wvalid": Out(1), "wready": In(1),
            "bid": In(1), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "rid": In(1), "rdata": In(data_width), "rresp": In(2), "rlast": In(1),
            "rvalid": In(1), "rready": Out(1),
        })
        super().__init__(members)
