"""The AXI4 slave that answers the DUT's DMA port from a memory object.

Why not cocotbext-axi's ``AxiSlave``: its stream sinks run Python on every clock of a burst and
keep value-change callbacks alive for the whole run. Here the handshakes and beats are HDL: the
testbench wrapper holds a burst transactor (:mod:`harness.axi_transactor`) and this class runs
once per burst, when the transactor asks: it reads a whole read burst from memory, or stores a
whole write burst, and answers. Between bursts it sleeps on the transactor's request line.

It serves one transaction at a time (a legal AXI slave: the other channel waits), answers SLVERR
for a whole burst when the memory raises, and takes pause generators per channel for
back-pressure: a true value holds ARREADY/AWREADY/WREADY or RVALID/BVALID low for one cycle in
which the transactor would have raised it (values are drawn 64 at a time, on demand).
"""

import cocotb
from cocotb.triggers import RisingEdge

from harness.axi_transactor import KIND_READ, KIND_WRITE, PAUSE_BITS
from harness.backpressure import AXI_CHANNELS, ChannelPauses

__all__ = ["AxiMemorySlave"]

OKAY, SLVERR, DECERR = 0, 2, 3


def _response_of(error):
    """The AXI response for a failed access: DECERR if an injected fault asks for it."""
    return DECERR if getattr(error, "response", None) == "decerr" else SLVERR


class AxiMemorySlave:
    """Answers ``<prefix>_*`` of ``dut`` from ``memory``, which provides ``bus_read(addr, n)``
    and ``bus_write(addr, data, byte_enables)`` and raises to signal a bus error."""

    def __init__(self, dut, memory, prefix="m_axi"):
        self.dut = dut
        self.memory = memory
        tx = f"{prefix}_tx_"
        try:
            self._sig = {name: getattr(dut, tx + name) for name in (
                "enable", "go", "flush", "rdata", "resp", "pause", "pause_on", "req", "kind",
                "chan", "addr", "beats", "wdata", "wstrb")}
        except AttributeError as exc:
            raise RuntimeError(f"the testbench has no burst transactor on {prefix}_* "
                               f"(harness.wrapper adds one to every AXI4 master port)") from exc
        #: bytes per beat and the longest burst the transactor holds, from the HDL's widths
        self.data_bytes = len(getattr(dut, f"{prefix}_rdata")) // 8
        self.max_beats = len(self._sig["rdata"]) // (8 * self.data_bytes)
        self._paused = ChannelPauses()
        self._go = 0
        self._flush = 0
        #: bursts served, for statistics
        self.reads = 0
        self.writes = 0
        self._sig["enable"].value = 1
        self._task = cocotb.start_soon(self._run())

    def set_pause(self, channel, generator):
        """Back-pressure on ``channel`` (aw, w, b, ar, r) from an iterator of booleans, or
        ``None`` for none. Pause values already drawn for any channel are dropped."""
        self._paused.set(channel, generator)
        self._sig["pause_on"].value = sum(
            1 << i for i, ch in enumerate(AXI_CHANNELS) if self._paused.active(ch))
        self._flush ^= 1
        self._sig["flush"].value = self._flush

    async def _run(self):
        s = self._sig
        request = RisingEdge(s["req"])
        while True:
            await request
            kind = int(s["kind"].value)
            if kind == KIND_READ:
                self._read_burst()
            elif kind == KIND_WRITE:
                self._write_burst()
            else:
                ch = AXI_CHANNELS[int(s["chan"].value)]
                s["pause"].value = sum(1 << i for i in range(PAUSE_BITS) if self._paused(ch))
            self._go ^= 1
            s["go"].value = self._go

    def _burst(self):
        s = self._sig
        addr, beats = int(s["addr"].value), int(s["beats"].value)
        if beats > self.max_beats:
            raise RuntimeError(f"the DUT asked for a {beats}-beat burst at {addr:#x}; the "
                               f"testbench transactor holds at most {self.max_beats}")
        n = self.data_bytes
        return addr - addr % n, beats

    def _read_burst(self):
        base, beats = self._burst()
        self.reads += 1
        size = beats * self.data_bytes
        try:
            data, resp = self.memory.bus_read(base, size), OKAY
        except Exception as exc:
            data, resp = bytes(size), _response_of(exc)
        self._sig["rdata"].value = int.from_bytes(data, "little")
        self._sig["resp"].value = resp

    def _write_burst(self):
        base, beats = self._burst()
        self.writes += 1
        size = beats * self.data_bytes
        data = int(self._sig["wdata"].value).to_bytes(self.max_beats * self.data_bytes,
                                                      "little")[:size]
        strb = int(self._sig["wstrb"].value)
        enables = [bool(strb >> i & 1) for i in range(size)]
        try:
            self.memory.bus_write(base, data, enables)
            self._sig["resp"].value = OKAY
        except Exception as exc:
            self._sig["resp"].value = _response_of(exc)
