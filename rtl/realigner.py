"""Byte-granular realignment buffer between bus words and audio frames."""

from amaranth.hdl import Module, Signal, Array, Const, Cat, Mux
from amaranth.lib.wiring import In, Out

from .checked import CheckedComponent

__all__ = ["ByteRealigner"]


class ByteRealigner(CheckedComponent):
    """A small byte queue: push 0-4 bytes (``i_count``, LSB first) per cycle, take some bytes
    (``o_take``, one of ``takes``) from ``o_data`` (oldest byte in bits [7:0]).

    It lets DMA beats that start or end mid-word (byte-granular BDL entries) feed frames of
    2, 4 or 8 bytes, and frames feed beats, without any alignment rule on addresses. ``takes``
    lists the take sizes the user asks for (0 included); another ``o_take`` value takes
    nothing. ``o_data`` is as wide as the largest take; its bytes beyond ``o_level`` are 0."""

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
            "i_data": In(32), "i_count": In(3), "i_valid": In(1), "i_ready": Out(1),
            "o_data": Out(8 * self.max_take), "o_level": Out(range(capacity + 1)),
            "o_take": In(range(self.max_take + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        cap = self.capacity
        # A ring of ``cap`` bytes: the oldest byte is at ``head``, the next free one at
        # ``tail``. A push writes at most four bytes from ``tail`` on and a take only moves
        # ``head``, so no byte is ever shifted: each ring byte is written from one of four
        # input bytes, and each output byte reads one of ``cap`` ring bytes (a shifter over the
        # whole buffer would make every byte a choice among all positions). Reads and writes
        # are each one switch over a pointer (one case per position, constant byte routing).
        ring = Signal(8 * cap)
        head = Signal(range(cap))
        tail = Signal(range(cap))
        level = Signal(range(cap + 1))
        taken = Signal.like(self.o_take)
        push = Signal()
        added = Signal(3)
        m.d.comb += [
            self.o_level.eq(level),
            self.i_ready.eq(level <= cap - 4),
            push.eq(self.i_valid & self.i_ready),
            added.eq(Mux(push, self.i_count, 0)),
        ]
        with m.Switch(self.o_take):
            for k in self.takes:
                with m.Case(k):
                    m.d.comb += taken.eq(k)

        def ring_byte(i):
            return ring[8 * (i % cap):][:8]

        # output byte j: ring byte head + j, or 0 beyond the level
        rotated = Signal.like(self.o_data)
        with m.Switch(head):
            for h in range(cap):
                with m.Case(h):
                    m.d.comb += rotated.eq(Cat(ring_byte(h + j) for j in range(self.max_take)))
        kept = Array(Const((1 << (8 * min(n, self.max_take))) - 1, len(self.o_data))
                     for n in range(cap + 1))
        m.d.comb += self.o_data.eq(rotated & kept[level])
        # input byte b goes to ring byte tail + b if the push carries it
        with m.If(push):
            with m.Switch(tail):
                for t in range(cap):
                    with m.Case(t):
                        for b in range(4):
                            with m.If(self.i_count > b):
                                m.d.sync += ring_byte(t + b).eq(self.i_data[8 * b:][:8])
        m.d.sync += [
            head.eq(ring_index(head, taken, cap)),
            tail.eq(ring_index(tail, added, cap)),
            level.eq(level - taken + added),
        ]
        return m


def ring_index(position, step, cap):
    """``(position + step) mod cap`` for ``position < cap`` and ``step <= cap``."""
    moved = position + step
    return Mux(moved >= cap, moved - cap, moved)
