"""What the driver trace and the waves cost: wall time with the trace off and on (side by
side, same build, same clip), and waveform size per simulated second for the whole design,
a time window and the ``top`` scope.

    python -m bench.trace_bench [--sim verilator] [--seconds 0.3] [--waves-seconds 0.05]
                                [--repeat 2]

The trace cost is measured on plays of ``--seconds`` of audio without waves (the timeline is
what the test suite keeps on); the waves on ``--waves-seconds``, with a 5 ms window in the
middle.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from harness.build import build, simulated_seconds, soc_design
from harness.frames import noise_pcm
from harness.job import PlayJob
from harness.runner import run_sim_job
from harness.waves import WaveSelection

__all__ = ["main"]


def _play(sim, folder, seconds, **options):
    folder.mkdir(parents=True)
    pcm = folder / "in.pcm"
    pcm.write_bytes(noise_pcm(2, 16, seconds, 5))
    job = PlayJob(pcm=str(pcm), output=str(folder / "dac.raw"))
    t0 = time.perf_counter()
    result = run_sim_job(job, sim, folder / "job", **options)
    wall = time.perf_counter() - t0
    assert result.bit_exact, result
    return wall, result.wall_s, simulated_seconds(folder / "job" / "sim" / "results.xml")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--waves-seconds", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    build(soc_design(), args.sim)
    build(soc_design(), args.sim, waves="fst")
    root = Path(tempfile.mkdtemp(prefix="pcsim-trace-bench-"))
    out = {"sim": args.sim, "audio_s": args.seconds, "waves_audio_s": args.waves_seconds}
    walls = {"off": [], "on": []}
    plays = {"off": [], "on": []}
    for i in range(args.repeat):          # interleaved, so both see the same machine load
        for mode in ("off", "on"):
            timeline = root / f"t{i}-{mode}.txt" if mode == "on" else None
            wall, play, _ = _play(args.sim, root / f"{mode}{i}", args.seconds,
                                  timeline=timeline)
            walls[mode].append(wall)
            plays[mode].append(play)
    # whole runs (start-up included), and the play itself as the simulator timed it
    for mode in ("off", "on"):
        out[f"wall_s_trace_{mode}"] = min(walls[mode])
        out[f"play_wall_s_trace_{mode}"] = min(plays[mode])
    out["trace_cost_ratio"] = out["wall_s_trace_on"] / out["wall_s_trace_off"]
    out["play_trace_cost_ratio"] = out["play_wall_s_trace_on"] / out["play_wall_s_trace_off"]
    out["timeline_lines"] = len((root / "t0-on.txt").read_text().splitlines())
    window_from = args.waves_seconds / 2
    for name, selection in (("all", None),
                            ("window_5ms", WaveSelection(window_from, window_from + 0.005)),
                            ("top", WaveSelection(scope="top")),
                            ("top_window_5ms", WaveSelection(window_from, window_from + 0.005,
                                                             "top"))):
        waves = root / f"{name}.fst"
        wall, _, simulated = _play(args.sim, root / f"w-{name}", args.waves_seconds,
                                   waves=waves, waves_selection=selection,
                                   timeline=root / f"{name}.txt")
        covered = (selection or WaveSelection()).covered_s(simulated, args.sim)
        size = waves.stat().st_size
        out[f"waves_{name}"] = {"bytes": size, "simulated_s": covered,
                                "mb_per_simulated_s": size / covered / 1e6, "wall_s": wall}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
