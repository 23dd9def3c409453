"""Benchmark: the Verilated design alone, without cocotb, VPI or Python: the ceiling any
cosim run of it can reach on this machine.

    python -m bench.model_bench [--seconds 0.2] [--pgo] [--json FILE]

It builds the same testbench wrapper and design with the same Verilator and compiler options as
:mod:`harness.build`, plus a minimal C++ main loop that only advances time (the wrapper makes the
clock), and runs it for ``--seconds`` of simulated time. Nothing programs the device, so it sits
after power-on with the controller in reset: a cosim run that streams audio does at least this
much work per clock and adds cocotb's per-time-step work and Python on top. ``--pgo`` compiles
once with profiling, runs, and compiles again with the profile. Builds are cached by content
hash under the simulation cache (``model-bench-<hash>``). Measured, never asserted."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import build as cb
from harness.wrapper import TB_TOP

MAIN_CPP = r"""
// pcsim model benchmark: advance time only; the testbench wrapper makes the clock.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include "Vtb.h"
#include "verilated.h"

int main(int argc, char** argv) {
    VerilatedContext ctx;
    ctx.commandArgs(argc, argv);
    Vtb top{&ctx};
    const uint64_t end_ps = std::strtoull(argv[1], nullptr, 10);
    uint64_t steps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    while (!ctx.gotFinish()) {
        top.eval();
        ++steps;
        if (!top.eventsPending() || top.nextTimeSlot() > end_ps) break;
        ctx.time(top.nextTimeSlot());
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"time_ps\": %llu, \"steps\": %llu, \"wall_s\": %.6f}\n",
                (unsigned long long)ctx.time(), (unsigned long long)steps, wall);
    top.final();
    return 0;
}
"""


def build_model(design, pgo: bool = False, extra_args=(), profile_flags: str = "") -> Path:
    """Build (or find cached) the model benchmark executable of ``design`` (a
    :class:`harness.build.Design`); returns its path. ``extra_args`` go to Verilator and
    ``profile_flags`` to the compiler and linker (``bench.profile`` uses both); ``pgo``
    compiles twice, trained on a short run."""
    cb.ensure_verilator_on_path()
    wrapper = design.wrapper()
    options = cb.build_options("verilator", None, list(extra_args), pgo)
    key = cb.content_key(design.verilog, wrapper, MAIN_CPP, cb.simulator_version("verilator"),
                         json.dumps(options, sort_keys=True), profile_flags)
    root = cb.cache_root() / f"model-bench-{key[:16]}"
    exe = root / "obj_dir" / "model_bench"
    done = root / ".done"
    if done.exists():
        return exe
    with cb.file_lock(root.with_name(root.name + ".lock")):
        if done.exists():             # another process finished it while we waited
            return exe
        if root.exists():             # left over from a build that died: start clean
            shutil.rmtree(root)
        root.mkdir(parents=True)
        (root / f"{design.top}.v").write_text(design.verilog)
        (root / f"{TB_TOP}.v").write_text(wrapper)
        (root / "main.cpp").write_text(MAIN_CPP)
        # cocotb's runner adds --public-flat-rw, which VERILATOR_ARGS undoes: not needed here
        args = [a for a in cb.VERILATOR_ARGS if a != "--no-public-flat-rw"] + list(extra_args)

        def compile_(flags):
            make_vars = cb.make_vars(flags)
            if flags:      # the link needs the profiling runtime
                make_vars.append(f"CFG_LDFLAGS_VERILATED={flags}")
            cmd = ["verilator", "--cc", "--exe", "--build", "-j", "2", *args,
                   "--top-module", TB_TOP, f"{TB_TOP}.v", f"{design.top}.v", "main.cpp",
                   "-o", "model_bench"]
            env = dict(os.environ, MAKEFLAGS=cb.makeflags(make_vars))
            with open(root / "build.log", "a") as log:
                subprocess.run(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               check=True)

        if pgo:
            compile_(cb.PGO_GENERATE_FLAGS)
            run_model(exe, 0.02, design.clock_period_ps)  # training run writes *.gcda
            for obj in (root / "obj_dir").glob("*.o"):   # recompile everything with the profile
                obj.unlink()
            exe.unlink()
            compile_(cb.PGO_USE_FLAGS)
        else:
            compile_(profile_flags)
        done.write_text(key + "\n")
    return exe


def run_model(exe: Path, seconds: float, clock_period_ps: int, prefix=()) -> dict:
    """Run a model benchmark executable for ``seconds`` of simulated time (under the command
    ``prefix``, e.g. a profiler); returns its time, steps, wall time and cycles."""
    end_ps = int(seconds * 1e12)
    out = subprocess.run([*prefix, str(exe), str(end_ps)], capture_output=True, text=True,
                         check=True, cwd=exe.parent)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["cycles"] = result["time_ps"] // clock_period_ps
    result["cycles_per_wall_s"] = result["cycles"] / result["wall_s"]
    return result


def main(argv=None):
    p = argparse.ArgumentParser(prog="model_bench", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=0.2, help="simulated time to run")
    p.add_argument("--pgo", action="store_true", help="profile-guided build")
    p.add_argument("--json", help="also write the result here")
    args = p.parse_args(argv)
    if args.seconds <= 0:
        p.error(f"--seconds must be positive, got {args.seconds}")
    design = cb.soc_design()
    t0 = time.perf_counter()
    exe = build_model(design, args.pgo)
    built = time.perf_counter() - t0
    r = run_model(exe, args.seconds, design.clock_period_ps)
    r.update(pgo=args.pgo, build_or_cache_s=built, audio_s_per_wall_s=args.seconds / r["wall_s"])
    print(f"verilator model alone{' (PGO build)' if args.pgo else ''}, {args.seconds:.2f} s "
          f"simulated: {r['cycles']} cycles in {r['wall_s']:.2f} s -> "
          f"{r['cycles_per_wall_s'] / 1e6:.2f} M cycles/s, "
          f"{r['audio_s_per_wall_s']:.3f} audio s per wall s (ceiling of any cosim run)",
          flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
