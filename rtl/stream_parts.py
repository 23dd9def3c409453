"""Small parts of a stream engine (:mod:`rtl.stream_dma`), each one job: the stream format's
decode, which BDL entry is current and next, the current entry's progress, the burst a BDL
entry allows next, a position that wraps at the cyclic buffer's length, and the 48 kHz-family
frame cadence."""

from amaranth.hdl import Module, Signal, Mux, Cat, Const
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi_burst import Beat

__all__ = ["FrameFormat", "StreamFormat", "EntryCursor", "BdlEntry", "BurstPlanner",
           "BufferPosition", "Cadence", "MAX_BURST", "PAGE"]

MAX_BURST = 16          # beats
PAGE = 4096             # AXI bursts never cross a 4 KiB boundary


#: What the datapath needs of a stream's format: ``wide`` (24 bits in 32-bit containers, else
#: 16-bit samples), ``stereo``, ``frame_bytes`` (one frame in memory: 2, 4 or 8) and the rate
#: fields ``mult``/``div``.
FrameFormat = data.StructLayout({"wide": 1, "stereo": 1, "frame_bytes": 4, "mult": 3,
                                 "div": 3})


class StreamFormat(wiring.Component):
    """The SDnFMT fields a stream engine uses.

    ``ok``: a format the engine and codec play (48 kHz family at most 48 kHz, 16 bits or 24 in
    a 32-bit container, 1 or 2 channels); ``frame``: its :data:`FrameFormat`."""

    def __init__(self):
        super().__init__({"fmt": In(16), "ok": Out(1), "frame": Out(FrameFormat)})

    def elaborate(self, platform):
        m = Module()
        chan, bits = self.fmt[0:4], self.fmt[4:7]
        div, mult, base = self.fmt[8:11], self.fmt[11:14], self.fmt[14]
        frame = self.frame
        m.d.comb += [
            self.ok.eq((base == 0) & (mult <= div) & ((bits == 1) | (bits == 3)) & (chan <= 1)),
            frame.wide.eq(bits == 3),
            frame.stereo.eq(chan == 1),
            frame.frame_bytes.eq(Mux(frame.wide, Mux(frame.stereo, 8, 4),
                                     Mux(frame.stereo, 4, 2))),
            frame.mult.eq(mult),
            frame.div.eq(div),
        ]
        return m


class EntryCursor(wiring.Component):
    """Which BDL entry is current (``civ``) and which the walk fetches ``next``.

    ``load`` makes the next entry current. ``finish`` ends the current one: the next is the
    following entry, or after the last valid one (LVI) entry 0 again; in ``queue`` mode the
    walk halts there instead (``halted``, with a one-cycle ``lvbci``) until a ``poll`` finds
    LVI moved on."""

    def __init__(self):
        super().__init__({"lvi": In(8), "queue": In(1), "load": In(1), "finish": In(1),
                          "poll": In(1), "civ": Out(8), "next": Out(8), "halted": Out(1),
                          "lvbci": Out(1)})

    def elaborate(self, platform):
        m = Module()
        civ, halted = self.civ, self.halted
        at_last = Signal()
        m.d.comb += at_last.eq(civ == self.lvi)
        with m.If(self.load):
            m.d.sync += civ.eq(self.next)
        # each of ``next``'s two changes under one condition, not as nested branches (which
        # synthesise as a chain of muxes in front of each bit)
        resume = Signal()
        m.d.comb += resume.eq(self.poll & halted & ~at_last)
        with m.If(resume):
            m.d.sync += halted.eq(0)
        with m.If(resume | (self.finish & ~at_last)):
            m.d.sync += self.next.eq(civ + 1)
        with m.If(self.finish & at_last):
            with m.If(self.queue):
                m.d.comb += self.lvbci.eq(1)
                m.d.sync += halted.eq(1)
            with m.Else():
                m.d.sync += self.next.eq(0)
        return m


class BdlEntry(wiring.Component):
    """The current BDL entry's progress: where its next byte is (``addr``), how many remain
    (``remaining``, PICB), its IOC flag, and the next burst (``next_beats``/``next_bytes``,
    :class:`BurstPlanner`; ``plan_ready`` once it reflects the entry as it is now).

    ``words`` delivers a fetched descriptor as the bus reader's beats (``index`` 0: the
    address's low word, 2: the length, 3: the flags, bit 0 IOC); ``load`` (in the cycle of its
    last word, which carries the flags) makes it the entry, ``moved`` takes ``moved_bytes`` off
    it after a burst, ``finish`` marks it used up (``valid`` low: the next one must be
    fetched)."""

    def __init__(self):
        super().__init__({
            "words": In(stream.Signature(Beat, always_ready=True)),
            "load": In(1), "moved": In(1), "moved_bytes": In(7), "finish": In(1),
            "valid": Out(1), "addr": Out(32), "remaining": Out(32), "ioc": Out(1),
            "next_beats": Out(5), "next_bytes": Out(7), "plan_ready": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        word = self.words.payload
        fetched_addr, fetched_len = Signal(32), Signal(32)
        with m.If(self.words.valid & (word.index == 0)):
            m.d.sync += fetched_addr.eq(word.data)
        with m.If(self.words.valid & (word.index == 2)):
            m.d.sync += fetched_len.eq(word.data)

        m.submodules.plan = plan = BurstPlanner()
        m.d.comb += [plan.addr.eq(self.addr), plan.remaining.eq(self.remaining),
                     self.next_beats.eq(plan.beats), self.next_bytes.eq(plan.bytes)]
        # the plan is registered: in the cycle after the entry moves it is still the old one
        stale = Signal()
        m.d.sync += stale.eq(0)
        m.d.comb += self.plan_ready.eq(~stale)
        with m.If(self.load):
            m.d.sync += [self.addr.eq(fetched_addr), self.remaining.eq(fetched_len),
                         self.ioc.eq(word.data[0]), stale.eq(1), self.valid.eq(1)]
        with m.If(self.moved):
            m.d.sync += [self.addr.eq(self.addr + self.moved_bytes),
                         self.remaining.eq(self.remaining - self.moved_bytes), stale.eq(1)]
        with m.If(self.finish):
            m.d.sync += self.valid.eq(0)
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
        moved = Signal(len(self.value) + 1)
        # one subtraction gives both the wrapped value and, by its borrow, whether to wrap; a
        # CBL of 0 needs no test of its own (moved - 0 is the moved value)
        wrapped = Signal(len(moved) + 1)
        m.d.comb += [moved.eq(self.value + self.step), wrapped.eq(moved - self.cbl)]
        with m.If(self.add):
            with m.If(~self.queue & ~wrapped[-1]):
                m.d.sync += self.value.eq(wrapped)
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
        owed = Signal(len(acc) + 1)
        # one subtraction gives both the carried-over count and, by its borrow, whether a
        # frame is due (owed >= DIV+1)
        left = Signal(len(owed) + 1)
        m.d.comb += [owed.eq(acc + self.mult + 1), left.eq(owed - (self.div + 1))]
        due = ~left[-1]
        m.d.comb += self.due.eq(self.active & self.tick & due)
        with m.If(~self.active):
            m.d.sync += acc.eq(0)
        with m.Elif(self.tick):
            m.d.sync += acc.eq(Mux(due, left, owed))
        return m
