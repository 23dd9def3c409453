"""Side-by-side speed of the design at a git revision and in the working tree.

    python -m bench.compare [--ref main] [--seconds 0.1] [--stack-seconds 0.2] [--rounds 2]

Two measurements, each run for both designs back to back, alternating, ``--rounds`` times (the
machine is shared and noisy: only the ratio of neighbouring runs means much):

- design alone: the Verilated ``audio_soc`` in a bare C++ loop (:mod:`bench.model_bench`; both
  designs inside this tree's testbench wrapper, same compiler options);
- stack path: ``pcsim bench --path stack --no-pgo`` (``pcsim play`` through the whole driver
  stack on the plain Verilator build, what tests and ``pcsim play`` use; or on Icarus with
  ``--stack-sim icarus``), each tree with its own drivers, harness and design.

Prints cycles per wall second of each and the ratio new/old (median over the rounds). The
revision is unpacked with ``git archive`` into a temporary folder; builds are cached. Measured,
never asserted."""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import build as cb

from .model_bench import build_model, run_model
from .refs import REPO, checkout, design_in, tree_env

__all__ = ["design_alone", "stack_path"]


def design_alone(old, new, seconds, rounds):
    """``[(old cycles/s, new cycles/s)]`` per round of the two designs alone."""
    exes = [(build_model(d), d.clock_period_ps) for d in (old, new)]
    return [tuple(run_model(exe, seconds, period)["cycles_per_wall_s"] for exe, period in exes)
            for _ in range(rounds)]


def _stack_run(tree, seconds, sim):
    with tempfile.TemporaryDirectory(prefix="pcsim-compare-") as tmp:
        out = Path(tmp) / "bench.json"
        subprocess.run([sys.executable, "-m", "pcsim", "bench", "--sim", sim,
                        "--path", "stack", "--no-pgo", "--seconds", str(seconds),
                        "--json", str(out)], cwd=tree, env=tree_env(tree), check=True,
                       stdout=subprocess.DEVNULL)
        report = json.loads(out.read_text())[sim]
    if not report["bit_exact"]:
        raise SystemExit(f"stack path in {tree}: the DAC output was not bit-exact")
    return report["cycles_per_wall_s"]


def stack_path(old_tree, new_tree, seconds, rounds, sim="verilator"):
    """``[(old cycles/s, new cycles/s)]`` per round of ``pcsim bench --path stack`` on
    ``sim``."""
    return [(_stack_run(old_tree, seconds, sim), _stack_run(new_tree, seconds, sim))
            for _ in range(rounds)]


def _report(label, pairs, clk_hz):
    ratio = statistics.median(new / old for old, new in pairs)
    old = statistics.median(p[0] for p in pairs)
    new = statistics.median(p[1] for p in pairs)
    print(f"{label:23s} old {old / 1e6:5.2f} M cycles/s ({old / clk_hz:.3f} audio s/s), "
          f"new {new / 1e6:5.2f} M cycles/s ({new / clk_hz:.3f} audio s/s): "
          f"ratio {ratio:.2f}x  (rounds: "
          + ", ".join(f"{n / o:.2f}" for o, n in pairs) + ")", flush=True)
    return {"old": old, "new": new, "ratio": ratio, "rounds": pairs}


def main(argv=None):
    p = argparse.ArgumentParser(prog="compare", description=__doc__.splitlines()[0])
    p.add_argument("--ref", default="main", help="git revision of the old design")
    p.add_argument("--seconds", type=float, default=0.1, help="simulated s, design alone")
    p.add_argument("--stack-seconds", type=float, default=0.2, help="audio s, stack path")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--no-stack", dest="stack", action="store_false",
                   help="only the design alone")
    p.add_argument("--stack-sim", choices=cb.SIMULATORS, default="verilator",
                   help="simulator of the stack path (Icarus: keep --stack-seconds small)")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    if min(args.seconds, args.stack_seconds) <= 0 or args.rounds < 1:
        p.error("--seconds, --stack-seconds and --rounds must be positive")
    new = cb.soc_design()
    results = {"ref": args.ref}
    with checkout(args.ref) as tree:
        old = design_in(tree)
        print(f"old: {args.ref}; new: working tree {REPO}", flush=True)
        results["design_alone"] = _report(
            "design alone", design_alone(old, new, args.seconds, args.rounds), new.clk_hz)
        if args.stack:
            results["stack"] = _report(
                f"stack path ({args.stack_sim})",
                stack_path(tree, REPO, args.stack_seconds, args.rounds, args.stack_sim),
                new.clk_hz)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
