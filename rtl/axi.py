"""AXI4 and AXI4-Lite signatures (initiator side) with cocotbext-axi member names."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AXI4LiteSignature", "AXI4Signature", "AXI4ReadSignature", "AXI4WriteSignature",
           "RESP_OKAY", "RESP_SLVERR", "RESP_DECERR", "BURST_INCR", "SIZE_WORD", "CACHE_MODIFIABLE",
           "connect_channels"]

RESP_OKAY = 0b00
RESP_SLVERR = 0b10
RESP_DECERR = 0b11
BURST_INCR = 0b01
SIZE_WORD = 2                   # AxSIZE of 4-byte beats
CACHE_MODIFIABLE = 0b0011       # AxCACHE: normal non-cacheable bufferable memory


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


def _axi4_members(addr_width, data_width):
    if data_width not in (32, 64, 128):
        raise ValueError(f"AXI data width {data_width} is not 32, 64 or 128")
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
    return members


class AXI4Signature(wiring.Signature):
    """AXI4 full, initiator (manager) side: INCR bursts, one ID bit."""

    def __init__(self, addr_width=32, data_width=32):
        self.addr_width = addr_width
        self.data_width = data_width
        super().__init__(_axi4_members(addr_width, data_width))


class _AXI4Channels(wiring.Signature):
    """Some of the channels of :class:`AXI4Signature` (those whose member names start with one
    of ``CHANNELS``), with the same member names."""

    CHANNELS = ()

    def __init__(self, addr_width=32, data_width=32):
        self.addr_width = addr_width
        self.data_width = data_width
        super().__init__({name: member for name, member in
                          _axi4_members(addr_width, data_width).items()
                          if name.startswith(self.CHANNELS)})


class AXI4ReadSignature(_AXI4Channels):
    """The read channels (AR, R) of :class:`AXI4Signature`, same member names."""

    CHANNELS = ("ar", "r")


class AXI4WriteSignature(_AXI4Channels):
    """The write channels (AW, W, B) of :class:`AXI4Signature`, same member names."""

    CHANNELS = ("aw", "w", "b")


def connect_channels(m, part, bus):
    """Wire ``part`` (an initiator-side :class:`AXI4ReadSignature` or
    :class:`AXI4WriteSignature` port) to the same-named members of ``bus`` (an initiator-side
    :class:`AXI4Signature` port that the enclosing component drives outwards)."""
    for name, member in part.signature.members.items():
        ours, theirs = getattr(part, name), getattr(bus, name)
        m.d.comb += theirs.eq(ours) if member.flow == Out else ours.eq(theirs)
