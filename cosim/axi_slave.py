"""A lean AXI4 slave that answers the DUT's DMA port from a memory object.

Why not cocotbext-axi's ``AxiSlave``: every stream sink there keeps two value-change callbacks
(valid and ready) alive for the whole run, and cocotb's Verilator loop checks each of them
several times per time step, idle or not: about half of the simulator's time with audio_soc.
This slave sleeps on one signal the testbench wrapper provides (``<prefix>_req``, the OR of
ARVALID and AWVALID) and runs Python once per clock only while a burst is in flight.

It serves one transaction at a time (a legal AXI slave: it holds the other channel's READY low),
answers SLVERR for a whole burst when the memory raises, and takes pause generators per channel
for back-pressure: a true value holds ARREADY/AWREADY/WREADY low or RVALID/BVALID low that cycle.
"""

import cocotb
from cocotb.triggers import RisingEdge

from .backpressure import ChannelPauses

__all__ = ["AxiMemorySlave"]

OKAY, SLVERR = 0, 2


def _high(signal):
    """A 1-bit signal reads 1 (X or Z, as before the first evaluation, read as 0)."""
    value = signal.value
    return value.is_resolvable and int(value) == 1


class AxiMemorySlave:
    """Answers ``<prefix>_*`` of ``dut`` from ``memory``, which provides ``bus_read(addr, n)``
    and ``bus_write(addr, data, byte_enables)`` and raises to signal a bus error."""

    def __init__(self, dut, memory, prefix="m_axi", clk=None, data_bytes=4):
        self.dut = dut
        self.memory = memory
        self.clk = dut.clk if clk is None else clk
        self.data_bytes = data_bytes
        self._sig = {name: getattr(dut, f"{prefix}_{name}") for name in (
            "req", "araddr", "arlen", "arvalid", "arready", "rdata", "rresp", "rlast", "rvalid",
            "rready", "rid", "awaddr", "awlen", "awvalid", "awready", "wdata", "wstrb", "wlast",
            "wvalid", "wready", "bresp", "bvalid", "bready", "bid")}
        self._paused = ChannelPauses()
        #: bursts served, for statistics
        self.reads = 0
        self.writes = 0
        for name in ("arready", "rvalid", "rdata", "rresp", "rlast", "rid", "awready", "wready",
                     "bvalid", "bresp", "bid"):
            self._sig[name].value = 0
        self._task = cocotb.start_soon(self._run())

    def set_pause(self, channel, generator):
        """Back-pressure on ``channel`` (aw, w, b, ar, r) from an iterator of booleans, or
        ``None`` for none."""
        self._paused.set(channel, generator)

    async def _run(self):
        s = self._sig
        edge = RisingEdge(self.clk)
        wake = RisingEdge(s["req"])
        while True:
            if not _high(s["req"]):
                await wake
            await edge                       # pre-edge values from here on
            if _high(s["arvalid"]):
                await self._read_burst(edge)
            elif _high(s["awvalid"]):
                await self._write_burst(edge)

    async def _handshake(self, edge, channel, ready):
        """Raise READY (subject to back-pressure) until the DUT's VALID meets it."""
        s = self._sig
        while True:
            paused = self._paused(channel)
            s[ready].value = 0 if paused else 1
            await edge
            if not paused:
                s[ready].value = 0
                return

    async def _read_burst(self, edge):
        s = self._sig
        addr, beats = int(s["araddr"].value), int(s["arlen"].value) + 1
        await self._handshake(edge, "ar", "arready")
        self.reads += 1
        n = self.data_bytes
        base = addr - addr % n
        try:
            data, resp = self.memory.bus_read(base, beats * n), OKAY
        except Exception:
            data, resp = bytes(beats * n), SLVERR
        s["rresp"].value = resp
        beat = 0
        while beat < beats:
            paused = self._paused("r")
            if not paused:
                s["rdata"].value = int.from_bytes(data[beat * n:(beat + 1) * n], "little")
                s["rlast"].value = int(beat == beats - 1)
            s["rvalid"].value = 0 if paused else 1
            await edge
            if not paused and _high(s["rready"]):
                beat += 1
        s["rvalid"].value = 0
        s["rlast"].value = 0

    async def _write_burst(self, edge):
        s = self._sig
        addr, beats = int(s["awaddr"].value), int(s["awlen"].value) + 1
        await self._handshake(edge, "aw", "awready")
        self.writes += 1
        n = self.data_bytes
        base = addr - addr % n
        data = bytearray()
        enables = []
        while len(enables) < beats * n:
            paused = self._paused("w")
            s["wready"].value = 0 if paused else 1
            await edge
            if not paused and _high(s["wvalid"]):
                data += int(s["wdata"].value).to_bytes(n, "little")
                strb = int(s["wstrb"].value)
                enables += [bool(strb >> i & 1) for i in range(n)]
        s["wready"].value = 0
        try:
            self.memory.bus_write(base, bytes(data), enables)
            s["bresp"].value = OKAY
        except Exception:
            s["bresp"].value = SLVERR
        while True:
            paused = self._paused("b")
            s["bvalid"].value = 0 if paused else 1
            await edge
            if not paused and _high(s["bready"]):
                break
        s["bvalid"].value = 0
