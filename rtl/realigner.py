"""Byte-granular realignment buffer between bus words and audio frames."""

import operator
from functools import reduce

from amaranth.hdl import Module, Signal, Cat, Mux
from amaranth.lib.wiring import In, Out

from .checked import CheckedComponent

__all__ = ["ByteRealigner"]

#: Most bytes pushed in one cycle (one 32-bit entry).
ENTRY_BYTES = 4


class ByteRealigner(CheckedComponent):
    """A small byte queue: push 0-4 bytes (``i_count``, LSB first) per cycle, take some bytes
    (``o_take``, one of ``takes``) from ``o_data`` (oldest byte in bits [7:0]).

    It lets DMA beats that start or end mid-word (byte-granular BDL entries) feed frames of
    2, 4 or 8 bytes, and frames feed beats, without any alignment rule on addresses. ``takes``
    lists the take sizes the user asks for (0 included): each byte of the queue chooses among
    one source per size, so a user that only ever takes whole frames pays for four sources
    rather than nine. Another ``o_take`` value takes nothing. ``o_take`` must not exceed
    ``o_level``. The bytes of ``o_data`` beyond ``o_level`` are zero (capture's bus writer puts
    them on the write data lanes it does not enable)."""

    @classmethod
    def check_parameters(cls, capacity=12, takes=range(9)):
        takes = tuple(takes)
        if not takes or min(takes) < 0 or 0 not in takes:
            raise ValueError(f"realigner take sizes {takes} must be non-negative and "
                             f"include 0")
        if capacity < max(takes) or capacity < 8:
            raise ValueError(f"realigner capacity {capacity} must be >= max(8, largest take "
                             f"{max(takes)})")

    def __init__(self, capacity=12, takes=range(9)):
        self.capacity = capacity
        self.takes = tuple(sorted(set(takes)))
        self.max_take = max(self.takes)
        super().__init__({
            "i_data": In(8 * ENTRY_BYTES), "i_count": In(range(ENTRY_BYTES + 1)),
            "i_valid": In(1), "i_ready": Out(1),
            "o_data": Out(8 * self.max_take), "o_level": Out(range(capacity + 1)),
            "o_take": In(range(self.max_take + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        cap = self.capacity
        # the highest level at which a whole entry still fits: pushes happen only up to it
        push_level_max = cap - ENTRY_BYTES
        buf = [Signal(8, name=f"byte{j}") for j in range(cap)]
        level = Signal(range(cap + 1))
        after_level = Signal.like(level)
        taken = Signal.like(self.o_take)
        push = Signal()
        m.d.comb += [
            self.o_data.eq(Cat(buf[:self.max_take])),
            self.o_level.eq(level),
            self.i_ready.eq(level <= push_level_max),
            push.eq(self.i_valid & self.i_ready),
            after_level.eq(level - taken),
        ]

        # Each byte of the next buffer is an AND-OR of its few possible sources, with one-hot
        # selects shared by its 8 bits: the byte `k` above it when `k` bytes are taken, and
        # entry byte `d` when it lands `d` above the level left after the take. Bytes above the
        # level are zero, so the sources never overlap and a byte nobody selects becomes zero.
        taking = {k: Signal(name=f"taking_{k}") for k in self.takes if k}
        for k, selected in taking.items():
            m.d.comb += selected.eq(self.o_take == k)
            with m.If(selected):
                m.d.comb += taken.eq(k)
        keeping = Signal()
        m.d.comb += keeping.eq(~Cat(*taking.values()).any())
        entry_has = [Signal(name=f"entry_has_{d}") for d in range(ENTRY_BYTES)]
        for d, has in enumerate(entry_has):
            m.d.comb += has.eq(push & (self.i_count > d))
        # A take of k bytes leaves `after_level` = p only from level p + k, and a push needs a
        # level <= push_level_max, so such takes never insert. `push` already says so, but in
        # a form synthesis cannot see through: saying it here lets it drop their terms.
        lands_at = [Signal(name=f"lands_at_{p}") for p in range(push_level_max + 1)]
        for p, lands in enumerate(lands_at):
            pushless = [taking[k] for k in taking if p + k > push_level_max]
            m.d.comb += lands.eq((after_level == p) & ~Cat(*pushless).any())
        entry = [self.i_data[8 * d:8 * (d + 1)] for d in range(ENTRY_BYTES)]

        for j, byte in enumerate(buf):
            sources = [Mux(keeping, byte, 0)]
            sources += [Mux(selected, buf[j + k], 0)
                        for k, selected in taking.items() if j + k < cap]
            for d in range(ENTRY_BYTES):
                if 0 <= j - d <= push_level_max:
                    inserted = Signal(name=f"insert_{d}_at_{j}")
                    m.d.comb += inserted.eq(entry_has[d] & lands_at[j - d])
                    sources.append(Mux(inserted, entry[d], 0))
            m.d.sync += byte.eq(reduce(operator.or_, sources))
        m.d.sync += level.eq(after_level + Mux(push, self.i_count, 0))
        return m
