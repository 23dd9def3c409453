"""A lean AXI4-Lite master for register access.

Like :mod:`cosim.axi_slave`, it exists for speed: cocotbext-axi's master keeps value-change
callbacks on its response channels alive for the whole run, which cocotb's Verilator loop checks
several times per time step. This one runs Python only during an access and none while idle.

Accesses are serialised (a lock), so interrupt handlers and the main flow may both use it. Pause
generators give back-pressure per channel: on AW/W/AR they delay raising VALID (never dropping
it before the handshake, as AXI requires); on B/R they hold READY low.
"""

from cocotb.triggers import Lock, RisingEdge

from harness.backpressure import ChannelPauses

__all__ = ["AxiLiteMaster"]



class AxiLiteMaster:
    """Drives ``<prefix>_*`` of ``dut`` (32-bit data)."""

    def __init__(self, dut, prefix="s_axil", clk=None):
        self.clk = dut.clk if clk is None else clk
        self._sig = {name: getattr(dut, f"{prefix}_{name}") for name in (
            "awaddr", "awprot", "awvalid", "awready", "wdata", "wstrb", "wvalid", "wready",
            "bresp", "bvalid", "bready", "araddr", "arprot", "arvalid", "arready", "rdata",
            "rresp", "rvalid", "rready")}
        for name in ("awaddr", "awprot", "awvalid", "wdata", "wstrb", "wvalid", "bready",
                     "araddr", "arprot", "arvalid", "rready"):
            self._sig[name].value = 0
        self._paused = ChannelPauses()
        self._lock = Lock()
        #: told of each access at its handshake: ``observer(write, address, data)`` (the
        #: driver trace), or None
        self.observer = None

    def set_pause(self, channel, generator):
        """Back-pressure on ``channel`` (aw, w, b, ar, r) from an iterator of booleans, or
        ``None`` for none."""
        self._paused.set(channel, generator)

    async def write(self, addr, data):
        """Write ``data`` (1-4 bytes, not crossing a 32-bit word) at byte address ``addr``;
        WSTRB enables exactly those bytes. Returns BRESP."""
        lane = addr % 4
        if not 1 <= len(data) <= 4 - lane:
            raise ValueError(f"{len(data)} bytes at {addr:#x} do not fit one 32-bit word")
        s = self._sig
        edge = RisingEdge(self.clk)
        async with self._lock:
            await edge
            s["awaddr"].value = addr - lane
            s["wdata"].value = int.from_bytes(data, "little") << (8 * lane)
            s["wstrb"].value = ((1 << len(data)) - 1) << lane
            aw_done = w_done = aw_up = w_up = False
            while not (aw_done and w_done):
                # raise each VALID once its pause lets it; keep it up until the handshake
                aw_up = aw_up or (not aw_done and not self._paused("aw"))
                w_up = w_up or (not w_done and not self._paused("w"))
                s["awvalid"].value = int(aw_up and not aw_done)
                s["wvalid"].value = int(w_up and not w_done)
                await edge
                aw_done = aw_done or (aw_up and s["awready"].value == 1)
                w_done = w_done or (w_up and s["wready"].value == 1)
            s["awvalid"].value = 0
            s["wvalid"].value = 0
            if self.observer is not None:
                self.observer(True, addr, bytes(data))
            while True:
                ready = not self._paused("b")
                s["bready"].value = int(ready)
                await edge
                if ready and s["bvalid"].value == 1:
                    resp = int(s["bresp"].value)
                    break
            s["bready"].value = 0
        return resp

    async def read32(self, addr):
        """Read the 32-bit word at ``addr`` (4-byte aligned). Returns ``(data, RRESP)``."""
        s = self._sig
        edge = RisingEdge(self.clk)
        async with self._lock:
            await edge
            while self._paused("ar"):
                await edge
            s["araddr"].value = addr
            s["arvalid"].value = 1
            while True:
                await edge
                if s["arready"].value == 1:
                    break
            s["arvalid"].value = 0
            while True:
                ready = not self._paused("r")
                s["rready"].value = int(ready)
                await edge
                if ready and s["rvalid"].value == 1:
                    data, resp = int(s["rdata"].value), int(s["rresp"].value)
                    if self.observer is not None:
                        self.observer(False, addr, data.to_bytes(4, "little"))
                    break
            s["rready"].value = 0
        return data, resp
