"""amaranth.sim unit tests of the codec's parts (rtl/codec_audio.py): the gain units' sharing,
the slot matching, the peak meter and the ADC's sample clock. test_codec.py tests them
together, through the link."""

import pytest
from amaranth.sim import Simulator

from rtl.amp import GainUnit
from rtl.codec_audio import AdcRate, PeakMeter, SharedGain, SlotPicker
from rtl.gain import AMP_0DB, apply_gain
from rtl.i2s_link import pack_frame, slot_word

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


@pytest.mark.parametrize("channels,expected", [
    (0x0, (-7, -7)),         # mono: the first channel-0 slot feeds both sides
    (0x1, (-7, 33)),         # stereo: the lowest matching slot per side
])
def test_slot_picker_lowest_matching_slot(channels, expected):
    dut = SlotPicker()
    frame = pack_frame([slot_word(2, 1, 11), slot_word(3, 0, -7), slot_word(3, 1, 33),
                        slot_word(3, 0, 44)])

    async def bench(ctx):
        ctx.set(dut.frame, frame)
        ctx.set(dut.converter.stream, 0x30)
        ctx.set(dut.converter.format, channels)
        assert ctx.get(dut.got) == 0            # nothing is matched outside frame_valid
        assert (ctx.get(dut.sample[0]), ctx.get(dut.sample[1])) == (0, 0)
        ctx.set(dut.frame_valid, 1)
        assert ctx.get(dut.got) == 1
        assert (ctx.get(dut.sample[0]), ctx.get(dut.sample[1])) == expected
        ctx.set(dut.converter.stream, 0x00)     # tag 0 matches nothing, not even empty slots
        ctx.set(dut.frame, 0)
        assert ctx.get(dut.got) == 0

    run_sim(dut, bench, clocked=False)             # comb only


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
