"""amaranth.sim unit tests of the codec's parts (rtl/codec_audio.py): the gain units' sharing,
the slot matching, the peak meter and the ADC's sample clock. test_codec.py tests them
together, through the link."""

import pytest
from amaranth.sim import Simulator

from rtl.amp import GainUnit
from rtl.codec_audio import AdcRate, PeakMeter, SharedGain, SlotPicker
from rtl.gain import AMP_0DB, apply_gain
from rtl.i2s_link import slot_word

LATENCY = GainUnit.LATENCY


def run_sim(dut, bench, clocked=True):
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def set_operands(ctx, port, operands):
    """Put ``((x_l, setting_l), (x_r, setting_r))`` on a GainRequest port."""
    for channel, (x, setting) in enumerate(operands):
        ctx.set(port.x[channel], x)
        ctx.set(port.setting[channel], setting)


def test_shared_gain_dac_first_adc_in_a_free_cycle():
    """The ADC's request waits while the DAC path starts operations, starts in the first free
    cycle, and every result is in ``y`` (of both ports) LATENCY cycles after its start."""
    dut = SharedGain()
    dac_ops = [((1000, AMP_0DB), (-1000, 0x40)), ((5, 0x7F), (-5, 0x85))]
    adc_op = ((123456, 0x30), (-654321, AMP_0DB))
    expected = [tuple(apply_gain(x, s) for x, s in op) for op in (*dac_ops, adc_op)]
    seen = []

    async def bench(ctx):
        ctx.set(dut.adc.valid, 1)
        set_operands(ctx, dut.adc, adc_op)
        for cycle in range(LATENCY + 4):
            dac_busy = cycle < len(dac_ops)
            ctx.set(dut.dac.valid, dac_busy)
            if dac_busy:
                set_operands(ctx, dut.dac, dac_ops[cycle])
            assert ctx.get(dut.dac.ready) == 1
            adc_ready = ctx.get(dut.adc.ready)
            assert adc_ready == (not dac_busy)
            adc_starts = ctx.get(dut.adc.valid) and adc_ready
            seen.append((tuple(ctx.get(dut.dac.y[c]) for c in range(2)),
                         tuple(ctx.get(dut.adc.y[c]) for c in range(2))))
            await ctx.tick()
            if adc_starts:
                ctx.set(dut.adc.valid, 0)

    run_sim(dut, bench)
    for start, result in enumerate(expected):      # the ADC's operation started in cycle 2
        dac_y, adc_y = seen[start + LATENCY]
        assert dac_y == adc_y == result


async def feed_slots(ctx, dut, words, first_index=0, gap=1):
    """Present ``words`` as consecutive slots (``first_index`` on), each for one cycle with
    ``gap`` idle cycles after it; return ``(got, left, right)`` seen in every cycle."""
    seen = []

    def look():
        seen.append((ctx.get(dut.got), ctx.get(dut.sample[0]), ctx.get(dut.sample[1])))

    for index, word in enumerate(words, first_index):
        ctx.set(dut.slot.word, word)
        ctx.set(dut.slot.index, index)
        ctx.set(dut.slot_valid, 1)
        look()
        await ctx.tick()
        ctx.set(dut.slot_valid, 0)
        for _ in range(gap):
            look()
            await ctx.tick()
    return seen


def frame_result(seen, gap=1):
    """The outputs in the last slot's cycle; every other cycle must show zeros."""
    last = len(seen) - 1 - gap
    assert all(out == (0, 0, 0) for k, out in enumerate(seen) if k != last), seen
    return seen[last]


@pytest.mark.parametrize("channels,expected", [
    (0x0, (-7, -7)),         # mono: the first channel-0 slot feeds both sides
    (0x1, (-7, 33)),         # stereo: the lowest matching slot per side
])
def test_slot_picker_lowest_matching_slot(channels, expected):
    dut = SlotPicker()
    words = [slot_word(2, 1, 11), slot_word(3, 0, -7), slot_word(3, 1, 33), slot_word(3, 0, 44)]

    async def bench(ctx):
        ctx.set(dut.converter.stream, 0x30)
        ctx.set(dut.converter.format, channels)
        assert frame_result(await feed_slots(ctx, dut, words)) == (1, *expected)
        ctx.set(dut.converter.stream, 0x00)     # tag 0 matches nothing, not even empty slots
        assert frame_result(await feed_slots(ctx, dut, [0] * 4)) == (0, 0, 0)

    run_sim(dut, bench)


@pytest.mark.parametrize("words,expected", [
    # only the last slot matches: it is not stored, but passed through in its own cycle
    ([0, slot_word(5, 0, 9), 0, slot_word(3, 1, -2)], (1, 0, -2)),
    # the last slot matches a side an earlier slot had already: the earlier one wins
    ([slot_word(3, 1, 21), 0, 0, slot_word(3, 1, -2)], (1, 0, 21)),
    # ... and the other side still takes it
    ([slot_word(3, 1, 21), 0, 0, slot_word(3, 0, -2)], (1, -2, 21)),
    # nothing matches
    ([slot_word(2, 0, 1), slot_word(4, 1, 2), 0, slot_word(15, 0, 3)], (0, 0, 0)),
])
def test_slot_picker_last_slot_bypass(words, expected):
    dut = SlotPicker()

    async def bench(ctx):
        ctx.set(dut.converter.stream, 0x30)
        ctx.set(dut.converter.format, 0x11)
        assert frame_result(await feed_slots(ctx, dut, words, gap=3), gap=3) == expected

    run_sim(dut, bench)


def test_slot_picker_captures_per_slot():
    """Slots are matched as they arrive: a frame's slot 0 forgets what an earlier (possibly
    cut-off) frame had captured, and the converter's settings apply per slot."""
    dut = SlotPicker()

    async def bench(ctx):
        ctx.set(dut.converter.stream, 0x30)
        ctx.set(dut.converter.format, 0x11)
        # a frame cut off after slot 1, which matched both sides
        await feed_slots(ctx, dut, [slot_word(3, 0, 100), slot_word(3, 1, 200)])
        words = [0, slot_word(3, 1, 5), slot_word(7, 0, 6), slot_word(7, 0, 8)]
        seen = await feed_slots(ctx, dut, words[:2])
        ctx.set(dut.converter.stream, 0x70)     # between slots 1 and 2: slot 2 matches now
        seen += await feed_slots(ctx, dut, words[2:], first_index=2)
        assert frame_result(seen) == (1, 6, 5)

    run_sim(dut, bench)


def test_peak_meter_read_and_reset():
    """The peak holds the largest magnitude (|-2^23| saturated); a reading resets it, and a
    sample in the reading's cycle starts the new peak."""
    dut = PeakMeter()

    async def sample(ctx, left, right, clear=0):
        ctx.set(dut.samples.valid, 1)
        ctx.set(dut.samples.payload[0], left)
        ctx.set(dut.samples.payload[1], right)
        ctx.set(dut.read.clear, clear)
        reading = ctx.get(dut.read.reading)
        await ctx.tick()
        ctx.set(dut.samples.valid, 0)
        ctx.set(dut.read.clear, 0)
        return reading

    async def bench(ctx):
        await sample(ctx, -(1 << 23), 0x12345)
        await sample(ctx, 5, -0x400)                    # smaller: the peaks stay
        assert ctx.get(dut.read.reading) == (0xFFFF << 16) | (0x12345 >> 7)
        before = await sample(ctx, 0x1000, -0x2000, clear=1)
        assert before == (0xFFFF << 16) | (0x12345 >> 7)
        assert ctx.get(dut.read.reading) == ((0x1000 >> 7) << 16) | (0x2000 >> 7)
        ctx.set(dut.read.clear, 1)                      # a reading with no sample: zeros
        await ctx.tick()
        ctx.set(dut.read.clear, 0)
        assert ctx.get(dut.read.reading) == 0

    run_sim(dut, bench)


def rate_format(mult, div, base_44k1=0):
    return (base_44k1 << 14) | (mult << 11) | (div << 8) | 0x11


@pytest.mark.parametrize("fmt,pattern", [
    (rate_format(0, 0), [1] * 6),                        # 48 kHz: every frame
    (rate_format(0, 2), [0, 0, 1] * 2),                  # 16 kHz: one frame in three
    (rate_format(1, 2), [0, 1, 1] * 2),                  # 32 kHz: two in three
    (rate_format(1, 0), [0] * 6),                        # 96 kHz: never
    (rate_format(0, 0, base_44k1=1), [0] * 6),           # 44.1 kHz family: never
])
def test_adc_rate(fmt, pattern):
    dut = AdcRate()
    takes = []

    async def bench(ctx):
        ctx.set(dut.converter.format, fmt)
        for _ in pattern:
            ctx.set(dut.frame_start, 1)
            takes.append(ctx.get(dut.take))
            await ctx.tick()
            ctx.set(dut.frame_start, 0)
            assert ctx.get(dut.take) == 0               # only on frame starts
            await ctx.tick()

    run_sim(dut, bench)
    assert takes == pattern


def test_adc_rate_restart_wins_over_frame_start():
    """A format write in a frame-start cycle restarts the count (that frame's ``take`` is
    still the old count's)."""
    dut = AdcRate()
    takes = []

    async def bench(ctx):
        ctx.set(dut.converter.format, rate_format(0, 2))
        for restart in (0, 1, 0, 0, 0):
            ctx.set(dut.frame_start, 1)
            ctx.set(dut.restart, restart)
            takes.append(ctx.get(dut.take))
            await ctx.tick()

    run_sim(dut, bench)
    assert takes == [0, 0, 0, 0, 1]
