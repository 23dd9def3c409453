"""Register-level cosim tests of the codec's mixer, ADC mux, peak meter, jack sense and the
controller's unsolicited-response queue, through the real controller and codec.

Run through tests/test_codec_cosim.py on Icarus and Verilator; Icarus runs play fewer gain steps
and shorter segments (``size``), with the same checks."""

import math

import cocotb
from cocotb.triggers import ClockCycles

from codec_helpers import EXPECTED, amp_verbs, dac_path, peak_reading, walk_codec
from cosim.hda import fmt_value, verb
from cosim.soc_env import SocEnv, FRAME_NS
from rtl.codec import VENDOR_ID, NID_ADC, NID_HP, NID_MIXER
from rtl.gain import (AMP_0DB, GAIN_TOLERANCE_DB, SAMPLE_MAX, SAMPLE_MIN, apply_gain, gain_db,
                      amp_setting)
from rtl.regmap import REGMAP

from soc_tests import SHORT, size

FMT24 = fmt_value(2, 24)
FRAME_BYTES = 8                 # 24-bit stereo: two 32-bit containers
#: the 0 dB setting of every DAC-path amp
UNITY = {name: AMP_0DB for name in ("dac_a", "mix_a", "dac_b", "mix_b", "hp")}


def pack24(frames):
    """24-bit stereo frames as memory bytes (each sample MSB-aligned in a 32-bit container)."""
    return b"".join(((s & 0xFFFFFF) << 8).to_bytes(4, "little") for f in frames for s in f)


def unpack24(data):
    """Memory bytes of 24-bit stereo back to (left, right) frames."""
    words = [int.from_bytes(data[i:i + 4], "little", signed=True) >> 8
             for i in range(0, len(data), 4)]
    return list(zip(words[0::2], words[1::2]))


def rms(values):
    return math.sqrt(sum(v * v for v in values) / len(values))


class TB(SocEnv):
    """The device with its host, plus codec helpers: verbs, amp settings, render segments."""

    def __init__(self, dut):
        super().__init__(dut)
        self._render = None

    async def verb(self, nid, command, payload=0):
        return await self.hda.command(verb(nid, command, payload))

    async def set_amps(self, **settings):
        """``name=value`` (both channels) or ``name=(left, right)`` 8-bit amp settings."""
        for name, value in settings.items():
            left, right = value if isinstance(value, tuple) else (value, value)
            for word in amp_verbs(name, left, right):
                await self.hda.command(word)

    async def render(self, frames, count):
        """Play ``frames`` (24-bit stereo) cyclically on SD1 -> DAC A until ``count`` frames
        reached the DAC, stop, and return what the DAC put out (frame i plays frames[i % n])."""
        if self._render is None:
            self._render = self.alloc.alloc_contiguous(len(frames) * FRAME_BYTES, align=128)
            self._render_bytes = len(frames) * FRAME_BYTES
        data = pack24(frames)
        assert len(data) == self._render_bytes, "every segment uses the same buffer size"
        self.mem.write(self._render, data)
        buf = self.hda.build_buffer([(self._render, len(data), False)])
        await self.hda.route_dac(0x02, 1, FMT24)
        await self.hda.setup_stream(1, buf, FMT24, tag=1, ioce=False)
        start = len(self.speaker.frames)
        await self.hda.start(1)
        while len(self.speaker.frames) < start + count:
            await self.frames(16)
        await self.hda.stop(1)
        await self.frames(2)            # the last frame on the link leaves the gain pipeline
        out = self.speaker.frames[start:]
        assert len(out) >= count
        return out


def sine(amplitude, period, n):
    return [round(amplitude * math.sin(2 * math.pi * i / period)) for i in range(n)]


@cocotb.test()
async def gain_steps_render(dut):
    """A known signal through SD1 at gain steps across the whole range, on the DAC amp, the
    mixer input amp or the headphone amp in turn: the DAC output equals the model bit for bit
    (0 dB: the input itself), right-channel extremes saturate, and the RMS gain of the
    left-channel sine is the nominal dB within the documented tolerance (plus what rounding
    the output to integers can move it: at most 0.5 LSB RMS)."""
    tb = TB(dut)
    await tb.start()
    n = 96                                          # two periods of a 48-frame (1 kHz) sine
    steps = list(range(128)) if not SHORT else [0x00, 0x13, 0x3A, 0x5E, 0x5F, 0x60, 0x71, 0x7F]
    amps = ("dac_a", "mix_a", "hp")
    rng = tb.rng
    for j, index in enumerate(steps):
        name = amps[j % len(amps)]
        db = gain_db(index)
        left = sine(0.9 * SAMPLE_MAX / max(1.0, 10 ** (db / 20)), 48, n)
        right = [SAMPLE_MAX, SAMPLE_MIN, 1, -1] + [rng.randrange(SAMPLE_MIN, SAMPLE_MAX + 1)
                                                   >> rng.randrange(0, 20) for _ in range(n - 4)]
        frames = list(zip(left, right))
        await tb.set_amps(**{name: index})
        out = await tb.render(frames, size(n + 8, n))
        settings = {**UNITY, name: index}
        for i, got in enumerate(out):
            a = frames[i % n]
            want = tuple(dac_path(settings, s, 0)[0] for s in a)
            assert got == want, f"step {index:#x} on {name}, frame {i}: {got} != {want}"
            if index == AMP_0DB:
                assert got == a
        played = [f[0] for f in out[:n]]
        measured = 20 * math.log10(rms(played) / rms(left))
        slack = 20 * math.log10(1 + 0.5 / (rms(played) - 0.5))
        assert abs(measured - db) <= GAIN_TOLERANCE_DB + slack, \
            f"step {index:#x}: RMS gain {measured:.4f} dB, nominal {db} dB"
        await tb.set_amps(**{name: AMP_0DB})


@cocotb.test()
async def mute_gives_exact_zeros(dut):
    """0 dB everywhere plays full-range 24-bit audio bit for bit; a muted channel of the DAC
    amp, the mixer input amp or the headphone amp gives exact zeros while the other channel
    plays on."""
    tb = TB(dut)
    await tb.start()
    n = size(128, 48)
    frames = [(tb.rng.randrange(SAMPLE_MIN, SAMPLE_MAX + 1),
               tb.rng.randrange(SAMPLE_MIN, SAMPLE_MAX + 1)) for _ in range(n - 2)]
    frames += [(SAMPLE_MAX, SAMPLE_MIN), (SAMPLE_MIN, SAMPLE_MAX)]
    out = await tb.render(frames, n)
    assert all(f == frames[i % n] for i, f in enumerate(out)), "0 dB is not bit-exact"
    for name, mute in (("dac_a", (True, False)), ("mix_a", (False, True)),
                       ("hp", (True, True))):
        # muted at +24 dB: the gain index must not leak through the mute
        await tb.set_amps(**{name: tuple(amp_setting(0x7F, m) if m else AMP_0DB
                                         for m in mute)})
        out = await tb.render(frames, size(n, n // 2))
        for i, f in enumerate(out):
            want = tuple(0 if m else s for m, s in zip(mute, frames[i % n]))
            assert f == want, f"{name} muted {mute}, frame {i}: {f} != {want}"
        await tb.set_amps(**{name: AMP_0DB})


@cocotb.test()
async def adc_mux_selects_input_amp(dut):
    """The one adc_l/adc_r pin pair feeds both ADC inputs: with different amp settings on the
    mic and line inputs, the connection selected by verb 701 decides which applies, bit for bit
    (24-bit stereo capture)."""
    tb = TB(dut)
    await tb.start()
    settings = {"mic": (AMP_0DB - 12, AMP_0DB - 5), "line": (AMP_0DB + 8, amp_setting(0x40, True))}
    await tb.set_amps(**settings)
    frames = size(256, 64)
    rng = tb.rng
    tb.mic.feed((rng.randrange(SAMPLE_MIN, SAMPLE_MAX + 1),
                 rng.randrange(SAMPLE_MIN, SAMPLE_MAX + 1)) for _ in range(100000))
    seg = tb.alloc.alloc_contiguous(frames * FRAME_BYTES, align=128)
    await tb.hda.enable_interrupts(0)
    for sel, name in ((1, "line"), (0, "mic"), (1, "line")):
        await tb.verb(NID_ADC, 0x701, sel)
        assert await tb.verb(NID_ADC, 0xF01) == sel
        tb.mem.write(seg, b"\xAA" * (frames * FRAME_BYTES))
        buf = tb.hda.build_buffer([(seg, frames * FRAME_BYTES, True)])
        await tb.hda.setup_stream(0, buf, FMT24, tag=2)
        await tb.hda.start(0)
        await tb.verb(NID_ADC, 0x2, FMT24)
        first = len(tb.mic.sampled)
        await tb.verb(NID_ADC, 0x706, 2 << 4)         # the ADC samples from now on
        await tb.irq.wait(timeout_ns=(frames + 50) * FRAME_NS)
        await tb.hda.clear_status(0, BCIS=1)
        await tb.hda.stop(0)
        await tb.verb(NID_ADC, 0x706, 0)
        await tb.frames(4)                           # the last sample in flight lands nowhere
        captured = unpack24(tb.mem.read(seg, frames * FRAME_BYTES))
        left, right = settings[name]
        for i, got in enumerate(captured):
            l, r = tb.mic.sampled[first + i]
            want = (apply_gain(l, left), apply_gain(r, right))
            assert got == want, f"{name} selected, frame {i}: {got} != {want}"
    assert await tb.regs.read("SD0XRUN") == 0


@cocotb.test()
async def peak_meter_after_playback(dut):
    """F80 after playing a known signal reads the peak of the mixer sum (after the DAC and
    mixer input amps, before the headphone amp) since the previous F80; a second F80 reads 0."""
    tb = TB(dut)
    await tb.start()
    settings = {**UNITY, "dac_a": AMP_0DB - 4, "mix_a": AMP_0DB + 2, "hp": AMP_0DB - 30}
    await tb.set_amps(**{k: v for k, v in settings.items() if v != AMP_0DB})
    n = 48
    frames = list(zip(sine(0.6 * SAMPLE_MAX, 48, n), sine(-0.25 * SAMPLE_MAX, 24, n)))
    assert await tb.verb(NID_MIXER, 0xF80) == 0
    out = await tb.render(frames, size(n + 16, n))
    sums = ([], [])
    for i, got in enumerate(out):
        mixed = [dac_path(settings, s, 0) for s in frames[i % n]]
        assert got == tuple(o for o, _ in mixed), f"frame {i}"
        for side in (0, 1):
            sums[side].append(mixed[side][1])
    peak = await tb.verb(NID_MIXER, 0xF80)
    assert peak == peak_reading(*sums), f"F80 {peak:#010x}"
    assert peak != peak_reading([o for o, _ in out], [r for _, r in out])    # not post-HP
    assert await tb.verb(NID_MIXER, 0xF80) == 0


@cocotb.test()
async def jack_sense_unsolicited_interrupt(dut):
    """Jack changes with the headphone pin's unsolicited enable set queue tag/presence
    responses: CIS raises the irq line (CIE, GIE), UNSOL pops them oldest first, then reads 0
    and CIS clears. Without CIE the line stays low; with the enable clear nothing is queued;
    controller reset empties the queue."""
    tb = TB(dut)
    await tb.start()
    regs, intctl = tb.regs, REGMAP["INTCTL"]
    tag = 0x2A
    dut.jack_sense.value = 0
    assert await tb.verb(NID_HP, 0xF09) == 0
    await tb.verb(NID_HP, 0x708, 0x80 | tag)
    assert await tb.verb(NID_HP, 0xF08) == 0x80 | tag
    await regs.write("INTCTL", intctl.encode(CIE=1, GIE=1))
    timeout = 20 * FRAME_NS
    for level in (1, 0):
        dut.jack_sense.value = level
        await tb.irq.wait(timeout_ns=timeout)
        sts = await regs.read_fields("INTSTS")
        assert sts["CIS"] == 1 and sts["GIS"] == 1
        assert await regs.read("UNSOL") == tag << 26 | level
        assert await regs.read("UNSOL") == 0
        sts = await regs.read_fields("INTSTS")
        assert sts["CIS"] == 0 and sts["GIS"] == 0
        assert not tb.irq.is_asserted()
        assert await tb.verb(NID_HP, 0xF09) == level << 31
    # two changes queue two responses: CIS stays set until the last one is read
    dut.jack_sense.value = 1
    await ClockCycles(dut.clk, 10)
    dut.jack_sense.value = 0
    await tb.irq.wait(timeout_ns=timeout)
    await ClockCycles(dut.clk, 10)
    assert await regs.read("UNSOL") == tag << 26 | 1
    assert await regs.read_field("INTSTS", "CIS") == 1 and tb.irq.is_asserted()
    assert await regs.read("UNSOL") == tag << 26 | 0
    assert await regs.read_field("INTSTS", "CIS") == 0 and not tb.irq.is_asserted()
    # CIE clear: CIS shows the response, GIS and the line do not
    await regs.write("INTCTL", intctl.encode(GIE=1))
    dut.jack_sense.value = 1
    await tb.frames(2)
    sts = await regs.read_fields("INTSTS")
    assert (sts["CIS"], sts["GIS"]) == (1, 0) and not tb.irq.is_asserted()
    assert await regs.read("UNSOL") == tag << 26 | 1
    # unsolicited enable clear: jack changes queue nothing
    await tb.verb(NID_HP, 0x708, tag)
    dut.jack_sense.value = 0
    await tb.frames(2)
    assert await regs.read_field("INTSTS", "CIS") == 0 and await regs.read("UNSOL") == 0
    assert await tb.verb(NID_HP, 0xF09) == 0
    # a queued response does not survive a controller reset (CRST)
    await tb.verb(NID_HP, 0x708, 0x80 | tag)
    dut.jack_sense.value = 1
    await tb.frames(2)
    assert await regs.read_field("INTSTS", "CIS") == 1
    await tb.hda.reset()
    assert await regs.read_field("INTSTS", "CIS") == 0 and await regs.read("UNSOL") == 0
    assert await tb.verb(NID_HP, 0xF08) == 0         # the codec was reset too


@cocotb.test()
async def graph_walk_through_controller(dut):
    """A driver's walk of the codec through the immediate command interface (F00/F02/F1C only)
    finds the topology rtl/codec.py builds."""
    tb = TB(dut)
    await tb.start()
    vendor, afg, widgets = await walk_codec(tb.hda.command)
    assert (vendor, afg) == (VENDOR_ID, 0x01)
    assert widgets == EXPECTED
