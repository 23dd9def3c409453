"""Benchmark: stream N seconds of 48 kHz stereo 16-bit audio through SD1 on each simulator with
the register-level driver code, and report simulation speed.

    python -m bench.stream_bench [--sim verilator icarus] [--seconds 1] [--no-pgo]

Prints, per simulator: simulated cycles per wall second and audio seconds per wall second
(wall time of the streaming itself, excluding the cached build), and whether the DAC output was
bit-exact. Verilator runs a profile-guided build (``cosim.build.build(..., pgo=True)``, built once
and cached; about twice the build time of the plain one) unless ``--no-pgo``. Measured, never
asserted."""

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from cosim.jobs import run_job


def main(argv=None):
    p = argparse.ArgumentParser(prog="stream_bench", description=__doc__.splitlines()[0])
    p.add_argument("--sim", nargs="+", choices=("verilator", "icarus"),
                   default=["verilator", "icarus"])
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--no-pgo", dest="pgo", action="store_false",
                   help="Verilator: the plain build (as the tests use), not the profile-guided one")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    rng = random.Random(2026)
    frames = int(48000 * args.seconds)
    pcm = rng.randbytes(frames * 4)
    results = {}
    with tempfile.TemporaryDirectory(prefix="pcsim-bench-") as tmp:
        pcm_file = Path(tmp) / "noise.pcm"
        pcm_file.write_bytes(pcm)
        for sim in args.sim:
            t0 = time.perf_counter()
            report = run_job(sim, pcm_file, 2, 16, Path(tmp) / sim, pgo=args.pgo)
            report["pgo"] = args.pgo and sim == "verilator"
            total = time.perf_counter() - t0
            report.pop("dac_out")
            report["process_wall_s"] = total
            report["cycles_per_wall_s"] = report["cycles"] / report["wall_s"]
            report["audio_s_per_wall_s"] = args.seconds / report["wall_s"]
            results[sim] = report
            print(f"{sim:9s} {args.seconds:.2f} s audio: {report['cycles']} cycles in "
                  f"{report['wall_s']:.2f} s -> {report['cycles_per_wall_s'] / 1e6:.2f} M "
                  f"cycles/s, {report['audio_s_per_wall_s']:.3f} audio s per wall s "
                  f"(process {total:.1f} s, {'PGO ' if report['pgo'] else ''}build "
                  f"{report['build_s']:.1f} s), "
                  f"bit_exact={report['bit_exact']}, interrupts={report['interrupts']}",
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["bit_exact"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
