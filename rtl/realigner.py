"""Byte-granular realignment buffer between bus words and audio frames."""

from amaranth.hdl import Module, Signal, Array, Const
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ByteRealigner"]


class ByteRealigner(wiring.Component):
    """A small byte queue: push 0-4 bytes (``i_count``, LSB first) per cycle, take up to
    ``max_take`` bytes from ``o_data`` (oldest byte in bits [7:0]).

    It lets DMA beats that start or end mid-word (byte-granular BDL entries) feed frames of
    2, 4 or 8 bytes, and frames feed beats, without any alignment rule on addresses."""

    def __init__(self, capacity=12, max_take=8):
        if capacity < max_take or capacity < 8:
            self._MustUse__silence = True   # no "created but never used" warning
            raise ValueError(f"realigner capacity {capacity} must be >= max(8, max_take "
                             f"{max_take})")
        self.capacity = capacity
        self.max_take = max_take
        super().__init__({
            "i_data": In(32), "i_count": In(3), "i_valid": In(1), "i_ready": Out(1),
            "o_data": Out(8 * max_take), "o_level": Out(range(capacity + 1)),
            "o_take": In(range(max_take + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        cap = self.capacity
        buf = Signal(8 * cap)
        level = Signal(range(cap + 1))
        masks = Array(Const((1 << (8 * k)) - 1, 32) for k in range(5))

        after_buf = Signal.like(buf)
        after_level = Signal.like(level)
        data = Signal(32)
        push = Signal()
        m.d.comb += [
            self.o_data.eq(buf),
            self.o_level.eq(level),
            self.i_ready.eq(level <= cap - 4),
            push.eq(self.i_valid & self.i_ready),
            after_level.eq(level - self.o_take),
            data.eq(self.i_data & masks[self.i_count]),
        ]
        # Shifts by a variable number of bytes are switches over constant shifts: a plain
        # `x << (n * 8)` makes a result wide enough for any n (hundreds of bits), evaluated by
        # simulators on every clock.
        with m.Switch(self.o_take):
            for k in range(self.max_take + 1):
                with m.Case(k):
                    m.d.comb += after_buf.eq(buf >> (8 * k))
        with m.If(push):
            with m.Switch(after_level):
                for k in range(cap - 3):
                    with m.Case(k):
                        m.d.sync += buf.eq(after_buf | (data << (8 * k))[:8 * cap])
            m.d.sync += level.eq(after_level + self.i_count)
        with m.Else():
            m.d.sync += [buf.eq(after_buf), level.eq(after_level)]
        return m
