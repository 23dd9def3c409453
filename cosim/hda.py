"""Register-level programming of the controller, in the order Linux's HDA driver uses.

This is the bring-up layer used by the foundation tests, the benchmark and the demo; the
PortCls miniports build on the same register map through the HAL instead.
"""

from dataclasses import dataclass, field

from miniports.hda import BDL_ENTRY_BYTES, fmt_value, verb
from rtl.regmap import REGMAP, stream_reg

__all__ = ["HdaController", "StreamBuffer", "fmt_value", "verb", "BDL_ENTRY_BYTES"]



@dataclass
class StreamBuffer:
    """A cyclic or queued audio buffer: BDL entries over (address, length) segments."""
    segments: list            # [(phys_addr, length, ioc)]
    bdl: int                  # BDL physical address
    length: int = field(init=False)

    def __post_init__(self):
        self.length = sum(s[1] for s in self.segments)


class HdaController:
    """Controller bring-up and stream programming over a register window."""

    def __init__(self, regs, mem, alloc):
        self.regs = regs
        self.mem = mem
        self.alloc = alloc
        self.position_buffer = None

    # --- controller ------------------------------------------------------------------------

    async def reset(self):
        """CRST handshake: enter reset, leave it, wait for the codec's wake bit, clear it."""
        regs = self.regs
        await regs.write("GCTL", 0)
        await regs.poll("GCTL", "CRST", 0, timeout_ns=100_000)
        await regs.write("GCTL", 1)
        await regs.poll("GCTL", "CRST", 1, timeout_ns=100_000)
        await regs.poll("STATESTS", "SDIWAKE", 1, timeout_ns=100_000)
        await regs.write("STATESTS", 1)     # RW1C

    async def command(self, word):
        """Send one codec verb through the immediate command interface; return the response."""
        regs = self.regs
        await regs.poll("ICS", "ICB", 0, timeout_ns=100_000)
        await regs.write("ICOI", word)
        await regs.write("ICS", REGMAP["ICS"].encode(ICB=1, IRV=1))
        await regs.poll("ICS", "IRV", 1, timeout_ns=100_000)
        resp = await regs.read("IRII")
        await regs.write("ICS", REGMAP["ICS"].encode(IRV=1))
        return resp

    async def enable_position_buffer(self):
        self.position_buffer = self.alloc.alloc_contiguous(128, align=128)
        self.mem.write(self.position_buffer, bytes(128))
        await self.regs.write("DPLBASE", self.position_buffer | 1)

    def dma_position(self, n):
        data = self.mem.read(self.position_buffer + 8 * n, 4)
        return int.from_bytes(data, "little")

    async def enable_interrupts(self, *streams):
        value = REGMAP["INTCTL"].encode(GIE=1, **{f"SIE{n}": 1 for n in streams})
        await self.regs.write("INTCTL", value)

    # --- codec -----------------------------------------------------------------------------

    async def route_dac(self, dac_nid, tag, fmt):
        """Point a codec converter at stream ``tag`` with format ``fmt`` (verbs 0x706, 0x2)."""
        await self.command(verb(dac_nid, 0x706, tag << 4))
        await self.command(verb(dac_nid, 0x2, fmt))

    # --- streams ---------------------------------------------------------------------------

    async def stream_reset(self, n):
        """SRST handshake: enter, wait for it to read 1, leave, wait for 0."""
        ctl = stream_reg("CTL", n)
        await self.regs.write(ctl, REGMAP[ctl].encode(SRST=1))
        await self.regs.poll(ctl, "SRST", 1, timeout_ns=100_000)
        await self.regs.write(ctl, 0)
        await self.regs.poll(ctl, "SRST", 0, timeout_ns=100_000)

    def build_buffer(self, segments, bdl_entries=None):
        """Write a BDL for ``segments`` [(addr, len, ioc)] and return the StreamBuffer."""
        entries = bdl_entries or len(segments)
        bdl = self.alloc.alloc_contiguous(max(entries, 1) * BDL_ENTRY_BYTES, align=128)
        buf = StreamBuffer(list(segments), bdl)
        for i, seg in enumerate(segments):
            self.write_bdl_entry(buf, i, *seg)
        return buf

    def write_bdl_entry(self, buf, index, addr, length, ioc):
        entry = (addr.to_bytes(8, "little") + length.to_bytes(4, "little")
                 + (1 if ioc else 0).to_bytes(4, "little"))
        self.mem.write(buf.bdl + BDL_ENTRY_BYTES * index, entry)

    async def setup_stream(self, n, buf, fmt, tag, queue=False, lvi=None, zero=False,
                           ioce=True, feie=False, deie=False, lvbie=False):
        """Program SDn for ``buf`` after a stream reset (Linux order: BDL, CBL, LVI, FMT, CTL)."""
        regs = self.regs
        await self.stream_reset(n)
        await regs.write(stream_reg("BDPL", n), buf.bdl)
        await regs.write(stream_reg("BDPU", n), 0)
        await regs.write(stream_reg("CBL", n), buf.length)
        await regs.write(stream_reg("LVI", n), len(buf.segments) - 1 if lvi is None else lvi)
        await regs.write(stream_reg("FMT", n), fmt)
        await regs.write(stream_reg("MODE", n),
                         REGMAP[stream_reg("MODE", n)].encode(QUEUE=int(queue), ZERO=int(zero)))
        ctl = REGMAP[stream_reg("CTL", n)]
        await regs.write(ctl.name, ctl.encode(STRM=tag, IOCE=int(ioce), FEIE=int(feie),
                                              DEIE=int(deie), LVBIE=int(lvbie)))

    async def start(self, n):
        await self.regs.write_fields(stream_reg("CTL", n), RUN=1)

    async def stop(self, n, timeout_ns=1_000_000):
        """Clear RUN and wait until it reads back 0 (the engine has stopped)."""
        await self.regs.write_fields(stream_reg("CTL", n), RUN=0)
        await self.regs.poll(stream_reg("CTL", n), "RUN", 0, timeout_ns=timeout_ns)

    async def status(self, n):
        return REGMAP[stream_reg("STS", n)].decode(await self.regs.read(stream_reg("STS", n)))

    async def clear_status(self, n, **bits):
        """Write 1 to clear STS bits, then read STS back: the read flushes the posted write,
        so the (registered) interrupt line has dropped when this returns."""
        sts = REGMAP[stream_reg("STS", n)]
        await self.regs.write(sts.name, sts.encode(**bits))
        return sts.decode(await self.regs.read(sts.name))
