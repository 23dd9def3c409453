"""The codec's amplifier arithmetic: a gain ROM and one multiplier (:class:`GainUnit`).

The numbers (table, rounding, saturation) are defined in :mod:`rtl.gain`, whose
:func:`rtl.gain.apply_gain` is the bit-exact model of a :class:`GainUnit`.
"""

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .gain import COEF_BITS, COEF_FRAC_BITS, GAIN_STEPS, GAIN_TABLE, SAMPLE_MAX, SAMPLE_MIN

__all__ = ["GainUnit", "saturate24"]


def saturate24(m, value, name):
    """A signed 24-bit Signal equal to ``value`` (a wider signed Value) clamped to 24 bits.

    The comparisons are comb logic: keep ``value``'s inputs still when the result is unused."""
    out = Signal(signed(24), name=name)
    with m.If(value > SAMPLE_MAX):
        m.d.comb += out.eq(SAMPLE_MAX)
    with m.Elif(value < SAMPLE_MIN):
        m.d.comb += out.eq(SAMPLE_MIN)
    with m.Else():
        m.d.comb += out.eq(value)
    return out


class GainUnit(wiring.Component):
    """One amplifier multiplier with its gain ROM, shared in time by the amps of a signal path.

    In a cycle with ``en`` high it computes :func:`rtl.gain.apply_gain` of ``x`` with
    ``setting`` (bit 7 mute, bits 6:0 gain index) into ``y``, which holds the result from the
    next cycle until the next ``en``. Nothing is clocked while ``en`` is low; drive ``x`` and
    ``setting`` to constants then, so the combinational multiplier stays idle too.

    Members
    -------
    en : In(1); x : In(signed(24)); setting : In(8)
        One gain operation per cycle with ``en`` high.
    y : Out(signed(24))
        Its result, registered.
    """

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
        coef = rom.read_port(domain="comb")
        m.d.comb += coef.addr.eq(self.setting[:7])

        # Q4.20 product, rounded at bit 20 to nearest with ties away from zero: add half an
        # LSB, less one for negative products, then shift arithmetically.
        product = Signal(signed(24 + COEF_BITS + 1))
        m.d.comb += product.eq(self.x * coef.data)
        rounded = Signal(signed(product.shape().width - COEF_FRAC_BITS + 1))
        m.d.comb += rounded.eq((product + (1 << (COEF_FRAC_BITS - 1)) - product[-1])
                               >> COEF_FRAC_BITS)
        result = saturate24(m, rounded, "result")
        with m.If(self.en):
            with m.If(self.setting[7]):
                m.d.sync += self.y.eq(0)
            with m.Else():
                m.d.sync += self.y.eq(result)
        return m
