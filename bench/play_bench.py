"""Benchmark: ``pcsim play`` of N seconds of 48 kHz stereo 16-bit noise through the whole
driver stack (client, WaveRT port and miniport, registers, DMA, codec) on each simulator.

    python -m bench.play_bench [--sim verilator icarus] [--seconds 1]

Prints simulated cycles per wall second and audio seconds per wall second of the streaming
(the report's ``wall_s``: simulator start-up and the cached build excluded), and whether the
output was bit-exact. Measured, never asserted."""

import argparse
import json
import random
import sys
import tempfile
import wave
from pathlib import Path

from cosim.player import play


def main(argv=None):
    p = argparse.ArgumentParser(prog="play_bench", description=__doc__.splitlines()[0])
    p.add_argument("--sim", nargs="+", choices=("verilator", "icarus"),
                   default=["verilator", "icarus"])
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    frames = int(48000 * args.seconds)
    results = {}
    with tempfile.TemporaryDirectory(prefix="pcsim-play-bench-") as tmp:
        src = Path(tmp) / "noise.wav"
        with wave.open(str(src), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(48000)
            w.writeframes(random.Random(2026).randbytes(frames * 4))
        for sim in args.sim:
            report = play(src, Path(tmp) / f"out-{sim}.wav", sim=sim, quiet=True)
            report["cycles_per_wall_s"] = report["cycles"] / report["wall_s"]
            results[sim] = report
            print(f"{sim:9s} pcsim play {args.seconds:.2f} s audio: {report['cycles']} cycles in "
                  f"{report['wall_s']:.2f} s -> {report['cycles_per_wall_s'] / 1e6:.2f} M "
                  f"cycles/s, {report['audio_s_per_wall_s']:.3f} audio s per wall s, "
                  f"bit_exact={report['bit_exact']}, underruns={report['underruns']}, "
                  f"interrupts={report['interrupts']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["bit_exact"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
