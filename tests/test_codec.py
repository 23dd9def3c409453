"""Amaranth-sim unit tests of the HDA-style codec (rtl/codec.py), driven over a real link."""

import pytest
from amaranth.hdl import Elaboratable, Module
from amaranth.sim import Simulator

from rtl.codec import (Codec, AMP_0DB, AMP_CAPS, VENDOR_ID, NID_ROOT, NID_AFG, NID_DAC_A,
                       NID_DAC_B, NID_ADC, NID_MIXER, NID_HP, NID_MIC, FMT_RESET)
from rtl.i2s_link import LinkMaster, pack_frame, unpack_frame, slot_word


DAC_LATENCY = 260      # frame_tick -> dac_valid (link 259 + one register)
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
