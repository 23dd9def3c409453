"""Benchmark: stream N seconds of 48 kHz stereo 16-bit noise on each simulator and report
simulation speed.

    python -m bench.stream_bench [--sim verilator icarus] [--seconds 1] [--path register|stack]
                                 [--miniport wavert|wavecyclic] [--no-pgo]

``--path register`` (default) plays it through SD1 with the register-level driver code;
``--path stack`` runs ``pcsim play`` through the whole driver stack (client, WaveRT port and
miniport, registers, DMA, codec). Prints, per simulator: simulated cycles per wall second and
audio seconds per wall second (wall time of the streaming itself, excluding simulator start-up
and the cached build), and whether the DAC output was bit-exact. Verilator runs a
profile-guided build (``cosim.build.build(..., pgo=True)``, built once and cached; about twice
the build time of the plain one) unless ``--no-pgo``. Measured, never asserted."""

import argparse
import json
import random
import sys
import tempfile
import wave
from pathlib import Path

from cosim.jobs import run_job
from cosim.player import MINIPORTS, play


def _register_path(sim, pcm, tmp, pgo, miniport):
    pcm_file = Path(tmp) / "noise.pcm"
    pcm_file.write_bytes(pcm)
    report = run_job(sim, pcm_file, 2, 16, Path(tmp) / sim, pgo=pgo)
    report.pop("dac_out")
    return report


def _stack_path(sim, pcm, tmp, pgo, miniport):
    src = Path(tmp) / "noise.wav"
    with wave.open(str(src), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(pcm)
    return play(src, Path(tmp) / f"out-{sim}.wav", sim=sim, quiet=True, pgo=pgo,
                miniport=miniport)


def main(argv=None):
    p = argparse.ArgumentParser(prog="stream_bench", description=__doc__.splitlines()[0])
    p.add_argument("--sim", nargs="+", choices=("verilator", "icarus"),
                   default=["verilator", "icarus"])
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--path", choices=("register", "stack"), default="register")
    p.add_argument("--miniport", choices=MINIPORTS, default="wavert",
                   help="the wave miniport of the stack path")
    p.add_argument("--no-pgo", dest="pgo", action="store_false",
                   help="Verilator: the plain build (as the tests use), not the profile-guided one")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    frames = int(48000 * args.seconds)
    pcm = random.Random(2026).randbytes(frames * 4)
    stream = _stack_path if args.path == "stack" else _register_path
    results = {}
    with tempfile.TemporaryDirectory(prefix="pcsim-bench-") as tmp:
        for sim in args.sim:
            report = stream(sim, pcm, tmp, args.pgo, args.miniport)
            report["pgo"] = args.pgo and sim == "verilator"
            report["cycles_per_wall_s"] = report["cycles"] / report["wall_s"]
            report["audio_s_per_wall_s"] = args.seconds / report["wall_s"]
            results[sim] = report
            path = f"{args.path} path" + (f" ({args.miniport})" if args.path == "stack" else "")
            print(f"{sim:9s} {path}{' (PGO build)' if report['pgo'] else ''}, "
                  f"{args.seconds:.2f} s audio: {report['cycles']} "
                  f"cycles in {report['wall_s']:.2f} s -> "
                  f"{report['cycles_per_wall_s'] / 1e6:.2f} M cycles/s, "
                  f"{report['audio_s_per_wall_s']:.3f} audio s per wall s, "
                  f"bit_exact={report['bit_exact']}, underruns={report['underruns']}, "
                  f"interrupts={report['interrupts']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["bit_exact"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
