"""Byte-granular realignment buffer between bus words and audio frames."""

from amaranth.hdl import Module, Signal, Array, Const
from amaranth.lib.wiring import In, Out

from .checked import CheckedComponent

__all__ = ["ByteRealigner"]


class ByteRealigner(CheckedComponent):
    """A small byte queue: push 0-4 bytes (``i_count``, LSB first) per cycle, take some bytes
    (``o_take``, one of ``takes``) from ``o_data`` (oldest byte in bits [7:0]).

    It lets DMA beats that start or end mid-word (byte-granular BDL entries) feed frames of
    2, 4 or 8 bytes, and frames feed beats, without any alignment rule on addresses. ``takes``
    lists the take sizes the user asks for (0 included): the shifter has one case per size, so
    a user that only ever takes whole frames pays for four cases rather than nine. Another
    ``o_take`` value takes nothing."""

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
        buf = Signal(8 * cap)
        level = Signal(range(cap + 1))
        masks = Array(Const((1 << (8 * k)) - 1, 32) for k in range(5))

        after_buf = Signal.like(buf)
        after_level = Signal.like(level)
        taken = Signal.like(self.o_take)
        data = Signal(32)
        push = Signal()
        m.d.comb += [
            self.o_data.eq(buf[:8 * self.max_take]),
            self.o_level.eq(level),
            self.i_ready.eq(level <= cap - 4),
            push.eq(self.i_valid & self.i_ready),
            after_level.eq(level - taken),
            data.eq(self.i_data & masks[self.i_count]),
        ]
        # Shifts by a variable number of bytes are switches over constant shifts: a plain
        # `x << (n * 8)` makes a result wide enough for any n (hundreds of bits), evaluated by
        # simulators on every clock.
        with m.Switch(self.o_take):
            for k in self.takes:
                with m.Case(k):
                    m.d.comb += [after_buf.eq(buf >> (8 * k)), taken.eq(k)]
            with m.Default():
                m.d.comb += after_buf.eq(buf)
        with m.If(push):
            with m.Switch(after_level):
                for k in range(cap - 3):
                    with m.Case(k):
                        m.d.sync += buf.eq(after_buf | (data << (8 * k))[:8 * cap])
            m.d.sync += level.eq(after_level + self.i_count)
        with m.Else():
            m.d.sync += [buf.eq(after_buf), level.eq(after_level)]
        return m
