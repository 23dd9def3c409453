"""The codec's amplifier arithmetic: a gain ROM and one multiplier (:class:`GainUnit`).

The numbers (table, rounding, saturation) are defined in :mod:`rtl.gain`, whose
:func:`rtl.gain.apply_gain` is the bit-exact model of a :class:`GainUnit`.
"""

from amaranth.hdl import Module, Signal, Cat, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .gain import COEF_BITS, COEF_FRAC_BITS, GAIN_STEPS, GAIN_TABLE

__all__ = ["GainUnit", "saturate24"]


def saturate24(m, value, name):
    """A signed 24-bit Signal equal to ``value`` (a wider signed Value) clamped to 24 bits.

    ``value`` fits when its bits from 23 up are all equal (all sign); otherwise its sign picks
    the limit. Bit tests rather than comparisons, which would each take a carry chain."""
    out = Signal(signed(24), name=name)
    sign, upper = value[-1], value[23:]
    with m.If(upper.all() | ~upper.any()):
        m.d.comb += out.eq(value[:24])
    with m.Else():
        m.d.comb += out.eq(Cat((~sign).replicate(23), sign))     # SAMPLE_MAX or SAMPLE_MIN
    return out


class GainUnit(wiring.Component):
    """One amplifier multiplier with its gain ROM, shared in time by the amps of a signal path.

    A pipeline of :data:`LATENCY` stages: the ROM lookup (a block RAM on FPGAs, whose output is
    slow), its output registered, the multiply, then rounding and saturation, so no clock period
    holds more than one of them. An operation
    started in a cycle with ``en`` high (``x`` with ``setting``: bit 7 mute, bits 6:0 gain index)
    has :func:`rtl.gain.apply_gain` of them in ``y`` from ``LATENCY`` cycles later until the
    next result; one operation can start every cycle. Nothing is clocked while no operation is
    in flight.

    Members
    -------
    en : In(1); x : In(signed(24)); setting : In(8)
        One gain operation per cycle with ``en`` high.
    y : Out(signed(24))
        Its result, registered.
    """

    #: cycles from an operation's ``en`` to the first cycle ``y`` holds its result
    LATENCY = 4

    def __init__(self):
        super().__init__({
            "en":      In(1),
            "x":       In(signed(24)),
            "setting": In(8),
            "y":       Out(signed(24)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.rom = rom = Memory(shape=unsigned(COEF_BITS), depth=GAIN_STEPS,
                                        init=GAIN_TABLE)
        # stage 1: coefficient from the ROM, sample and mute held beside it
        coef = rom.read_port(domain="sync")
        m.d.comb += [coef.addr.eq(self.setting[:7]), coef.en.eq(self.en)]
        valid = Signal(self.LATENCY - 1)        # an operation in stages 2, 3 and 4
        x1, mute1 = Signal(signed(24)), Signal()
        m.d.sync += valid.eq(Cat(self.en, valid[:-1]))
        with m.If(self.en):
            m.d.sync += [x1.eq(self.x), mute1.eq(self.setting[7])]

        # stage 2: the coefficient registered; a muted operation multiplies by 0 (a reset of
        # its own, which maps to the flip-flops' synchronous reset rather than a mux)
        x2, coef2 = Signal(signed(24)), Signal(unsigned(COEF_BITS))
        muted = Signal()
        m.d.comb += muted.eq(valid[0] & mute1)
        with m.If(valid[0]):
            m.d.sync += [x2.eq(x1), coef2.eq(coef.data)]
        with m.If(muted):
            m.d.sync += coef2.eq(0)

        # stage 3: the Q4.20 product
        product = Signal(signed(24 + COEF_BITS + 1))
        with m.If(valid[1]):
            m.d.sync += product.eq(x2 * coef2)

        # stage 4: rounded at bit 20 to nearest with ties away from zero (add half an LSB,
        # less one for negative products, then shift arithmetically), saturated to 24 bits.
        # Half an LSB less one, plus one unless negative: one adder with a carry in.
        rounded = Signal(signed(product.shape().width - COEF_FRAC_BITS + 1))
        m.d.comb += rounded.eq((product + ((1 << (COEF_FRAC_BITS - 1)) - 1) + ~product[-1])
                               >> COEF_FRAC_BITS)
        with m.If(valid[2]):
            m.d.sync += self.y.eq(saturate24(m, rounded, "result"))
        return m
