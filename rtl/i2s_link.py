"""Controller <-> codec serial link: four 32-bit TDM slots over I2S-style pins.

The link carries tagged samples, HDA style. Both ends live in this module and share one
synchronous clock domain (``sync``); the slave finds ``bclk`` edges by comparing each pin with
its value one clock earlier, so there is no second clock domain.

Frame
-----
A frame is 4 slots x 32 bits = 128 bits, sent MSB first: slot 0 bit 31 first, slot 3 bit 0 last.
On the ``tx_slots``/``rx_slots`` ports a frame is one 128-bit value with slot 0 in [127:96],
slot 1 in [95:64], slot 2 in [63:32], slot 3 in [31:0] (see :func:`pack_frame`).

Slot word::

    [31:28] stream tag (0 = empty slot)
    [27]    channel (0 = left, 1 = right)
    [26:24] reserved, 0
    [23:0]  signed 24-bit sample

Pin timing
----------
``bclk`` runs at clk/2: each bit period is two clocks, ``bclk`` low in the first and high in the
second. Data and ``lrclk`` change together with a falling ``bclk``; receivers sample on the
rising edge (slave) or, on the master, at the clock edge that ends the high half (see below).

Let T be the clock cycle in which :class:`LinkMaster` pulses ``frame_tick``. The master's pins
are registered, so pin cycle q = 0 is cycle T+1. Bit period p spans q = 2p, 2p+1.

- ``lrclk`` falls at q = 0 and is low for q in [0, 128) (slots 0-1), high from q = 128 on.
- I2S one-bit delay: frame bit k (k = 0 is the MSB of slot 0) is on the data pin during bit
  period p = k + 1, i.e. q = 2k+2, 2k+3. The last bit (k = 127) is in period 128, q = 256, 257.
  With ``frame_clocks`` = 256 that period is period 0 of the next frame, exactly as the right
  channel LSB follows the ``lrclk`` edge in plain I2S.
- With ``frame_clocks`` > 257, the pins idle from q = 258 until the next frame: ``bclk`` low,
  ``lrclk`` high, data low. While ``enable`` is 0 the master's pins idle the same way.

Deterministic latency (T = ``frame_tick`` cycle of frame N):

- master -> slave: ``tx_slots`` is latched in cycle T; the slave's ``rx_valid`` pulses in cycle
  T+259 with that frame in ``rx_slots``.
- slave -> master: the slave latches its ``tx_slots`` in cycle T+1 (its ``frame_start`` pulse);
  the master's ``rx_valid`` pulses in cycle T+259 with that frame in ``rx_slots``.

With ``frame_clocks`` = 256, T+259 is cycle 3 of frame N+1. ``rx_slots`` holds the last complete
frame until the next ``rx_valid``.

The slave updates ``sdi`` one clock after it sees ``bclk`` fall, so the master samples ``din`` at
the clock edge that ends the high half of each bit period (the edge on which it drives ``bclk``
low). For an external codec chip on real pins this leaves the whole pin round trip as hold
margin.
"""

import operator

from amaranth.hdl import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .checked import CheckedComponent


__all__ = [
    "FRAME_BITS", "SLOT_BITS", "SLOTS", "LINK_BITS_CLOCKS", "RX_SLOT",
    "LinkMaster", "LinkSlave",
    "slot_word", "unpack_slot", "pack_frame", "unpack_frame",
]


SLOTS = 4
SLOT_BITS = 32
FRAME_BITS = SLOTS * SLOT_BITS
#: Clocks a frame's bits occupy on the pins (one bit per two clocks).
LINK_BITS_CLOCKS = 2 * FRAME_BITS
#: One received slot (``rx_slot`` of :class:`LinkSlave`): the slot word and its index (0-3).
RX_SLOT = data.StructLayout({"word": SLOT_BITS, "index": range(SLOTS)})


def check_frame_clocks(frame_clocks):
    """Validate a ``frame_clocks`` parameter; return it as an ``int``."""
    try:
        frame_clocks = operator.index(frame_clocks)
    except TypeError:
        raise ValueError(f"frame_clocks must be an integer, not {frame_clocks!r}") from None
    if frame_clocks < LINK_BITS_CLOCKS:
        raise ValueError(f"frame_clocks must be at least {LINK_BITS_CLOCKS}, "
                         f"not {frame_clocks}")
    if frame_clocks == LINK_BITS_CLOCKS + 1:
        # The last bit period (two clocks) would be cut in half by the next frame start.
        raise ValueError(f"frame_clocks must be {LINK_BITS_CLOCKS} or at least "
                         f"{LINK_BITS_CLOCKS + 2}, not {frame_clocks}")
    return frame_clocks


# Pure-Python helpers, for tests and models.

def slot_word(tag, channel, sample):
    """Pack one slot word: ``tag`` 0..15, ``channel`` 0/1, signed 24-bit ``sample``."""
    if not 0 <= tag < 16:
        raise ValueError(f"tag must be 0..15, not {tag}")
    if channel not in (0, 1):
        raise ValueError(f"channel must be 0 or 1, not {channel}")
    if not -(1 << 23) <= sample < (1 << 23):
        raise ValueError(f"sample must fit in signed 24 bits, not {sample}")
    return (tag << 28) | (channel << 27) | (sample & 0xFF_FFFF)


def unpack_slot(word):
    """Return ``(tag, channel, sample)`` of a slot word."""
    sample = word & 0xFF_FFFF
    if sample & 0x80_0000:
        sample -= 1 << 24
    return (word >> 28) & 0xF, (word >> 27) & 1, sample


def pack_frame(slots):
    """Pack four slot words (slot 0 first) into a 128-bit frame value."""
    slots = list(slots)
    if len(slots) != SLOTS:
        raise ValueError(f"a frame has {SLOTS} slots, not {len(slots)}")
    value = 0
    for word in slots:
        value = (value << SLOT_BITS) | (word & 0xFFFF_FFFF)
    return value


def unpack_frame(value):
    """Split a 128-bit frame value into four slot words, slot 0 first."""
    return [(value >> (SLOT_BITS * (SLOTS - 1 - i))) & 0xFFFF_FFFF for i in range(SLOTS)]


def _tx_advance(m, tx_n, tx_word, tx_rest):
    """One bit period of a transmitter (``m.d.sync`` statements): count it (saturating at 128)
    and shift the 32-bit slot register, or load the next slot after a slot's last bit (zeros
    after the frame's last one)."""
    with m.If(~tx_n[7]):
        m.d.sync += tx_n.eq(tx_n + 1)
        with m.Switch(tx_n[:7]):
            for slot in range(SLOTS):
                with m.Case(slot * SLOT_BITS + SLOT_BITS - 1):
                    top = FRAME_BITS - SLOT_BITS * (slot + 1)
                    m.d.sync += tx_word.eq(tx_rest[top - SLOT_BITS:top] if top else 0)
            with m.Default():
                m.d.sync += tx_word.eq(tx_word << 1)


class LinkMaster(CheckedComponent):
    """Controller end of the link: generates ``bclk``/``lrclk`` and a frame every
    ``frame_clocks`` clocks.

    Parameters
    ----------
    frame_clocks : int
        Clocks per frame (clk_hz / 48000): 256, or at least 258.

    Members
    -------
    enable : In(1)
        0 holds the link idle: no ``frame_tick``, pins idle, receiver cleared. The first
        ``frame_tick`` comes in the first cycle ``enable`` is 1.
    tx_slots : In(128)
        Frame to send; latched in the ``frame_tick`` cycle.
    frame_tick : Out(1)
        One-cycle pulse at the start of every frame.
    rx_slots : Out(128), rx_valid : Out(1)
        Frame received on ``din``; ``rx_valid`` pulses once per frame, 259 clocks after the
        ``frame_tick`` of the frame it was sent in.
    bclk, lrclk, dout : Out(1); din : In(1)
        Link pins.
    """

    @classmethod
    def check_parameters(cls, frame_clocks=256):
        check_frame_clocks(frame_clocks)

    def __init__(self, frame_clocks=256):
        self.frame_clocks = check_frame_clocks(frame_clocks)
        super().__init__({
            "enable":     In(1),
            "tx_slots":   In(FRAME_BITS),
            "frame_tick": Out(1),
            "rx_slots":   Out(FRAME_BITS),
            "rx_valid":   Out(1),
            "bclk":       Out(1),
            "lrclk":      Out(1, init=1),
            "dout":       Out(1),
            "din":        In(1),
        })

    def elaborate(self, platform):
        m = Module()

        fc = self.frame_clocks
        clk = Signal(range(fc))              # clock within the frame; 0 = frame_tick
        # Transmit: after n bit periods (n saturates at 128) the pin carries frame bit n (MSB
        # first), or 0 once all 128 went out, as a fully shifted-out register would. Only a
        # 32-bit slot register shifts; it is reloaded per slot from the latched frame.
        tx_n = Signal(8)
        tx_word = Signal(SLOT_BITS)
        tx_rest = Signal(FRAME_BITS - SLOT_BITS)      # slots 1-3 of the frame being sent
        # rx_pos counts from 0 at clk = 4 (bit 0 of the slave is sampled there) to 255 and then
        # parks at 256; its own counter because reception runs 3 clocks into the next frame.
        # Received bits shift into a 32-bit slot register, stored per slot into rx_buf (slots
        # 0-2); the last slot goes straight to rx_slots with its last bit.
        rx_pos = Signal(9, init=256)
        rx_word = Signal(SLOT_BITS - 1)
        rx_buf = Signal(FRAME_BITS - SLOT_BITS)

        m.d.comb += self.frame_tick.eq(self.enable & (clk == 0))
        m.d.sync += self.rx_valid.eq(0)

        with m.If(~self.enable):
            m.d.sync += [
                clk.eq(0),
                rx_pos.eq(256),
                self.bclk.eq(0),
                self.lrclk.eq(1),
                self.dout.eq(0),
            ]
        with m.Else():
            m.d.sync += clk.eq(Mux(clk == fc - 1, 0, clk + 1))

            # Pins, registered: they show in cycle clk+1 what is computed at clk.
            bits_on = clk < LINK_BITS_CLOCKS + 2          # bit periods 0..128
            m.d.sync += [
                self.bclk.eq(clk[0] & bits_on),
                self.lrclk.eq(clk >= FRAME_BITS),
            ]
            with m.If(clk == 0):
                # Period 0 carries the previous frame's last bit (I2S one-bit delay).
                m.d.sync += [
                    self.dout.eq(tx_word[-1]),
                    tx_word.eq(self.tx_slots[FRAME_BITS - SLOT_BITS:]),
                    tx_rest.eq(self.tx_slots[:FRAME_BITS - SLOT_BITS]),
                    tx_n.eq(0),
                ]
            with m.Elif(~clk[0] & bits_on):
                m.d.sync += self.dout.eq(tx_word[-1])
                _tx_advance(m, tx_n, tx_word, tx_rest)
            with m.Elif(~bits_on):
                m.d.sync += self.dout.eq(0)

            with m.If(clk == 3):
                m.d.sync += rx_pos.eq(0)
            with m.Elif(~rx_pos[8]):
                m.d.sync += rx_pos.eq(rx_pos + 1)
            with m.If(~rx_pos[8] & ~rx_pos[0]):
                m.d.sync += rx_word.eq(Cat(self.din, rx_word[:-1]))
                with m.Switch(rx_pos[1:8]):
                    for slot in range(SLOTS - 1):          # last bit of slots 0-2
                        with m.Case(slot * SLOT_BITS + SLOT_BITS - 1):
                            top = FRAME_BITS - SLOT_BITS * (slot + 1)
                            m.d.sync += rx_buf[top - SLOT_BITS:top].eq(
                                Cat(self.din, rx_word))
                    with m.Case(FRAME_BITS - 1):
                        m.d.sync += [
                            self.rx_slots.eq(Cat(self.din, rx_word, rx_buf)),
                            self.rx_valid.eq(1),
                        ]

        return m


class LinkSlave(wiring.Component):
    """Codec end of the link: follows the master's ``bclk``/``lrclk``.

    Members
    -------
    bclk, lrclk, sdo : In(1); sdi : Out(1)
        Link pins (``sdo`` = data from the controller, ``sdi`` = data to it).
    rx_slots : Out(128), rx_valid : Out(1)
        Frame from the controller; ``rx_valid`` pulses once per complete frame, 259 clocks
        after the master's ``frame_tick``.
    rx_slot : Out(RX_SLOT); rx_slot_valid : Out(1)
        Each slot of it as it completes: ``rx_slot_valid`` pulses with the slot's ``word`` and
        ``index`` (0-3, in order). Slot 3's pulse is the ``rx_valid`` cycle; slots 0-2 of a
        frame with ``rx_valid`` all came before it, after the frame's ``lrclk`` fall.
    tx_slots : In(128)
        Frame to send; latched in the ``frame_start`` cycle and shifted out during that frame.
    frame_start : Out(1)
        One-cycle pulse when ``lrclk`` falls (one clock after the master's ``frame_tick``).
    """

    def __init__(self):
        super().__init__({
            "bclk":          In(1),
            "lrclk":         In(1),
            "sdo":           In(1),
            "sdi":           Out(1),
            "rx_slots":      Out(FRAME_BITS),
            "rx_valid":      Out(1),
            "rx_slot":       Out(RX_SLOT),
            "rx_slot_valid": Out(1),
            "tx_slots":      In(FRAME_BITS),
            "frame_start":   Out(1),
        })

    def elaborate(self, platform):
        m = Module()

        bclk_d = Signal()
        lrclk_d = Signal(init=1)
        m.d.sync += [bclk_d.eq(self.bclk), lrclk_d.eq(self.lrclk)]
        rise = self.bclk & ~bclk_d
        fall = ~self.bclk & bclk_d
        lr_fall = ~self.lrclk & lrclk_d
        m.d.comb += self.frame_start.eq(lr_fall)

        # Transmit: a new bit after every falling edge; the frame start is a period boundary
        # even when bclk was idle low before it. As in the master, after n periods (n saturates
        # at 128) the pin carries frame bit n, or 0 once all went out; only a 32-bit slot
        # register shifts, reloaded per slot from the frame latched at the frame start.
        tx_n = Signal(8)
        tx_word = Signal(SLOT_BITS)
        tx_rest = Signal(FRAME_BITS - SLOT_BITS)
        with m.If(lr_fall):
            m.d.sync += [
                self.sdi.eq(tx_word[-1]),
                tx_word.eq(self.tx_slots[FRAME_BITS - SLOT_BITS:]),
                tx_rest.eq(self.tx_slots[:FRAME_BITS - SLOT_BITS]),
                tx_n.eq(0),
            ]
        with m.Elif(fall):
            m.d.sync += self.sdi.eq(tx_word[-1])
            _tx_advance(m, tx_n, tx_word, tx_rest)

        # Receive: rising edges since lrclk fell (saturating at 129). Edge 0 belongs to the
        # previous frame, whose last bit is still due only if bclk ran straight through the frame
        # boundary having delivered 127 bits (frame_clocks = 256); otherwise it is ignored.
        # Edge j > 0 carries frame bit j - 1. Bits shift into a 32-bit slot register that is
        # stored per slot into rx_buf (slots 0-2); the last slot goes to rx_slots directly.
        # The register keeps a completed slot until the next rising edge: that is rx_slot.
        edges = Signal(range(130), init=129)
        last_due = Signal()
        rx_word = Signal(SLOT_BITS)
        rx_buf = Signal(FRAME_BITS - SLOT_BITS)
        word = Cat(self.sdo, rx_word[:-1])
        slot_index = Signal(range(SLOTS))
        m.d.comb += [self.rx_slot.word.eq(rx_word), self.rx_slot.index.eq(slot_index)]
        m.d.sync += [self.rx_valid.eq(0), self.rx_slot_valid.eq(0)]
        with m.If(lr_fall):
            m.d.sync += [edges.eq(0), last_due.eq(0)]
            with m.If(fall):
                with m.Switch(edges):
                    with m.Case(128):
                        m.d.sync += last_due.eq(1)
        with m.Elif(rise):
            m.d.sync += rx_word.eq(word)
            with m.Switch(edges):
                with m.Case(129):
                    pass
                with m.Default():
                    m.d.sync += edges.eq(edges + 1)
            deliver = [
                self.rx_slots.eq(Cat(word, rx_buf)),
                self.rx_valid.eq(1),
                self.rx_slot_valid.eq(1),
                slot_index.eq(SLOTS - 1),
            ]
            with m.Switch(edges):
                for slot in range(SLOTS - 1):              # last bit of slots 0-2
                    with m.Case(SLOT_BITS * (slot + 1)):
                        top = FRAME_BITS - SLOT_BITS * (slot + 1)
                        m.d.sync += [
                            rx_buf[top - SLOT_BITS:top].eq(word),
                            self.rx_slot_valid.eq(1),
                            slot_index.eq(slot),
                        ]
                with m.Case(FRAME_BITS):
                    m.d.sync += deliver
                with m.Case(0):
                    with m.If(last_due):
                        m.d.sync += deliver

        return m
