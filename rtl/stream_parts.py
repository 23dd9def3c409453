"""Small parts of a stream engine (:mod:`rtl.stream_dma`), each one job: the stream format's
decode, the burst a BDL entry allows next, a position that wraps at the cyclic buffer's
length, and the 48 kHz-family frame cadence."""

from amaranth.hdl import Module, Signal, Mux, Cat, Const
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["StreamFormat", "BurstPlanner", "BufferPosition", "Cadence", "MAX_BURST", "PAGE"]

MAX_BURST = 16          # beats
PAGE = 4096             # AXI bursts never cross a 4 KiB boundary


class StreamFormat(wiring.Component):
    """The SDnFMT fields a stream engine uses.

    ``ok``: a format the engine and codec play (48 kHz family at most 48 kHz, 16 bits or 24 in
    a 32-bit container, 1 or 2 channels); ``wide``: 32-bit containers; ``stereo``; and
    ``frame_bytes``, the bytes of one frame in memory (2, 4 or 8); ``mult``/``div`` the rate
    fields."""

    def __init__(self):
        super().__init__({"fmt": In(16), "ok": Out(1), "wide": Out(1), "stereo": Out(1),
                          "frame_bytes": Out(4), "mult": Out(3), "div": Out(3)})

    def elaborate(self, platform):
        m = Module()
        chan, bits = self.fmt[0:4], self.fmt[4:7]
        div, mult, base = self.fmt[8:11], self.fmt[11:14], self.fmt[14]
        m.d.comb += [
            self.ok.eq((base == 0) & (mult <= div) & ((bits == 1) | (bits == 3)) & (chan <= 1)),
            self.wide.eq(bits == 3),
            self.stereo.eq(chan == 1),
            self.frame_bytes.eq(Mux(self.wide, Mux(self.stereo, 8, 4), Mux(self.stereo, 4, 2))),
            self.mult.eq(mult),
            self.div.eq(div),
        ]
        return m


class BurstPlanner(wiring.Component):
    """The next burst of a BDL entry at byte ``addr`` with ``remaining`` bytes: ``beats`` =
    min(MAX_BURST, words to the 4 KiB boundary, words the entry still needs), starting at byte
    lane ``offset`` of the first word, moving ``bytes`` bytes.

    The outputs are registered (the arithmetic is a long carry chain, kept out of the DMA state
    machine's cycle): they are the plan for the inputs of the previous cycle."""

    def __init__(self):
        super().__init__({"addr": In(32), "remaining": In(32), "beats": Out(5),
                          "offset": Out(2), "bytes": Out(7)})

    def elaborate(self, platform):
        m = Module()
        offset = self.addr[0:2]
        words_to_page = Signal(11)
        words_needed = Signal(33)
        limit = Signal(11)
        beats = Signal.like(self.beats)
        full_bytes = Signal(7)
        m.d.comb += [
            words_to_page.eq((PAGE - Cat(Const(0, 2), self.addr[2:12])) >> 2),
            words_needed.eq((self.remaining + offset + 3) >> 2),
            limit.eq(Mux(words_to_page < MAX_BURST, words_to_page, MAX_BURST)),
            beats.eq(Mux(words_needed < limit, words_needed, limit)),
            full_bytes.eq(beats * 4 - offset),
        ]
        m.d.sync += [
            self.offset.eq(offset),
            self.beats.eq(beats),
            self.bytes.eq(Mux(self.remaining < full_bytes, self.remaining, full_bytes)),
        ]
        return m


class BufferPosition(wiring.Component):
    """A byte position in the stream's cyclic buffer: in a cycle with ``add`` high it moves on
    by ``step`` bytes, wrapping at ``cbl`` (unless ``queue`` mode, or ``cbl`` is 0)."""

    def __init__(self, step_width):
        super().__init__({"add": In(1), "step": In(step_width), "cbl": In(32), "queue": In(1),
                          "value": Out(32)})

    def elaborate(self, platform):
        m = Module()
        with m.If(self.add):
            moved = self.value + self.step
            with m.If(~self.queue & (self.cbl != 0) & (moved >= self.cbl)):
                m.d.sync += self.value.eq(moved - self.cbl)
            with m.Else():
                m.d.sync += self.value.eq(moved)
        return m


class Cadence(wiring.Component):
    """``due`` is high on a frame ``tick`` on which an ``active`` stream sends or takes a
    frame: MULT+1 frames every DIV+1 link frames (the HDA 48 kHz-family cadence)."""

    def __init__(self):
        super().__init__({"active": In(1), "tick": In(1), "mult": In(3), "div": In(3),
                          "due": Out(1)})

    def elaborate(self, platform):
        m = Module()
        acc = Signal(4)
        mult = self.mult + 1
        div = self.div + 1
        m.d.comb += self.due.eq(self.active & self.tick & (acc + mult >= div))
        with m.If(~self.active):
            m.d.sync += acc.eq(0)
        with m.Elif(self.tick):
            m.d.sync += acc.eq(Mux(acc + mult >= div, acc + mult - div, acc + mult))
        return m
