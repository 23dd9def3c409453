"""cocotb entry points of whole-simulation jobs, one per job kind of :mod:`harness.job`. Each
reads its typed job (the file ``$PCSIM_JOB`` names), runs it on the simulated machine and
writes the typed result; the host side is :func:`harness.runner.run_sim_job`."""

from pathlib import Path

import cocotb
from cocotb.triggers import SimTimeoutError, with_timeout

from harness.frames import expected_dac_frames, pack_frames, tone_frames, unpack_frames
from harness.job import MixerResult, ScenarioResult, read_job, report_progress
from portdrv.client import MixerClient

from .midi_play import play_midi_messages
from .render_job import render_pcm
from .scenario import run_scenario
from .soc_env import SocEnv
from .stack_audio import play_through_stack, record_through_stack
from .system import AudioSystem

__all__ = ["render_job", "play_job", "record_job", "mixer_job", "midi_job"]


def _progress(job):
    return lambda done, total: report_progress(job, done, total)


@cocotb.test()
async def render_job(dut):
    """Play the job's PCM file through SD1 and record what reached the DAC."""
    job = read_job()
    pcm = Path(job.pcm).read_bytes()
    env = SocEnv(dut)
    await env.start()
    frames, result = await render_pcm(env, pcm, channels=job.channels, bits=job.bits,
                                      progress=_progress(job))
    expected = expected_dac_frames(pcm, job.channels, job.bits)
    result.bit_exact = frames == expected
    result.mismatched_frames = (sum(1 for a, b in zip(frames, expected) if a != b)
                                + abs(len(frames) - len(expected)))
    result.cycles = int(result.sim_time_ns * job.clk_hz / 1e9)
    Path(job.dac_out).write_bytes(pack_frames(frames))
    result.write(job.result)


@cocotb.test()
async def play_job(dut):
    """Play the job's PCM through client -> wave port/miniport -> device -> DAC."""
    job = read_job()
    pcm = Path(job.pcm).read_bytes()
    system = AudioSystem(dut, wave_miniport=job.miniport)
    await system.start()
    frames, result = await play_through_stack(system, pcm, job.channels, job.bits, job.rate,
                                              progress=_progress(job),
                                              volume_db=job.volume_db, mute=job.mute,
                                              packet_mode=job.packet_mode)
    Path(job.output).write_bytes(pack_frames(frames))
    result.write(job.result)


@cocotb.test()
async def record_job(dut):
    """Record from the microphone through the wave capture pin."""
    job = read_job()
    system = AudioSystem(dut, wave_miniport=job.miniport)
    await system.start()
    if job.source:
        source = unpack_frames(Path(job.source).read_bytes())
    else:
        source = tone_frames(job.tone_hz, job.rate, job.frames + job.rate)
    pcm, result = await record_through_stack(system, source, job.frames, job.channels,
                                             job.bits, job.rate, progress=_progress(job),
                                             packet_mode=job.packet_mode)
    Path(job.output).write_bytes(pcm)
    result.write(job.result)


@cocotb.test()
async def mixer_job(dut):
    """Start the driver stack and take a snapshot of the topology filter (``pcsim mixer``)."""
    job = read_job()
    system = AudioSystem(dut)
    await system.start()
    MixerResult(snapshot=await MixerClient(system.topology).snapshot()).write(job.result)


@cocotb.test()
async def midi_job(dut):
    """Play the job's MIDI messages through the MIDI or DMus port (``pcsim midi play``); not
    named *play_job: cocotb selects tests by regular expression."""
    job = read_job()
    system = AudioSystem(dut, midi_miniport="dmus" if job.dmus else "midi")
    await system.start()
    result = await play_midi_messages(system, job, progress=_progress(job))
    result.write(job.result)



@cocotb.test()
async def scenario_job(dut):
    """One randomized fault scenario (``pcsim campaign``). Not finishing within the
    scenario's simulated-time bound is a hang, reported as such."""
    job = read_job()
    system = AudioSystem(dut, wave_miniport=job.spec["miniport"],
                         seed=job.spec["memory_seed"])
    await system.start()
    try:
        result = await with_timeout(run_scenario(system, job.spec), job.spec["bound_us"], "us")
    except SimTimeoutError:
        result = ScenarioResult(violations=[f"hang: not finished after "
                                            f"{job.spec['bound_us']} us of simulated time"])
    result.write(job.result)
