"""The codec's amplifier gain table and the exact model of its gain arithmetic.

Pure Python (no Amaranth import), like :mod:`rtl.regmap`: the gain ROM of the hardware
(:class:`rtl.amp.GainUnit`) is elaborated from :data:`GAIN_TABLE`, and tests and drivers use
:func:`apply_gain` to compute, bit for bit, what an amplifier does to a sample.

An amplifier setting is the 8-bit value of the HDA get/set amplifier verbs: bit 7 mute,
bits 6:0 the gain index. Index ``i`` is nominally ``(i - AMP_0DB) * GAIN_STEP_DB`` dB:
-71.25 dB at index 0, 0 dB at :data:`AMP_0DB` (0x5F), +24 dB at 0x7F.

Coefficients are unsigned fixed point with :data:`COEF_FRAC_BITS` (20) fractional bits and
4 integer bits (24 bits, "Q4.20"): ``GAIN_TABLE[i] = round(10 ** (dB / 20) * 2**20)``, so
0 dB is exactly ``2**20`` and passes samples unchanged. Every step's realised gain,
``20 * log10(GAIN_TABLE[i] / 2**20)``, is within :data:`GAIN_TOLERANCE_DB` (0.01 dB) of its
nominal value over the whole range: the worst is index 0x04 (-68.25 dB), 0.0085 dB off, and from
-60 dB up every step is within 0.0036 dB (:func:`gain_error_db`).

Arithmetic (signed 24-bit sample ``x``): the 48-bit product ``p = x * GAIN_TABLE[i]`` is
rounded to the nearest integer at bit 20, ties away from zero (``(p + 2**19 - (p < 0)) >> 20``
with an arithmetic shift), then saturated to signed 24 bits. A muted amplifier outputs exactly 0.
"""

import math

__all__ = ["AMP_0DB", "GAIN_STEP_DB", "GAIN_STEPS", "COEF_FRAC_BITS", "COEF_BITS", "GAIN_TABLE",
           "GAIN_TOLERANCE_DB", "SAMPLE_MIN", "SAMPLE_MAX", "MUTE", "gain_db",
           "gain_coefficient", "gain_error_db", "apply_gain", "scaled_sample", "saturate",
           "amp_setting"]

#: gain index of 0 dB
AMP_0DB = 0x5F
GAIN_STEP_DB = 0.75
GAIN_STEPS = 128
COEF_FRAC_BITS = 20
COEF_BITS = COEF_FRAC_BITS + 4
#: documented bound on |realised - nominal| gain of every step
GAIN_TOLERANCE_DB = 0.01
SAMPLE_MIN, SAMPLE_MAX = -(1 << 23), (1 << 23) - 1
#: mute bit of an amplifier setting
MUTE = 0x80


def _check_index(index):
    if not isinstance(index, int) or not 0 <= index < GAIN_STEPS:
        raise ValueError(f"gain index must be an integer in 0..{GAIN_STEPS - 1}, not {index!r}")


def gain_db(index):
    """Nominal gain of ``index`` in dB."""
    _check_index(index)
    return (index - AMP_0DB) * GAIN_STEP_DB


def gain_coefficient(index):
    """The ROM word of ``index``: ``round(10 ** (gain_db / 20) * 2**COEF_FRAC_BITS)``."""
    if index == AMP_0DB:
        return 1 << COEF_FRAC_BITS        # exact by definition, whatever pow() rounds to
    return round(10 ** (gain_db(index) / 20) * (1 << COEF_FRAC_BITS))


#: the gain ROM, indexed by the 7-bit gain index
GAIN_TABLE = tuple(gain_coefficient(i) for i in range(GAIN_STEPS))


def gain_error_db(index):
    """Realised minus nominal gain of ``index``, in dB."""
    return 20 * math.log10(GAIN_TABLE[index] / (1 << COEF_FRAC_BITS)) - gain_db(index)


def saturate(value):
    """Clamp to signed 24 bits."""
    return max(SAMPLE_MIN, min(SAMPLE_MAX, value))


def apply_gain(sample, setting):
    """What an amplifier with ``setting`` (bit 7 mute, bits 6:0 gain index) makes of the signed
    24-bit ``sample``; bit-identical to the hardware."""
    if not isinstance(setting, int) or not 0 <= setting <= 0xFF:
        raise ValueError(f"amplifier setting must be an 8-bit integer, not {setting!r}")
    if not isinstance(sample, int) or not SAMPLE_MIN <= sample <= SAMPLE_MAX:
        raise ValueError(f"sample must be a signed 24-bit integer, not {sample!r}")
    return saturate(scaled_sample(sample, setting))


def scaled_sample(sample, setting):
    """:func:`apply_gain` before saturation (rounded to nearest, ties away from zero); where it
    differs from :func:`apply_gain`, the amplifier clipped."""
    if setting & MUTE:
        return 0
    p = sample * GAIN_TABLE[setting & 0x7F]
    return (p + (1 << (COEF_FRAC_BITS - 1)) - (p < 0)) >> COEF_FRAC_BITS


def amp_setting(index, mute=False):
    """The 8-bit amplifier setting for gain ``index`` (and the mute bit)."""
    _check_index(index)
    return index | (MUTE if mute else 0)
