"""Cosim coroutines for the driver trace (tests/test_trace.py).

``short_play`` plays a short clip through WaveRT with a small buffer, so a few interrupts,
DPCs and a position sample by the harness happen within a couple of milliseconds.
``fails_after_start`` fails on purpose once the driver stack is up (what a failing test
leaves behind is checked)."""

import cocotb

from cosim.stack_audio import play_through_stack
from cosim.system import AudioSystem
from harness.frames import noise_pcm

#: the clip and buffer of short_play: 2.5 ms of audio through a 1 ms buffer
CLIP_S, BUFFER_MS = 0.0025, 1


@cocotb.test()
async def short_play(dut):
    """A short clip through the whole stack, bit-exact, with interrupts on the way."""
    system = AudioSystem(dut)
    await system.start()
    pcm = noise_pcm(2, 16, CLIP_S, 7)
    _, result = await play_through_stack(system, pcm, 2, 16, 48000, buffer_ms=BUFFER_MS)
    assert result.bit_exact, result
    assert result.interrupts >= 2, result


@cocotb.test()
async def fails_after_start(dut):
    """Starts the driver stack, then fails."""
    system = AudioSystem(dut)
    await system.start()
    assert False, "failing on purpose"
