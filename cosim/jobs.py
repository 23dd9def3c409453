"""cocotb entry points for whole-simulation jobs. A job reads its parameters from the JSON
file named by ``PCSIM_JOB`` and writes its result JSON next to it.

- ``render_job``: register-level streaming through SD1 (benchmark); host side :func:`run_job`.
- ``play_job`` / ``record_job``: through the whole driver stack (``pcsim play/record``);
  host side :func:`run_sim_job`."""

import json
import os
from pathlib import Path

import cocotb

from .wavio import pack_frames, unpack_frames

__all__ = ["run_job", "run_sim_job", "write_job"]


def _job():
    """This run's job parameters (the JSON file named by PCSIM_JOB)."""
    return json.loads(Path(os.environ["PCSIM_JOB"]).read_text())


@cocotb.test()
async def render_job(dut):
    """Play the job's PCM file through SD1 and record what reached the DAC."""
    from .render_job import render_pcm, expected_dac_frames
    from .soc_env import SocEnv
    job = _job()
    pcm = Path(job["pcm"]).read_bytes()
    env = SocEnv(dut)
    await env.start()
    report = await render_pcm(env, pcm, channels=job["channels"], bits=job["bits"])
    frames = report.pop("frames")
    expected = expected_dac_frames(pcm, job["channels"], job["bits"])
    report["bit_exact"] = frames == expected
    report["mismatched_frames"] = sum(1 for a, b in zip(frames, expected) if a != b) + \
        abs(len(frames) - len(expected))
    report["cycles"] = int(report["sim_time_ns"] * job["clk_hz"] / 1e9)
    Path(job["dac_out"]).write_bytes(pack_frames(frames))
    Path(job["result"]).write_text(json.dumps(report, indent=2))


def write_job(workdir, pcm_path, channels, bits, clk_hz=12_288_000):
    """Write the ``job.json`` of a :func:`render_job` run into ``workdir``; return its path
    (for ``PCSIM_JOB``). The results go to ``result.json`` and ``dac.raw`` beside it. (The
    profile-guided Verilator build trains on such a job.)"""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    job = {"pcm": str(Path(pcm_path).resolve()), "channels": channels, "bits": bits,
           "clk_hz": clk_hz, "dac_out": str(workdir / "dac.raw"),
           "result": str(workdir / "result.json")}
    job_file = workdir / "job.json"
    job_file.write_text(json.dumps(job))
    return job_file


def run_job(sim, pcm_path, channels, bits, workdir, clk_hz=12_288_000, pgo=False):
    """Build (cached) and run ``render_job`` on ``sim``; return its result dict (with
    ``dac_out``, the DAC frames as packed 24-bit little-endian stereo). ``pgo=True`` asks for
    a profile-guided Verilator build (see :func:`cosim.build.build`): slower to build, faster
    to run, for long jobs."""
    job = json.loads(write_job(workdir, pcm_path, channels, bits, clk_hz).read_text())
    report = run_sim_job("render_job", job, sim, workdir, clk_hz=clk_hz, pgo=pgo)
    report["dac_out"] = job["dac_out"]
    return report


def _progress_writer(path):
    """A progress callback that keeps ``done total`` in the file at ``path``."""
    if not path:
        return None
    path = Path(path)

    def progress(done, total):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{done} {total}")
        os.replace(tmp, path)
    return progress


@cocotb.test()
async def play_job(dut):
    """Play the job's PCM through client -> WaveRT port/miniport -> device -> DAC."""
    from .stack_audio import play_through_stack
    from .system import AudioSystem
    job = _job()
    pcm = Path(job["pcm"]).read_bytes()
    system = AudioSystem(dut, wave_miniport=job.get("miniport", "wavert"))
    await system.start()
    report = await play_through_stack(system, pcm, job["channels"], job["bits"], job["rate"],
                                      progress=_progress_writer(job.get("progress")),
                                      volume_db=job.get("volume_db"),
                                      mute=job.get("mute", False),
                                      packet_mode=job.get("packet_mode", False))
    frames = report.pop("frames")
    Path(job["output"]).write_bytes(pack_frames(frames))
    Path(job["result"]).write_text(json.dumps(report, indent=2))


@cocotb.test()
async def record_job(dut):
    """Record from the microphone through the WaveRT capture pin."""
    from .stack_audio import record_through_stack, tone_frames
    from .system import AudioSystem
    job = _job()
    system = AudioSystem(dut, wave_miniport=job.get("miniport", "wavert"))
    await system.start()
    if job.get("source"):
        source = unpack_frames(Path(job["source"]).read_bytes())
    else:
        source = tone_frames(job["tone_hz"], job["rate"], job["frames"] + job["rate"])
    report = await record_through_stack(system, source, job["frames"], job["channels"],
                                        job["bits"], job["rate"],
                                        progress=_progress_writer(job.get("progress")),
                                        packet_mode=job.get("packet_mode", False))
    Path(job["output"]).write_bytes(report.pop("pcm"))
    Path(job["result"]).write_text(json.dumps(report, indent=2))


@cocotb.test()
async def mixer_job(dut):
    """Start the driver stack and take a snapshot of the topology filter (``pcsim mixer``)."""
    from portdrv.client import MixerClient
    from .system import AudioSystem
    job = _job()
    system = AudioSystem(dut)
    await system.start()
    snapshot = await MixerClient(system.topology).snapshot()
    Path(job["result"]).write_text(json.dumps(snapshot, indent=2))


@cocotb.test()
async def midi_job(dut):
    """Play the job's MIDI messages through the MIDI or DMus port (``pcsim midi play``); not named *play_job: cocotb selects tests by regular expression."""
    import time
    from cocotb.simtime import get_sim_time
    from cocotb.triggers import Timer
    from miniports.adapter import MIDI_FILTER
    from miniports.midi import MIDI_PIN_RENDER
    from portdrv.dmus import DMusClient
    from portdrv.ksstate import KSSTATE
    from portdrv.midi import MidiClient
    from .midi_player import timing_report
    from .system import AudioSystem
    job = _job()
    wall0 = time.perf_counter()
    sent = [(t, bytes.fromhex(h)) for t, h in job["messages"]]
    system = AudioSystem(dut, midi_miniport="dmus" if job["dmus"] else "midi")
    await system.start()
    device = system.midi_device
    client = (DMusClient if job["dmus"] else MidiClient)(system.registry)
    stream = await client.open(MIDI_FILTER, MIDI_PIN_RENDER)
    await stream.set_state(KSSTATE.RUN)
    start_ns = get_sim_time("ns") + job["lead_us"] * 1000
    progress = _progress_writer(job.get("progress"))
    if job["dmus"]:
        for time_us, data in sent:
            stream.send(start_ns // 100 + time_us * 10, data)
    else:
        async def application():
            for time_us, data in sent:
                wait_ns = start_ns + time_us * 1000 - get_sim_time("ns")
                if wait_ns > 0:
                    await Timer(int(wait_ns), "ns")
                await stream.submit(data)
        cocotb.start_soon(application())
    end_ns = start_ns + sent[-1][0] * 1000
    deadline = end_ns + 1_000_000_000            # a second for the last bytes to go out
    while len(device.messages) < len(sent) and get_sim_time("ns") < deadline:
        await Timer(10_000_000, "ns")
        if progress:
            progress(len(device.messages), len(sent))
    await stream.close()
    report = timing_report(sent, device.messages, start_ns, device.framing_errors,
                           len(device.received))
    sim_ns = get_sim_time("ns")
    report.update(sim_time_ns=int(sim_ns), wall_s=time.perf_counter() - wall0,
                  interrupts=system.adapter.interrupt_sync.interrupts)
    Path(job["result"]).write_text(json.dumps(report, indent=2))


def run_sim_job(testcase, job, sim, workdir, *, clk_hz=12_288_000, waves=None,
                  on_progress=None, pgo=False):
    """Run the cocotb job ``testcase`` (``render_job``, ``play_job``, ``record_job``) with parameters
    ``job`` on ``sim`` and return its result dict. ``waves`` is a .fst/.vcd path or None;
    ``on_progress(done, total)`` is called from this process while the simulation runs;
    ``pgo`` picks the profile-guided Verilator build. Simulator output goes to
    ``workdir/sim.log``."""
    import threading

    from .build import build, run, soc_design
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    job = dict(job, result=str(workdir / "result.json"), progress=str(workdir / "progress"))
    job_file = workdir / "job.json"
    job_file.write_text(json.dumps(job))
    wave_fmt = Path(waves).suffix.lstrip(".").lower() if waves else None
    result = build(soc_design(clk_hz=clk_hz), sim, waves=wave_fmt,
                   pgo=pgo and sim == "verilator" and wave_fmt is None)
    log = workdir / "sim.log"
    done = threading.Event()

    def watch():
        last = None
        while not done.wait(0.5):
            try:
                text = Path(job["progress"]).read_text()
            except OSError:
                continue
            if text != last and on_progress:
                last = text
                on_progress(*map(int, text.split()))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run(result, "cosim.jobs", testcase=testcase, test_dir=workdir / "sim",
            extra_env={"PCSIM_JOB": str(job_file)}, waves_file=waves, log_file=log)
    finally:
        done.set()
        watcher.join()
    report = json.loads(Path(job["result"]).read_text())
    report["build_s"] = result.seconds
    return report
