"""Host side of a simulation job: write the job, build (cached), run its cocotb entry point
in :mod:`cosim.jobs` (named, not imported: it runs inside the simulator), follow its progress
and read back its typed result (:mod:`harness.job`)."""

from __future__ import annotations

import threading
from pathlib import Path

from .build import JOB_MODULE, build, run, soc_design
from .job import (DEFAULT_CLK_HZ, JOB_ENV, MidiJob, MidiResult, MixerJob, MixerResult, PlayJob, PlayResult,
                  RecordJob, RecordResult, RenderJob, ScenarioJob, ScenarioResult,
                  StreamResult, read_result)

__all__ = ["run_sim_job"]

RESULT_TYPES = {RenderJob: StreamResult, PlayJob: PlayResult, RecordJob: RecordResult,
                MixerJob: MixerResult, MidiJob: MidiResult, ScenarioJob: ScenarioResult}
#: how often the host looks at the job's progress file (s)
PROGRESS_POLL_S = 0.5


def _watch_progress(path, on_progress, done):
    last = None
    while not done.wait(PROGRESS_POLL_S):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        if text != last:
            last = text
            on_progress(*map(int, text.split()))


def run_sim_job(job, sim, workdir, *, clk_hz=None, waves=None, on_progress=None, pgo=False,
                build_result=None, timeline=None, waves_selection=None):
    """Run ``job`` on ``sim`` and return its result dataclass. ``waves`` is a .fst/.vcd path
    or None; ``on_progress(done, total)`` is called from this process while the simulation
    runs; ``pgo`` picks the profile-guided Verilator build. Simulator output goes to
    ``workdir/sim.log``. ``build_result`` runs on a given build instead (PGO training).
    ``timeline`` is a path for the drivers' timeline (None: none); ``waves_selection`` a
    :class:`harness.waves.WaveSelection` narrowing the waves."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    job.result = str(workdir / "result.json")
    job.progress = str(workdir / "progress")
    job_file = workdir / "job.json"
    job.write(job_file)
    wave_fmt = Path(waves).suffix.lstrip(".").lower() if waves else None
    if build_result is None:
        clk = clk_hz or getattr(job, "clk_hz", None) or DEFAULT_CLK_HZ
        build_result = build(soc_design(clk_hz=clk), sim, waves=wave_fmt,
                             pgo=pgo and sim == "verilator" and wave_fmt is None,
                             waves_scope=waves_selection.scope if waves_selection else "all")
    done = threading.Event()
    watcher = None
    if on_progress:
        watcher = threading.Thread(target=_watch_progress,
                                   args=(job.progress, on_progress, done), daemon=True)
        watcher.start()
    try:
        run(build_result, JOB_MODULE, testcase=job.kind, test_dir=workdir / "sim",
            extra_env={JOB_ENV: str(job_file)}, waves_file=waves, log_file=workdir / "sim.log",
            timeline=timeline or False, waves_selection=waves_selection,
            waves_on_failure=False)
    finally:
        done.set()
        if watcher:
            watcher.join()
    return read_result(RESULT_TYPES[type(job)], job.result)
