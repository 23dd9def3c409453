"""cocotb entry points for whole-simulation jobs (demo, benchmark). A job reads its
parameters from the JSON file named by ``PCSIM_JOB`` and writes its result JSON next to it.

Run through :func:`cosim.jobs.run_job` from the host process."""

import json
import os
from pathlib import Path

import cocotb

__all__ = ["run_job", "write_job"]


@cocotb.test()
async def render_job(dut):
    """Play the job's PCM file through SD1 and record what reached the DAC."""
    from .render_job import render_pcm, expected_dac_frames
    from .soc_env import SocEnv
    job_file = Path(os.environ["PCSIM_JOB"])
    job = json.loads(job_file.read_text())
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
    Path(job["dac_out"]).write_bytes(b"".join(
        (l & 0xFFFFFF).to_bytes(3, "little") + (r & 0xFFFFFF).to_bytes(3, "little")
        for l, r in frames))
    Path(job["result"]).write_text(json.dumps(report, indent=2))


def write_job(workdir, pcm_path, channels, bits, clk_hz=12_288_000):
    """Write the ``job.json`` of a :func:`render_job` run into ``workdir``; return its path
    (for ``PCSIM_JOB``). The results go to ``result.json`` and ``dac.raw`` beside it."""
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
    from .build import build, run, soc_design
    job_file = write_job(workdir, pcm_path, channels, bits, clk_hz)
    job = json.loads(job_file.read_text())
    result = build(soc_design(clk_hz=clk_hz), sim, pgo=pgo)
    run(result, "cosim.jobs", testcase="render_job", test_dir=Path(workdir) / "sim",
        extra_env={"PCSIM_JOB": str(job_file)})
    report = json.loads(Path(job["result"]).read_text())
    report["build_s"] = result.seconds
    report["dac_out"] = job["dac_out"]
    return report
