"""Per-block profile of the Verilated design alone: where a clock's evaluation goes.

    python -m bench.profile [--seconds 0.02] [--depth 3] [--top 25] [--ref REV]

Builds the model benchmark (:mod:`bench.model_bench`) with Verilator's ``--prof-cfuncs``, which
cuts the model into one C++ function per always block or assignment, named after the Verilog
file and line it came from; runs it under ``perf record``; and adds the samples up per Verilog
module (the Amaranth hierarchy, e.g. ``audio_soc.controller.sd1.core``), cut to ``--depth``
levels. Functions that do not come from the design (Verilator's scheduler, the timing runtime,
the C library) are reported as one line each group. ``--prof-cfuncs`` keeps every block a
separate call, so the absolute speed is lower than the plain build's; the shares are what
count. With ``--ref``, the design of that git revision is profiled too and each block's cost is
printed for both, in nanoseconds of wall time per simulated clock (its share times the run's
wall time per cycle), so that blocks can be compared across the designs. Needs ``perf``
(Linux). Measured, never asserted."""

import argparse
import bisect
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from harness import build as cb

from .model_bench import build_model, run_model
from .refs import checkout, design_in

#: a function Verilator made from line ``l`` of ``<file>.v`` under --prof-cfuncs
PROF_NAME = re.compile(r"__PROF__(?P<file>\w+?)__l(?P<line>\d+)")
MODULE_LINE = re.compile(r"^module\s+\\?(?P<name>[^\s(]+)")


def module_starts(verilog: str):
    """Sorted ``(line, module name)`` of every ``module`` statement in ``verilog`` (1-based)."""
    starts = []
    for number, text in enumerate(verilog.splitlines(), start=1):
        match = MODULE_LINE.match(text)
        if match:
            starts.append((number, match.group("name")))
    return starts


def perf_samples(perf_data: Path):
    """``{symbol: percent of samples}`` from a ``perf record`` file (self time)."""
    out = subprocess.run(["perf", "report", "-i", str(perf_data), "--stdio", "--sort", "symbol",
                          "--no-children", "-q"], capture_output=True, text=True, check=True)
    samples = Counter()
    for row in out.stdout.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+\[\.\]\s+(\S+)", row)
        if match:
            samples[match.group(2)] += float(match.group(1))
    return samples


def per_block(samples, design, depth):
    """Samples added up per module of ``design`` (cut to ``depth`` levels of hierarchy)."""
    starts = {design.top: module_starts(design.verilog)}
    lines = {f: [s[0] for s in st] for f, st in starts.items()}
    blocks = Counter()
    for symbol, share in samples.items():
        match = PROF_NAME.search(symbol)
        if match and match.group("file") in starts:
            f = match.group("file")
            i = bisect.bisect_right(lines[f], int(match.group("line"))) - 1
            name = starts[f][i][1] if i >= 0 else f
            blocks[".".join(name.split(".")[:depth])] += share
        elif match:
            blocks[f"(testbench {match.group('file')}.v)"] += share
        elif symbol.startswith("Vtb"):
            blocks["(Verilator scheduler)"] += share
        else:
            blocks["(runtime and C library)"] += share
    return blocks


def profile(design, seconds, depth):
    """Build, run under perf, return ``(per-block shares, run result)``."""
    exe = build_model(design, extra_args=("--prof-cfuncs",))
    with tempfile.TemporaryDirectory(prefix="pcsim-profile-") as tmp:
        data = Path(tmp) / "perf.data"
        result = run_model(exe, seconds, design.clock_period_ps,
                           prefix=("perf", "record", "-q", "-o", str(data), "--"))
        return per_block(perf_samples(data), design, depth), result


def _ns_per_cycle(blocks, result):
    per_cycle = 1e9 * result["wall_s"] / result["cycles"]
    return {name: share / 100 * per_cycle for name, share in blocks.items()}


def main(argv=None):
    p = argparse.ArgumentParser(prog="profile", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=0.02, help="simulated time to run")
    p.add_argument("--depth", type=int, default=3, help="levels of hierarchy to keep")
    p.add_argument("--top", type=int, default=25, help="blocks to print")
    p.add_argument("--ref", help="also profile the design of this git revision")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.depth < 1:
        p.error("--seconds and --depth must be positive")
    blocks, result = profile(cb.soc_design(), args.seconds, args.depth)
    print(f"{result['cycles']} cycles, {result['cycles_per_wall_s'] / 1e6:.2f} M cycles/s "
          f"under perf with --prof-cfuncs")
    if not args.ref:
        for name, share in blocks.most_common(args.top):
            print(f"{share:6.1f} %  {name}")
        return 0
    with checkout(args.ref) as tree:
        old_blocks, old_result = profile(design_in(tree), args.seconds, args.depth)
    print(f"{args.ref}: {old_result['cycles_per_wall_s'] / 1e6:.2f} M cycles/s under perf")
    old_ns, new_ns = _ns_per_cycle(old_blocks, old_result), _ns_per_cycle(blocks, result)
    print(f"{'ns per clock':>12s} {args.ref[:12]:>12s} {'now':>8s}  block")
    for name, _ in Counter({**old_ns, **new_ns}).most_common(args.top):
        print(f"{'':12s} {old_ns.get(name, 0):12.1f} {new_ns.get(name, 0):8.1f}  {name}")
    print(f"{'':12s} {sum(old_ns.values()):12.1f} {sum(new_ns.values()):8.1f}  (total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
