"""Register-level programming of the controller, in the order Linux's HDA driver uses.

This is the bring-up layer the foundation tests, the benchmark's register path and the HAL
tests use: the miniports' hardware objects (:mod:`miniports.hda`) driven directly, without a
port or miniport around them, plus what tests need that a driver never does (streams
programmed from explicit segments, any CTL/MODE bit combination).
"""

from portdrv.hal import ResourceList

from miniports.hda import BDL_ENTRY_BYTES, Bdl, HdaController as _Hardware, fmt_value, verb
from rtl.regmap import REGMAP, stream_reg

from .hal import SimPhysicalMemory, SimScheduler

__all__ = ["HdaController", "StreamBuffer", "fmt_value", "verb", "BDL_ENTRY_BYTES"]

#: nanoseconds per 100-ns unit
_NS = 100


class StreamBuffer(Bdl):
    """A BDL over explicit ``(address, length, ioc)`` segments; ``bdl`` is its address."""

    def __init__(self, memory, segments, capacity=None):
        super().__init__(memory, capacity or max(len(segments), 1))
        self.segments = list(segments)
        self.set_entries(self.segments)

    @property
    def bdl(self):
        return self.address


class HdaController:
    """Controller bring-up and stream programming over a register window (``regs``, a
    :class:`cosim.regwindow.RegisterWindow`), host memory and its page allocator."""

    def __init__(self, regs, mem, alloc):
        self.regs = regs
        self.mem = mem
        self.alloc = alloc
        self.memory = SimPhysicalMemory(mem, alloc)
        self.hw = _Hardware(ResourceList(registers=regs.bus, interrupt=None,
                                         memory=self.memory, scheduler=SimScheduler()))

    @property
    def position_buffer(self):
        return self.hw.position_buffer

    # --- controller ------------------------------------------------------------------------

    async def reset(self):
        """CRST handshake: enter reset, leave it, wait for the codec's wake bit, clear it."""
        if await self.hw.reset() != 0:
            raise TimeoutError("no codec woke up after the controller reset (STATESTS)")

    async def command(self, word):
        """Send one codec verb through the immediate command interface; return the response."""
        return await self.hw.command(word)

    async def enable_position_buffer(self):
        await self.hw.enable_position_buffer()

    def dma_position(self, n):
        return self.hw.dma_position(n)

    async def enable_interrupts(self, *streams):
        value = REGMAP["INTCTL"].encode(GIE=1, **{f"SIE{n}": 1 for n in streams})
        await self.regs.write("INTCTL", value)

    # --- codec -----------------------------------------------------------------------------

    async def route_dac(self, dac_nid, tag, fmt):
        """Point a codec converter at stream ``tag`` with format ``fmt`` (verbs 0x706, 0x2)."""
        await self.hw.codec.set_converter_stream(dac_nid, tag)
        await self.hw.codec.set_converter_format(dac_nid, fmt)

    # --- streams ---------------------------------------------------------------------------

    async def stream_reset(self, n):
        """SRST handshake: enter, wait for it to read 1, leave, wait for 0."""
        await self.hw.streams[n].reset()

    def build_buffer(self, segments, bdl_entries=None):
        """Write a BDL for ``segments`` [(addr, len, ioc)] and return the StreamBuffer."""
        return StreamBuffer(self.memory, segments, bdl_entries)

    def write_bdl_entry(self, buf, index, addr, length, ioc):
        buf.set_entry(index, addr, length, ioc)

    async def setup_stream(self, n, buf, fmt, tag, queue=False, lvi=None, zero=False,
                           ioce=True, feie=False, deie=False, lvbie=False):
        """Program SDn for ``buf`` after a stream reset (Linux order: BDL, CBL, LVI, FMT, CTL)."""
        engine = self.hw.streams[n]
        await engine.reset()
        await engine.program(buf, fmt, tag, cbl=buf.length,
                             lvi=len(buf.segments) - 1 if lvi is None else lvi, queue=queue,
                             zero=zero, ioce=ioce, feie=feie, deie=deie, lvbie=lvbie)

    async def start(self, n):
        await self.hw.streams[n].run()

    async def stop(self, n, timeout_ns=1_000_000):
        """Clear RUN and wait until it reads back 0 (the engine has stopped)."""
        await self.hw.streams[n].stop(timeout_100ns=-(-int(timeout_ns) // _NS))

    async def status(self, n):
        return await self.hw.streams[n].status()

    async def clear_status(self, n, **bits):
        """Write 1 to clear STS bits, then read STS back: the read flushes the posted write,
        so the (registered) interrupt line has dropped when this returns."""
        sts = REGMAP[stream_reg("STS", n)]
        await self.regs.write(sts.name, sts.encode(**bits))
        return sts.decode(await self.regs.read(sts.name))
