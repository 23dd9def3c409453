"""The link side of a stream engine (:mod:`rtl.stream_dma`): render sends frames taken from the
FIFO's bytes, capture turns received frames into FIFO entries. Both count their xruns."""

from amaranth.hdl import Module, Signal, Mux, Cat, Const
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .stream_parts import Cadence, FrameFormat

__all__ = ["FifoEntry", "RenderLink", "CaptureLink", "RENDER_REALIGNER_BYTES",
           "CAPTURE_REALIGNER_BYTES"]

#: A stream FIFO entry: ``count`` bytes (0-4) of ``data``, the oldest in bits [7:0].
FifoEntry = data.StructLayout({"data": 32, "count": 3})

#: Bytes the realigner between render's FIFO and its frames holds: an 8-byte frame one byte
#: short, and the next entry's 4 bytes (the realigner takes an entry while it holds <= 7).
RENDER_REALIGNER_BYTES = 11
#: Bytes the realigner between capture's FIFO and the bus beats holds: a beat's 4 bytes and
#: the next entry's 4.
CAPTURE_REALIGNER_BYTES = 8


class RenderLink(wiring.Component):
    """Render's link side: frames decoded from the oldest FIFO bytes (``source``/``level``,
    ``take`` bytes taken) go out one per due frame tick.

    16-bit samples and the top 24 bits of 32-bit containers become MSB-aligned 24-bit samples;
    mono plays on both channels. Playback starts once the FIFO is half full (or the engine is
    ``halted`` with all queued data in) and waits again after a queue-mode engine ran dry, so a
    restart is not an underrun. A due tick with no frame staged is an underrun (``underrun``,
    ``xrun`` counts them): the last frame repeats, or silence with ``zero``. ``advance`` is high
    on each tick that sends a frame (LPIB moves). ``tx_l`` and ``tx_r`` are 0 whenever
    ``tx_valid`` is low (the controller's link slots rely on it)."""

    def __init__(self, fifo_depth):
        self.fifo_depth = fifo_depth
        super().__init__({
            "run": In(1), "halted": In(1), "zero": In(1), "frame_tick": In(1),
            "format": In(FrameFormat),
            "source": In(64), "level": In(range(RENDER_REALIGNER_BYTES + 1)), "take": Out(4),
            "fifo_level": In(range(fifo_depth + 1)), "fifo_readable": In(1),
            "started": Out(1), "advance": Out(1), "underrun": Out(1), "xrun": Out(32),
            "tx_valid": Out(1), "tx_l": Out(24), "tx_r": Out(24),
        })

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        fb = fmt.frame_bytes
        staged = Signal()
        # The staged frame keeps its format apart and is decoded at the output, where a gate
        # is needed anyway, rather than by muxes in front of its registers: mono's right
        # channel is its left one, and a 16-bit sample's low byte (registered as the byte a
        # 24-bit one would have there) is 0.
        st_l, st_r, st_wide, st_stereo = Signal(24), Signal(24), Signal(), Signal()
        with m.If(~staged & (self.level >= fb)):
            d = self.source
            m.d.comb += self.take.eq(fb)
            m.d.sync += [staged.eq(1), st_wide.eq(fmt.wide), st_stereo.eq(fmt.stereo),
                         st_l.eq(Cat(d[8:16], Mux(fmt.wide, d[16:32], d[0:16]))),
                         st_r.eq(Cat(d[40:48], Mux(fmt.wide, d[48:64], d[16:32])))]

        def sample(staged_bits):
            return Cat(Mux(st_wide, staged_bits[0:8], 0), staged_bits[8:24])
        frame_l = sample(st_l)
        frame_r = Mux(st_stereo, sample(st_r), frame_l)

        drained = Signal()
        m.d.comb += drained.eq(~staged & ~self.fifo_readable & (self.level < fb))
        with m.If(~self.run | (self.halted & drained)):
            m.d.sync += self.started.eq(0)
        with m.Elif((self.fifo_level >= self.fifo_depth // 2) | self.halted):
            m.d.sync += self.started.eq(1)

        m.submodules.cadence = cadence = Cadence()
        m.d.comb += [cadence.active.eq(self.run & self.started), cadence.tick.eq(self.frame_tick),
                     cadence.mult.eq(fmt.mult), cadence.div.eq(fmt.div)]
        with m.If(cadence.due & staged):
            m.d.comb += [self.tx_valid.eq(1), self.tx_l.eq(frame_l), self.tx_r.eq(frame_r)]
            with m.If(self.frame_tick):
                m.d.sync += staged.eq(0)
                m.d.comb += self.advance.eq(1)
        with m.Elif(cadence.due & ~self.halted):
            # the last frame sent is still staged: a frame is staged (and st_l/st_r change)
            # only after ``staged`` has gone low, so with nothing staged they hold the last one
            m.d.comb += [self.tx_valid.eq(1), self.tx_l.eq(Mux(self.zero, 0, frame_l)),
                         self.tx_r.eq(Mux(self.zero, 0, frame_r))]
            with m.If(self.frame_tick):
                m.d.comb += self.underrun.eq(1)
                m.d.sync += self.xrun.eq(self.xrun + 1)
        return m


class CaptureLink(wiring.Component):
    """Capture's link side: a received frame whose tag is the stream's (``strm``, non-zero)
    becomes one FIFO entry, or two for 24-bit stereo (``entries``, never held off: a frame is
    taken only with room for two); 16-bit capture keeps the top
    16 bits of each sample. A frame with no room for two entries is an overrun (``overrun``,
    ``xrun`` counts them). ``bytes_ready`` counts the bytes in the FIFO and realigner that the
    bus may take (``taken`` per cycle); ``advance`` is high for each frame stored (LPIB
    moves)."""

    def __init__(self, fifo_depth):
        super().__init__({
            "run": In(1), "strm": In(4), "format": In(FrameFormat),
            "rx_valid": In(1), "rx_tag": In(4), "rx_l": In(24), "rx_r": In(24),
            "fifo_free": In(range(fifo_depth + 1)), "entries": Out(stream.Signature(FifoEntry, always_ready=True)),
            "taken": In(4), "bytes_ready": Out(range(fifo_depth * 4 + 16)),
            "advance": Out(1), "overrun": Out(1), "xrun": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        fmt, entries = self.format, self.entries
        pending = Signal()
        pending_word = Signal(32)
        accept = Signal()
        stored = Signal()
        m.d.comb += accept.eq(self.rx_valid & self.run & (self.rx_tag == self.strm)
                              & (self.strm != 0))
        with m.If(pending):
            m.d.comb += [entries.payload.eq(Cat(pending_word, Const(4, 3))), entries.valid.eq(1)]
            m.d.sync += pending.eq(0)
        with m.Elif(accept):
            with m.If(self.fifo_free >= 2):
                l16, r16 = self.rx_l[8:24], self.rx_r[8:24]
                word0 = Mux(fmt.wide, Cat(Const(0, 8), self.rx_l), Cat(l16, r16))
                count0 = Mux(fmt.wide | fmt.stereo, 4, 2)
                m.d.comb += [entries.payload.eq(Cat(word0, count0)), entries.valid.eq(1),
                             stored.eq(1), self.advance.eq(1)]
                m.d.sync += [pending.eq(fmt.wide & fmt.stereo),
                             pending_word.eq(Cat(Const(0, 8), self.rx_r))]
            with m.Else():
                m.d.comb += self.overrun.eq(1)
                m.d.sync += self.xrun.eq(self.xrun + 1)

        added = Mux(stored, fmt.frame_bytes, 0)
        m.d.sync += self.bytes_ready.eq(self.bytes_ready + added - self.taken)
        return m
