"""Amaranth-sim unit tests of the HDA-style codec (rtl/codec.py), driven over a real link."""

import math
import random
from fractions import Fraction

import pytest
from amaranth.hdl import Elaboratable, Module
from amaranth.sim import Simulator

from codec_helpers import (DAC_PATH_AMPS, EXPECTED, amp_verbs, dac_path, peak_reading,
                           walk_codec)
from rtl.amp import GainUnit
from rtl.codec import (Codec, AMP_0DB, AMP_CAPS, VENDOR_ID, NID_ROOT, NID_AFG, NID_DAC_A,
                       NID_DAC_B, NID_ADC, NID_MIXER, NID_HP, NID_MIC, FMT_RESET)
from rtl.gain import (GAIN_TABLE, GAIN_TOLERANCE_DB, COEF_FRAC_BITS, apply_gain, gain_db,
                      gain_coefficient, amp_setting)
from rtl.i2s_link import LinkMaster, pack_frame, unpack_frame, slot_word


DAC_LATENCY = 273      # frame_tick -> dac_valid (link 259 + 14 cycles of gain pipeline)
MAX, MIN = (1 << 23) - 1, -(1 << 23)


class Harness(Elaboratable):
    """A LinkMaster (the controller's end) wired to a Codec."""

    def __init__(self, frame_clocks=256):
        self.master = LinkMaster(frame_clocks)
        self.codec = Codec(frame_clocks)

    def elaborate(self, platform):
        m = Module()
        m.submodules.master = master = self.master
        m.submodules.codec = codec = self.codec
        m.d.comb += [
            codec.bclk.eq(master.bclk),
            codec.lrclk.eq(master.lrclk),
            codec.sdo.eq(master.dout),
            master.din.eq(codec.sdi),
        ]
        return m


def run(bench, frame_clocks=256):
    dut = Harness(frame_clocks)
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def wrapper(ctx):
        ctx.set(dut.codec.resp.ready, 1)     # the controller always accepts
        await bench(ctx, dut)

    sim.add_testbench(wrapper)
    sim.run()


async def send(ctx, codec, word):
    """Issue one verb, return its response."""
    ctx.set(codec.cmd.payload, word)
    ctx.set(codec.cmd.valid, 1)
    while not ctx.get(codec.cmd.ready):
        await ctx.tick()
    await ctx.tick()
    ctx.set(codec.cmd.valid, 0)
    for _ in range(4):
        if ctx.get(codec.resp.valid):
            return ctx.get(codec.resp.payload)
        await ctx.tick()
    raise AssertionError(f"no response to {word:#010x}")


def v12(nid, verb, payload=0, cad=0):
    return (cad << 28) | (nid << 20) | (verb << 8) | payload


def v4(nid, verb, payload=0):
    return (nid << 20) | (verb << 16) | payload


async def play(ctx, dut, frames, tail=DAC_LATENCY + 4):
    """Send ``frames`` (lists of 4 slot words) on consecutive link frames, then empty frames;
    return the DAC output frames as (index of the frame whose tick was DAC_LATENCY cycles
    earlier, or None, dac_l, dac_r)."""
    master, codec = dut.master, dut.codec
    ctx.set(master.enable, 1)
    todo = list(frames)
    ticks, out = [], []
    cyc = 0
    while todo or cyc < ticks[len(frames) - 1] + tail:
        if ctx.get(master.frame_tick):
            ctx.set(master.tx_slots, pack_frame(todo.pop(0)) if todo else 0)
            ticks.append(cyc)
        if ctx.get(codec.dac_valid):
            src = cyc - DAC_LATENCY
            out.append((ticks.index(src) if src in ticks else None,
                        ctx.get(codec.dac_l), ctx.get(codec.dac_r)))
        cyc += 1
        await ctx.tick()
    ctx.set(master.enable, 0)
    return out


# ---- verbs ---------------------------------------------------------------------------------

def test_verbs():
    async def bench(ctx, dut):
        c = dut.codec
        assert await send(ctx, c, v12(NID_ROOT, 0xF00, 0x00)) == VENDOR_ID
        assert await send(ctx, c, v12(NID_ROOT, 0xF00, 0x04)) == 0x0001_0001
        assert await send(ctx, c, v12(NID_AFG, 0xF00, 0x04)) == 0x0002_0007
        assert await send(ctx, c, v12(NID_AFG, 0xF00, 0x05)) == 0x01
        assert await send(ctx, c, v12(NID_AFG, 0xF00, 0x0A)) == 0x000A_0055
        assert await send(ctx, c, v12(NID_AFG, 0xF00, 0x0B)) == 0x1
        assert (await send(ctx, c, v12(NID_DAC_A, 0xF00, 0x09)) >> 20) & 0xF == 0
        assert (await send(ctx, c, v12(NID_ADC, 0xF00, 0x09)) >> 20) & 0xF == 1
        assert (await send(ctx, c, v12(NID_MIXER, 0xF00, 0x09)) >> 20) & 0xF == 2
        assert (await send(ctx, c, v12(NID_HP, 0xF00, 0x09)) >> 20) & 0xF == 4
        assert await send(ctx, c, v12(NID_HP, 0xF00, 0x12)) == AMP_CAPS
        assert await send(ctx, c, v12(NID_ADC, 0xF00, 0x0D)) == AMP_CAPS
        # connection lists
        assert await send(ctx, c, v12(NID_ADC, 0xF00, 0x0E)) == 2
        assert await send(ctx, c, v12(NID_ADC, 0xF02, 0)) == 0x0807
        assert await send(ctx, c, v12(NID_MIXER, 0xF02, 0)) == 0x0302
        assert await send(ctx, c, v12(NID_HP, 0xF02, 0)) == 0x05
        assert await send(ctx, c, v12(NID_HP, 0xF02, 4)) == 0
        # connection select
        assert await send(ctx, c, v12(NID_ADC, 0xF01)) == 0
        await send(ctx, c, v12(NID_ADC, 0x701, 1))
        assert await send(ctx, c, v12(NID_ADC, 0xF01)) == 1
        await send(ctx, c, v12(NID_ADC, 0x701, 5))                  # out of range: ignored
        assert await send(ctx, c, v12(NID_ADC, 0xF01)) == 1
        # amps: reset 0 dB unmuted, set/get round trip per channel
        assert await send(ctx, c, v4(NID_DAC_A, 0xB, 0xA000)) == AMP_0DB
        await send(ctx, c, v4(NID_DAC_A, 0x3, 0xA000 | 0x80 | 0x12))   # out, left: mute, 0x12
        await send(ctx, c, v4(NID_DAC_A, 0x3, 0x9000 | 0x34))          # out, right: 0x34
        assert await send(ctx, c, v4(NID_DAC_A, 0xB, 0xA000)) == 0x92
        assert await send(ctx, c, v4(NID_DAC_A, 0xB, 0x8000)) == 0x34
        assert await send(ctx, c, v4(NID_DAC_B, 0xB, 0xA000)) == AMP_0DB
        assert await send(ctx, c, v4(NID_DAC_A, 0xB, 0x2000)) == 0    # no input amp
        await send(ctx, c, v4(NID_ADC, 0x3, 0x7100 | 0x40))            # in, L+R, index 1
        assert await send(ctx, c, v4(NID_ADC, 0xB, 0x2001)) == 0x40
        assert await send(ctx, c, v4(NID_ADC, 0xB, 0x2000)) == AMP_0DB
        # converter format and stream
        assert await send(ctx, c, v4(NID_DAC_B, 0xA)) == FMT_RESET
        await send(ctx, c, v4(NID_DAC_B, 0x2, 0x0231))
        assert await send(ctx, c, v4(NID_DAC_B, 0xA)) == 0x0231
        await send(ctx, c, v12(NID_ADC, 0x706, 0x51))
        assert await send(ctx, c, v12(NID_ADC, 0xF06)) == 0x51
        assert await send(ctx, c, v12(NID_DAC_A, 0xF06)) == 0
        # pin control, pin sense, config default
        await send(ctx, c, v12(NID_MIC, 0x707, 0x24))
        assert await send(ctx, c, v12(NID_MIC, 0xF07)) == 0x24
        assert await send(ctx, c, v12(NID_HP, 0xF09)) == 0
        ctx.set(c.jack_sense, 1)
        await ctx.tick().repeat(3)
        assert await send(ctx, c, v12(NID_HP, 0xF09)) == 1 << 31
        assert (await send(ctx, c, v12(NID_HP, 0xF1C)) >> 20) & 0xF == 2     # headphone
        # unknown verb / NID / codec address -> 0 and no effect
        assert await send(ctx, c, v12(NID_AFG, 0xF55)) == 0
        assert await send(ctx, c, v12(0x42, 0xF00, 0x00)) == 0
        assert await send(ctx, c, v12(NID_ROOT, 0xF00, 0x00, cad=1)) == 0
        await send(ctx, c, (1 << 28) | v12(NID_ADC, 0x706, 0x77))
        assert await send(ctx, c, v12(NID_ADC, 0xF06)) == 0x51

    run(bench)


def test_back_to_back_commands_in_order():
    async def bench(ctx, dut):
        c = dut.codec
        words = [v12(NID_ROOT, 0xF00, 0), v12(NID_AFG, 0xF00, 4), v12(NID_ADC, 0xF02, 0)] * 3
        expect = [VENDOR_ID, 0x0002_0007, 0x0807] * 3
        got = []
        ctx.set(c.cmd.valid, 1)
        i = 0
        for cyc in range(40):
            if i < len(words):
                ctx.set(c.cmd.payload, words[i])
            ctx.set(c.resp.ready, cyc % 3 != 1)       # honour back-pressure
            accepted = i < len(words) and ctx.get(c.cmd.ready)
            if ctx.get(c.resp.valid) and ctx.get(c.resp.ready):
                got.append(ctx.get(c.resp.payload))
            await ctx.tick()
            if accepted:
                i += 1
                if i == len(words):
                    ctx.set(c.cmd.valid, 0)
        assert got == expect

    run(bench)


# ---- DAC path ------------------------------------------------------------------------------

async def set_tags(ctx, c, a=1, b=2):
    await send(ctx, c, v12(NID_DAC_A, 0x706, a << 4))
    await send(ctx, c, v12(NID_DAC_B, 0x706, b << 4))


def test_dac_passthrough_and_mix():
    frames = [
        # DAC A alone, bit-exact, including the extremes
        [slot_word(1, 0, 0x123456), slot_word(1, 1, -0x654321), 0, 0],
        [slot_word(1, 1, MIN), slot_word(1, 0, MAX), 0, 0],
        # A and B mix; B in slots 2-3
        [slot_word(1, 0, 1000), slot_word(1, 1, -5), slot_word(2, 0, 24), slot_word(2, 1, 7)],
        # saturation both ways
        [slot_word(1, 0, MAX - 10), slot_word(2, 0, 100), slot_word(1, 1, MIN + 3),
         slot_word(2, 1, -4)],
        # B alone, left only: right is 0
        [0, 0, slot_word(2, 0, -77), 0],
        # untagged / unknown tags: no output frame at all
        [slot_word(0, 0, 555), slot_word(3, 1, 666), slot_word(0, 1, 1), 0],
        # untagged slot beside a tagged one is ignored
        [slot_word(0, 0, 555), slot_word(1, 0, 42), 0, slot_word(15, 1, 9)],
    ]

    async def bench(ctx, dut):
        await set_tags(ctx, dut.codec)
        out = await play(ctx, dut, frames)
        assert out == [
            (0, 0x123456, -0x654321),
            (1, MAX, MIN),
            (2, 1024, 2),
            (3, MAX, MIN),
            (4, -77, 0),
            (6, 42, 0),
        ]

    run(bench)


def test_dac_mute_and_mono():
    frames = [[slot_word(1, 0, 300), slot_word(1, 1, 301), slot_word(2, 0, 20),
               slot_word(2, 1, 21)]]

    async def bench(ctx, dut):
        c = dut.codec
        await set_tags(ctx, c)
        await send(ctx, c, v4(NID_DAC_A, 0x3, 0xA000 | 0x80 | AMP_0DB))   # A left muted
        assert await play(ctx, dut, frames) == [(0, 20, 322)]
        await send(ctx, c, v4(NID_DAC_B, 0x3, 0xB000 | 0x80 | AMP_0DB))   # B both muted
        assert await play(ctx, dut, frames) == [(0, 0, 301)]
        await send(ctx, c, v4(NID_DAC_B, 0x3, 0xB000 | AMP_0DB))          # B unmuted
        await send(ctx, c, v4(NID_HP, 0x3, 0x9000 | 0x80 | AMP_0DB))      # HP right muted
        assert await play(ctx, dut, frames) == [(0, 20, 0)]
        await send(ctx, c, v4(NID_HP, 0x3, 0xB000 | AMP_0DB))
        await send(ctx, c, v4(NID_DAC_A, 0x3, 0xB000 | AMP_0DB))
        # mono DAC B: a channel-0 slot plays on both sides
        await send(ctx, c, v4(NID_DAC_B, 0x2, 0x0010))
        assert await play(ctx, dut, [[slot_word(2, 0, -9), 0, 0, 0]]) == [(0, -9, -9)]

    run(bench)


def test_peak_meter():
    async def bench(ctx, dut):
        c = dut.codec
        await set_tags(ctx, c)
        await play(ctx, dut, [[slot_word(1, 0, 0x3456 << 7), slot_word(1, 1, -(0x80 << 7)),
                               0, 0],
                              [slot_word(1, 0, 5 << 7), slot_word(1, 1, MIN), 0, 0]])
        assert await send(ctx, c, v12(NID_MIXER, 0xF80)) == (0x3456 << 16) | 0xFFFF
        assert await send(ctx, c, v12(NID_MIXER, 0xF80)) == 0

    run(bench)


# ---- ADC path ------------------------------------------------------------------------------

async def capture(ctx, dut, frames):
    """Run ``frames`` link frames, feeding a new ADC value pair every cycle; return the strobes
    (frame index, l, r) and the slot words the master received (frame index, slots)."""
    master, codec = dut.master, dut.codec
    ctx.set(master.enable, 1)
    strobes, received = [], []
    frame = -1
    n = 0
    since_tick = 0
    while True:
        since_tick += 1
        if ctx.get(master.frame_tick):
            frame += 1
            since_tick = 0
            if frame > frames:
                break
        n += 1
        ctx.set(codec.adc_l, (n * 7919) % (1 << 23) - (1 << 22))
        ctx.set(codec.adc_r, -((n * 104729) % (1 << 22)))
        if ctx.get(codec.adc_strobe):
            assert since_tick == 1                   # the link's frame-start cycle
            strobes.append((frame, ctx.get(codec.adc_l), ctx.get(codec.adc_r)))
        if ctx.get(master.rx_valid):
            assert since_tick == 3                   # 259 clocks after the previous tick
            received.append((frame, unpack_frame(ctx.get(master.rx_slots))))
        await ctx.tick()
    ctx.set(master.enable, 0)
    return strobes, received


def test_adc_48k():
    async def bench(ctx, dut):
        c = dut.codec
        strobes, received = await capture(ctx, dut, 3)
        assert strobes == []                          # tag 0: not capturing
        assert all(s == [0, 0, 0, 0] for _, s in received)
        await send(ctx, c, v12(NID_ADC, 0x706, 0x30))
        strobes, received = await capture(ctx, dut, 6)
        assert [f for f, _, _ in strobes] == list(range(7))
        got = {f: s for f, s in received}
        for f, left, right in strobes:
            if f + 2 in got:   # sampled in frame f, sent in f+1, in rx_slots early in f+2
                assert got[f + 2] == [slot_word(3, 0, left), slot_word(3, 1, right), 0, 0]
        assert len([f for f, _, _ in strobes if f + 2 in got]) >= 3

    run(bench)


def test_adc_16k_and_mute():
    async def bench(ctx, dut):
        c = dut.codec
        await send(ctx, c, v12(NID_ADC, 0x706, 0x70))
        await send(ctx, c, v4(NID_ADC, 0x2, 0x0211))      # DIV = 2: 16 kHz
        await send(ctx, c, v4(NID_ADC, 0x3, 0x7000 | 0x80 | AMP_0DB))   # mic input muted
        strobes, received = await capture(ctx, dut, 8)
        assert [f for f, _, _ in strobes] == [2, 5, 8]
        got = dict(received)
        assert got[4] == [slot_word(7, 0, 0), slot_word(7, 1, 0), 0, 0]
        assert got[5] == got[6] == [0, 0, 0, 0]
        assert got[7] == [slot_word(7, 0, 0), slot_word(7, 1, 0), 0, 0]
        # line input selected: its amp (unmuted) applies
        await send(ctx, c, v12(NID_ADC, 0x701, 1))
        await send(ctx, c, v4(NID_ADC, 0x2, 0x0011))      # 48 kHz, restarts the cadence
        strobes, received = await capture(ctx, dut, 3)
        got = dict(received)
        f, left, right = strobes[0]
        assert got[f + 2] == [slot_word(7, 0, left), slot_word(7, 1, right), 0, 0]
        # 96 kHz (MULT = 1) is not supported: no samples
        await send(ctx, c, v4(NID_ADC, 0x2, 0x0811))
        strobes, _ = await capture(ctx, dut, 3)
        assert strobes == []

    run(bench)


# ---- jack sense / unsolicited responses ----------------------------------------------------

def test_unsolicited():
    async def bench(ctx, dut):
        c = dut.codec
        ctx.set(c.unsol.ready, 0)
        ctx.set(c.jack_sense, 1)                      # not enabled yet: nothing queued
        await ctx.tick().repeat(4)
        assert not ctx.get(c.unsol.valid)
        await send(ctx, c, v12(NID_HP, 0x708, 0x80 | 0x15))
        assert await send(ctx, c, v12(NID_HP, 0xF08)) == 0x95
        for level in (0, 1, 0, 1, 0, 1):              # 6 changes, FIFO holds 4
            ctx.set(c.jack_sense, level)
            await ctx.tick().repeat(4)
        got = []
        ctx.set(c.unsol.ready, 1)
        for _ in range(10):
            if ctx.get(c.unsol.valid):
                got.append(ctx.get(c.unsol.payload))
            await ctx.tick()
        tag = 0x15 << 26
        assert got == [tag | 0, tag | 1, tag | 0, tag | 1]
        # unplug and plug again: presence in bit 0, the tag in [31:26]
        for level in (0, 1):
            ctx.set(c.jack_sense, level)
            await ctx.tick().repeat(4)
            assert ctx.get(c.unsol.valid) and ctx.get(c.unsol.payload) == tag | level
            await ctx.tick()
            assert not ctx.get(c.unsol.valid)
            assert await send(ctx, c, v12(NID_HP, 0xF09)) == level << 31
        # disabled again (bit 7 clear): changes queue nothing
        await send(ctx, c, v12(NID_HP, 0x708, 0x15))
        for level in (0, 1, 0):
            ctx.set(c.jack_sense, level)
            await ctx.tick().repeat(4)
            assert not ctx.get(c.unsol.valid)

    run(bench)


# ---- gain table and gain unit ------------------------------------------------------------

def round_half_away(q):
    """Nearest integer to the Fraction ``q``, ties away from zero (the documented rounding)."""
    n = math.floor(abs(q) + Fraction(1, 2))
    return n if q >= 0 else -n


def reference_gain(sample, setting):
    """The documented arithmetic spelled out with exact fractions (independent of the shift
    trick in rtl.gain.apply_gain)."""
    if setting & 0x80:
        return 0
    exact = Fraction(sample * GAIN_TABLE[setting & 0x7F], 1 << COEF_FRAC_BITS)
    return max(MIN, min(MAX, round_half_away(exact)))


def tie_value(index):
    """A sample whose product with the coefficient of ``index`` is exactly half an LSB above
    an integer (a rounding tie), or None if the coefficient allows none."""
    c = GAIN_TABLE[index]
    twos = (c & -c).bit_length() - 1
    return 1 << (COEF_FRAC_BITS - 1 - twos) if twos < COEF_FRAC_BITS else None


def gain_samples(rng, n=6):
    """Sample values that exercise saturation and rounding: the extremes, +-1, and random
    magnitudes spread over every octave."""
    values = [MAX, MIN, 0, 1, -1, MAX - 1, MIN + 1]
    for _ in range(n):
        v = rng.randrange(1, 1 << rng.randrange(1, 24))
        values.append(v if rng.random() < 0.5 else -v)
    return values


def test_gain_table():
    assert len(GAIN_TABLE) == 128
    assert GAIN_TABLE[AMP_0DB] == 1 << COEF_FRAC_BITS == 1 << 20
    assert all(a < b for a, b in zip(GAIN_TABLE, GAIN_TABLE[1:])), "gain must rise every step"
    assert max(GAIN_TABLE) < 1 << 24
    worst = worst_60 = 0.0
    for i, c in enumerate(GAIN_TABLE):
        nominal = (i - 0x5F) * 0.75
        assert gain_db(i) == nominal
        err = abs(20 * math.log10(c / (1 << 20)) - nominal)
        worst = max(worst, err)
        if nominal >= -60:
            worst_60 = max(worst_60, err)
    assert worst <= GAIN_TOLERANCE_DB == 0.01
    assert worst_60 <= 0.0036
    # no coefficient could be closer: each is the nearest Q4.20 value to the nominal gain
    for i, c in enumerate(GAIN_TABLE):
        ideal = 10 ** (gain_db(i) / 20) * (1 << 20)
        assert abs(c - ideal) <= 0.5, i


def test_apply_gain_model():
    rng = random.Random(3)
    for setting in range(256):
        values = gain_samples(rng)
        tie = tie_value(setting & 0x7F)
        if tie is not None:
            values += [tie, -tie, tie + 1, -tie - 1]
        for x in values:
            assert apply_gain(x, setting) == reference_gain(x, setting), (x, setting)
    for x in (MAX, MIN, 0, 1, -1, 0x123456):
        assert apply_gain(x, AMP_0DB) == x                   # 0 dB is bit-exact
        assert apply_gain(x, AMP_0DB | 0x80) == 0            # mute is exact zero
    assert apply_gain(MAX, 0x7F) == MAX and apply_gain(MIN, 0x7F) == MIN   # saturation
    # ties round away from zero, symmetrically
    assert apply_gain(1 << 19, 0x5F - 8) == -apply_gain(-(1 << 19), 0x5F - 8)
    assert amp_setting(0x10, mute=True) == 0x90
    with pytest.raises(ValueError, match="300"):
        apply_gain(1, 300)
    with pytest.raises(ValueError, match="8388608"):
        apply_gain(1 << 23, 0)
    with pytest.raises(ValueError, match="128"):
        gain_coefficient(128)


def test_gain_unit():
    """The GainUnit against the model: every setting (mute and all 128 gains) with extremes,
    rounding ties either side, and random magnitudes, one operation per cycle through the
    pipeline (each result LATENCY cycles after its operation); nothing changes without ``en``."""
    rng = random.Random(5)
    cases = []
    for setting in range(256):
        values = gain_samples(rng, 3)
        tie = tie_value(setting & 0x7F)
        if tie is not None:
            values += [tie, -tie, tie - 1, -tie + 1]
        cases += [(x, setting) for x in values]
    dut = GainUnit()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    lat = GainUnit.LATENCY
    assert lat >= 1

    async def bench(ctx):
        ys = []
        for i in range(len(cases) + lat):
            if i < len(cases):
                x, setting = cases[i]
                ctx.set(dut.en, 1)
                ctx.set(dut.x, x)
                ctx.set(dut.setting, setting)
            else:
                ctx.set(dut.en, 0)
                ctx.set(dut.x, 0x5A5A)
            await ctx.tick()
            ys.append(ctx.get(dut.y))          # y in cycle i + 1
        got = ys[lat - 1:lat - 1 + len(cases)]
        assert got == [apply_gain(x, setting) for x, setting in cases]
        last = got[-1]
        for _ in range(2 * lat):
            await ctx.tick()
            assert ctx.get(dut.y) == last, "y changed without en"

    sim.add_testbench(bench)
    sim.run()


# ---- amplifiers in the codec ---------------------------------------------------------------

#: which DAC feeds the path an amp sits on (the other DAC is silent in single-amp tests)
PATH_DAC = {"dac_a": 1, "mix_a": 1, "hp": 1, "dac_b": 2, "mix_b": 2}
FRAME = 256           # clocks per link frame of the harness
LEAD = 12             # verbs for a frame start this many cycles after its frame_tick
ADC_LATENCY = 514     # adc_strobe -> the master's rx_valid carrying that sample


async def run_frames(ctx, dut, items):
    """One link frame per item ``(verbs, slots, adc)``: ``verbs`` go out one per cycle from
    LEAD cycles after the frame's tick (after the previous frame has left the gain pipeline,
    long before this one reaches it), ``slots`` are the frame's four slot words and ``adc``
    the (left, right) put on the ADC pins then, sampled at the next frame start. Returns per
    item the DAC output (l, r) of its slots and the slot words the master received with its
    ADC sample (None where there was none).

    Python acts only at the cycles where something is due, at the documented latencies
    (frames every FRAME clocks, dac_valid DAC_LATENCY after the tick, ADC strobe 1 after it,
    the master's rx_valid 3 after it), so a different timing fails the checks."""
    master, codec = dut.master, dut.codec
    n = len(items)
    events = []                     # (cycle after the first tick, order, action, frame)
    for k in range(n + 3):
        base = FRAME * k
        events += [(base, 0, "slots", k), (base + 1, 0, "strobe", k), (base + 3, 0, "rx", k)]
        if k < n:
            events.append((base + DAC_LATENCY, 0, "dac", k))
            events += [(base + LEAD + j, 1, "verb", (k, j)) for j in range(len(items[k][0]))]
            events.append((base + LEAD + len(items[k][0]), 1, "idle", k))
    events.sort(key=lambda e: e[:2])
    dac, adc = [None] * n, [None] * n
    sampled = {}                    # frame of a strobe -> item whose pins it took
    ctx.set(master.enable, 1)
    while not ctx.get(master.frame_tick):
        await ctx.tick()
    now = 0
    for cycle, _, action, k in events:
        if cycle > now:
            await ctx.tick().repeat(cycle - now)
            now = cycle
        if action == "slots":
            assert ctx.get(master.frame_tick), f"no frame_tick at frame {k}"
            ctx.set(master.tx_slots, pack_frame(items[k][1]) if k < n else 0)
        elif action == "verb":
            item, j = k
            if j == 0:
                ctx.set(codec.adc_l, items[item][2][0])
                ctx.set(codec.adc_r, items[item][2][1])
            assert ctx.get(codec.cmd.ready)
            ctx.set(codec.cmd.payload, items[item][0][j])
            ctx.set(codec.cmd.valid, 1)
        elif action == "idle":
            ctx.set(codec.cmd.valid, 0)
        elif action == "strobe" and ctx.get(codec.adc_strobe):
            sampled[k] = k - 1
        elif action == "rx" and ctx.get(master.rx_valid) and 0 <= sampled.get(k - 2, -1) < n:
            adc[sampled[k - 2]] = unpack_frame(ctx.get(master.rx_slots))
        elif action == "dac" and ctx.get(codec.dac_valid):
            dac[k] = (ctx.get(codec.dac_l), ctx.get(codec.dac_r))
    await ctx.tick()
    ctx.set(master.enable, 0)
    return dac, adc


@pytest.mark.parametrize("dac_amp,adc_amp", [("dac_a", "mic"), ("dac_b", "line"),
                                             ("mix_a", "line"), ("mix_b", "mic"),
                                             ("hp", None)])
def test_every_gain_step(dac_amp, adc_amp):
    """Every gain step of each amplifier, left and right (left at step k while right is at
    127 - k), bit for bit against the model; the ADC sweeps one input amp at the same time
    with the other input's amp at a different setting, so the mux must pick the right one."""
    rng = random.Random(f"{dac_amp}-{adc_amp}")
    tag = PATH_DAC[dac_amp]
    items, expect = [], []
    for k in range(128):
        values = [MAX, MIN] + [rng.choice((1, -1)) * rng.randrange(1, 1 << rng.randrange(1, 24))
                               for _ in range(2)]
        left, right = values[k % 4], values[(1 - k) % 4]
        verbs = amp_verbs(dac_amp, k, 127 - k)
        pins = (rng.randrange(MIN, MAX + 1), values[k % 2])
        if adc_amp:
            other = "line" if adc_amp == "mic" else "mic"
            verbs += amp_verbs(adc_amp, k, 127 - k) + amp_verbs(other, 127 - k, k)
        slots = [slot_word(tag, 0, left), slot_word(tag, 1, right)]
        items.append((verbs, slots + [0, 0] if tag == 1 else [0, 0] + slots, pins))
        expect.append(((apply_gain(left, k), apply_gain(right, 127 - k)),
                       (apply_gain(pins[0], k), apply_gain(pins[1], 127 - k))
                       if adc_amp else pins))

    async def bench(ctx, dut):
        c = dut.codec
        await set_tags(ctx, c)
        await send(ctx, c, v12(NID_ADC, 0x706, 0x40))
        if adc_amp:
            await send(ctx, c, v12(NID_ADC, 0x701, 0 if adc_amp == "mic" else 1))
        dac, adc = await run_frames(ctx, dut, items)
        for k, ((want_dac, (want_l, want_r)), got, got_adc) in enumerate(zip(expect, dac, adc)):
            assert got == want_dac, f"step {k}: DAC {got} != {want_dac}"
            assert got_adc == [slot_word(4, 0, want_l), slot_word(4, 1, want_r), 0, 0], \
                f"step {k}: ADC {got_adc}"

    run(bench)


def test_amps_in_series_and_mute():
    """Random settings (some muted) on all five amps of the DAC path with both DACs playing
    (or one of them silent): the output is DAC amp -> mixer input amp -> saturating sum ->
    headphone amp, bit for bit; a muted amp gives exact zeros."""
    rng = random.Random(11)
    items, expect = [], []
    names = DAC_PATH_AMPS
    # first, each amp muted in turn at +24 dB with full-scale input on its path only
    for name in names:
        settings = {n: {"l": AMP_0DB, "r": AMP_0DB} for n in names}
        settings[name] = {"l": 0x80 | 0x7F, "r": 0x7F}
        tag = PATH_DAC[name]
        items.append((sum((amp_verbs(n, s["l"], s["r"]) for n, s in settings.items()), []),
                      [slot_word(tag, 0, MAX), slot_word(tag, 1, MIN), 0, 0]
                      if tag == 1 else [0, 0, slot_word(tag, 0, MAX), slot_word(tag, 1, MIN)],
                      (0, 0)))
        expect.append((0, MIN))                      # muted left, saturated right
    for _ in range(60):
        settings = {n: {side: rng.randrange(256) if rng.random() < 0.15 else
                        rng.randrange(0x40, 0x80) for side in "lr"} for n in names}
        samples = {d: {side: rng.randrange(MIN, MAX + 1) >> rng.randrange(0, 12)
                       for side in "lr"} for d in (1, 2)}
        present = rng.choice(((1,), (2,), (1, 2), (1, 2)))
        slots = [0, 0, 0, 0]
        for d in present:
            slots[2 * (d - 1)] = slot_word(d, 0, samples[d]["l"])
            slots[2 * (d - 1) + 1] = slot_word(d, 1, samples[d]["r"])
        items.append((sum((amp_verbs(n, s["l"], s["r"]) for n, s in settings.items()), []),
                      slots, (0, 0)))
        expect.append(tuple(
            dac_path({n: s[side] for n, s in settings.items()},
                        samples[1][side] if 1 in present else 0,
                        samples[2][side] if 2 in present else 0)[0] for side in "lr"))

    async def bench(ctx, dut):
        await set_tags(ctx, dut.codec)
        dac, _ = await run_frames(ctx, dut, items)
        for k, (got, want) in enumerate(zip(dac, expect)):
            assert got == want, f"frame {k}: DAC {got} != {want}"

    run(bench)


def test_peak_meter_measures_mixer_sum():
    """F80 reports the peak of the mixer sum: after the DAC and mixer input amps, before the
    headphone amp (which here attenuates and mutes without changing the reading)."""
    rng = random.Random(2)
    settings = {"dac_a": 0x5F - 8, "mix_a": 0x5F + 4, "dac_b": 0x5F + 2, "mix_b": 0x5F - 20,
                "hp": 0x5F - 40}
    verbs = sum((amp_verbs(n, s, s) for n, s in settings.items()), []) + \
        amp_verbs("hp", None, 0x80 | 0x5F)
    frames = [[slot_word(1, 0, rng.randrange(MIN, MAX + 1) >> 2), slot_word(1, 1, -(k << 12)),
               slot_word(2, 0, rng.randrange(MIN, MAX + 1) >> 1), slot_word(2, 1, k << 8)]
              for k in range(12)]
    items = [(verbs if k == 0 else [], f, (0, 0)) for k, f in enumerate(frames)]
    sums = [[], []]
    for f in frames:
        for side in (0, 1):
            a, b = (f[side] & 0xFFFFFF, f[2 + side] & 0xFFFFFF)
            a, b = (v - (1 << 24) if v & 0x800000 else v for v in (a, b))
            sums[side].append(dac_path(settings, a, b)[1])
    peak = peak_reading(*sums)

    async def bench(ctx, dut):
        c = dut.codec
        await set_tags(ctx, c)
        assert await send(ctx, c, v12(NID_MIXER, 0xF80)) == 0
        await run_frames(ctx, dut, items)
        assert await send(ctx, c, v12(NID_MIXER, 0xF80)) == peak
        assert await send(ctx, c, v12(NID_MIXER, 0xF80)) == 0

    assert peak >> 16 and peak & 0xFFFF
    run(bench)


def test_parameters_describe_the_graph():
    """A driver's walk of the codec with F00/F02/F1C alone finds the topology rtl/codec.py builds."""
    async def bench(ctx, dut):
        c = dut.codec
        vendor, afg, widgets = await walk_codec(lambda word: send(ctx, c, word))
        assert (vendor, afg) == (VENDOR_ID, NID_AFG)
        assert widgets == EXPECTED
        # the amp caps the walk found answer the amp verbs: input amps by index
        assert await send(ctx, c, v4(NID_MIXER, 0xB, 0x2001)) == AMP_0DB

    run(bench)


# ---- parameters / export -------------------------------------------------------------------

def test_bad_parameters():
    with pytest.raises(ValueError, match="100"):
        Codec(frame_clocks=100)
    with pytest.raises(ValueError, match="0"):
        Codec(unsol_depth=0)


def test_verilog_export():
    from amaranth.back import verilog
    text = verilog.convert(Codec(), name="codec")
    assert "module codec" in text
