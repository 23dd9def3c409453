"""Cosim tests of the WaveRT path: client -> WaveRT port -> WaveRT miniport -> device.

Run through tests/test_wavert.py on Icarus and Verilator (short audio on Icarus)."""

import random

import cocotb
from cocotb.triggers import Timer

from cosim.render_job import expected_dac_frames
from cosim.soc_env import FRAME_NS
from cosim.system import AudioSystem
from miniports.adapter import WAVE_FILTER
from miniports.wavert import PIN_CAPTURE, PIN_RENDER
from portdrv.formats import WaveFormat
from portdrv.ksstate import KSSTATE

SHORT = cocotb.SIM_NAME.lower().startswith("icarus") if cocotb.SIM_NAME else False


def size(verilator_value, icarus_value):
    return icarus_value if SHORT else verilator_value


class TB(AudioSystem):
    """The machine with the driver stack, plus test helpers."""

    def __init__(self, dut, seed=1):
        super().__init__(dut, seed=seed)
        self.rng = random.Random(seed)

    def audio(self, frames, fmt):
        return self.rng.randbytes(frames * fmt.block_align)

    async def open_render(self, fmt, **options):
        return await self.client.open(WAVE_FILTER, PIN_RENDER, fmt, **options)


@cocotb.test()
async def render_bit_exact(dut):
    """16-bit stereo through the WaveRT pin: the DAC gets every frame, in order, bit for bit."""
    tb = TB(dut)
    await tb.start()
    fmt = WaveFormat.pcm(2, 48000, 16)
    pcm = tb.audio(size(3000, 600), fmt)
    stream = await tb.open_render(fmt, buffer_bytes=size(1920, 960))
    stream.write(pcm)
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()
    frames = tb.speaker.frames
    want = expected_dac_frames(pcm, 2, 16)
    assert frames[:len(want)] == want
    assert all(f == (0, 0) for f in frames[len(want):])
    assert stream.pin.glitches == 0
    assert stream.pin.notifications_seen > 0
