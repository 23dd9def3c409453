"""Board-level RTL: the Pmod I2S2 master against a Philips I2S decoder written here, the PLL
divider search against the ECP5 limits, and the four board tops elaborating to build plans."""

import pytest
from amaranth.sim import Simulator

from rtl.boards.tops import BOARDS, SYS_CLK_HZ, BoardTop, board_platform
from rtl.boards.pll import pll_config, VCO_MAX_MHZ, VCO_MIN_MHZ
from rtl.pmod_i2s import PmodI2S, i2s_frame_clocks


def decode_i2s(samples):
    """Philips I2S from pin samples [(lrck, sclk, sdin)] taken every clock: bits are taken on
    SCLK rising edges; a channel's word is the 24 bits after the first bit following an LRCK
    change; LRCK low is left. Returns [(left, right)]."""
    frames, bits, lr_prev, sclk_prev, current = [], [], None, 0, {}
    for lrck, sclk, sdin in samples:
        if sclk and not sclk_prev:
            if lrck != lr_prev and lr_prev is not None:
                if len(bits) >= 25:
                    current[lr_prev] = int("".join(map(str, bits[1:25])), 2)
                if lrck == 0 and len(current) == 2:
                    frames.append((current[0], current[1]))
                    current = {}
                bits = []
            lr_prev = lrck
            bits.append(sdin)
        sclk_prev = sclk
    return frames


def test_i2s_frame_clock_rule():
    assert i2s_frame_clocks(24_576_000) == 512
    with pytest.raises(ValueError, match="256 fs"):
        i2s_frame_clocks(12_288_000)
    with pytest.raises(ValueError, match="256 fs"):
        i2s_frame_clocks(36_864_000)


def test_i2s_sends_and_receives_philips_frames():
    """Samples given on dac_l/dac_r come out on SDIN as Philips I2S (decoded independently);
    SDIN looped to SDOUT comes back on adc_l/adc_r; MCLK = 256 fs, SCLK = 64 fs."""
    dut = PmodI2S(SYS_CLK_HZ)
    sent = [(0x123456 + 0x10101 * i, 0xFEDCBA - 0x20202 * i) for i in range(6)]
    pins, adc = [], set()

    async def bench(ctx):
        for left, right in sent + [sent[-1]] * 3:       # then no new samples: it repeats
            ctx.set(dut.dac_l, left)
            ctx.set(dut.dac_r, right)
            ctx.set(dut.dac_valid, 1)
            await ctx.tick()
            ctx.set(dut.dac_valid, 0)
            for _ in range(511):
                ctx.set(dut.adc_sdout, ctx.get(dut.dac_sdin))
                pins.append((ctx.get(dut.lrck), ctx.get(dut.sclk), ctx.get(dut.dac_sdin),
                             ctx.get(dut.mclk)))
                adc.add((ctx.get(dut.adc_l), ctx.get(dut.adc_r)))
                await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1 / SYS_CLK_HZ)
    sim.add_testbench(bench)
    sim.run()
    frames = decode_i2s([p[:3] for p in pins])
    first = frames.index(sent[0])
    assert all(f == (0, 0) for f in frames[:first])
    assert frames[first:first + len(sent)] == sent
    # the ADC path latches each frame at the start of the next: the loopback shows up
    assert set(sent) <= adc
    window = pins[8:8 + 256]            # within one frame's run of samples: 1/2 of a frame
    assert sum(1 for a, b in zip(window, window[1:]) if b[3] and not a[3]) == 128   # 256 fs
    assert sum(1 for a, b in zip(window, window[1:]) if b[1] and not a[1]) == 32    # 64 fs


@pytest.mark.parametrize("fin", [25_000_000, 100_000_000])
def test_pll_config_within_limits(fin):
    cfg = pll_config(fin, SYS_CLK_HZ)
    assert VCO_MIN_MHZ <= cfg.vco_hz / 1e6 <= VCO_MAX_MHZ
    assert abs(cfg.error_ppm(SYS_CLK_HZ)) < 200
    assert cfg.fin_hz / cfg.clki_div >= 3.125e6


@pytest.mark.parametrize("board", ["ulx3s-85f", "ecpix5-85"])   # 25F: the bitstream test
def test_board_top_elaborates(board):
    """Each board's top converts to a build plan whose constraints place the Pmod, MIDI and
    serial pins and constrain the system clock."""
    plan = board_platform(board).prepare(BoardTop(board), name="top")
    lpf = plan.files["top.lpf"]
    for pin in ("pmod_i2s2_0__i2s_sdin", "pmod_i2s2_0__i2s_sdout", "midi_tx_0", "midi_rx_0",
                "uart_0__tx", "uart_0__rx"):
        assert f'LOCATE COMP "{pin}' in lpf, pin
    assert f"{float(SYS_CLK_HZ)} HZ" in lpf
    assert "EHXPLLL" in plan.files["top.il"]
