"""What each block of the design costs per clock in the optimised Verilator build, found by
knocking it out.

    python -m bench.knockout [BLOCK ...] [--seconds 0.05] [--rounds 3] [--json FILE]

A variant is ``audio_soc`` with the named blocks (hierarchy names below the top such as
``controller.sd0`` or ``codec``; several joined with ``+`` go out together) replaced by empty
modules with the same ports and every output tied to 0. ``empty`` replaces the whole design:
what is left is the floor of any run, the testbench wrapper's clock and AXI transactors. Each
variant is built like :mod:`bench.model_bench` (cached by content hash) and all of them run
alternately ``--rounds`` times, the device idle; it prints the median cycles per second, the
nanoseconds per clock and the speed relative to the whole design.

``bench.profile`` charges a call to every process (``--prof-cfuncs``); this measures the build
that tests and ``pcsim play`` use. A knocked-out block's outputs are constant, so logic fed by
them folds away too (without the register bank, no stream can be started): a variant's saving
is an upper bound of the block's own cost. Measured, never asserted."""

import argparse
import dataclasses
import json
import re
import statistics
import sys

from harness import build as cb
from pcsim.errors import UsageError
from pcsim.outputs import atomic_write_text, check_outputs

from .model_bench import build_model, run_model
from .profile import MODULE_LINE

__all__ = ["EMPTY", "DEFAULT_VARIANTS", "split_modules", "knock_out", "main"]

#: the variant that knocks out the whole design
EMPTY = "empty"
#: variants measured when none is named
DEFAULT_VARIANTS = ("controller.sd0+controller.sd1+controller.sd2", "codec", "controller.bank",
                    "controller.arbiter", "controller.midi",
                    "controller.sd0+controller.sd1+controller.sd2+codec+controller.midi", EMPTY)

MODULE_START = re.compile(r"(?m)^(?=module\s)")
#: a port declaration as yosys writes it: ``output reg [7:0] \name$1 ;``
PORT_DECLARATION = re.compile(r"\s*(?P<dir>input|output|inout)\s+(?:(?:reg|wire|signed)\s+)*"
                              r"(?P<range>\[[^\]]+\]\s*)?(?P<name>\\\S+ |[^\s;]+)\s*;")


def split_modules(verilog: str):
    """``(text before the first module, {module name: module text})`` of yosys' Verilog."""
    head, *modules = MODULE_START.split(verilog)
    return head, {MODULE_LINE.match(text).group("name"): text for text in modules}


def _empty_module(text: str) -> str:
    header = text[:text.index(";") + 1]
    lines = [header]
    for line in text.splitlines():
        port = PORT_DECLARATION.match(line)
        if port:
            # an escaped name ends at white space: keep one before ';' and '='
            rng, name = port.group("range") or "", port.group("name").strip()
            lines.append(f"  {port.group('dir')} {rng}{name} ;")
            if port.group("dir") == "output":
                lines.append(f"  assign {name} = 0;")
    return "\n".join(lines) + "\nendmodule\n"


def knock_out(verilog: str, top: str, blocks) -> str:
    """``verilog`` with each of ``blocks`` (names below ``top``, or :data:`EMPTY` for ``top``
    itself) an empty module of the same ports, outputs 0, and its submodules dropped.
    ``ValueError`` names a block that is not there."""
    head, modules = split_modules(verilog)
    targets = []
    for block in blocks:
        name = top if block == EMPTY else f"{top}.{block}"
        if name not in modules:
            known = sorted(n[len(top) + 1:] for n in modules if n.startswith(top + "."))
            raise ValueError(f"no block {block!r} in {top} (blocks: {', '.join(known)})")
        targets.append(name)
    out = [head]
    for name, text in modules.items():
        if name in targets:
            out.append(_empty_module(text))
        elif not any(name.startswith(t + ".") for t in targets):
            out.append(text)
    return "".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="knockout", description=__doc__.splitlines()[0])
    p.add_argument("variants", nargs="*", metavar="BLOCK",
                   help="blocks to knock out, '+' between blocks that go out together, "
                        f"'{EMPTY}' for the whole design (default: {' '.join(DEFAULT_VARIANTS)})")
    p.add_argument("--seconds", type=float, default=0.05, help="simulated s per run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.rounds < 1:
        p.error("--seconds and --rounds must be positive")
    try:
        check_outputs({"--json": args.json})
    except UsageError as e:
        p.error(str(e))
    design = cb.soc_design()
    variants = {"whole design": design}
    for variant in args.variants or DEFAULT_VARIANTS:
        try:
            verilog = knock_out(design.verilog, design.top, variant.split("+"))
        except ValueError as e:
            p.error(str(e))
        variants[f"without {variant}"] = dataclasses.replace(design, verilog=verilog)
    exes = {}
    for label, variant in variants.items():
        print(f"building {label}", flush=True)
        exes[label] = build_model(variant)
    runs = {label: [] for label in variants}
    for _ in range(args.rounds):
        for label, exe in exes.items():
            runs[label].append(run_model(exe, args.seconds, design.clock_period_ps)
                               ["cycles_per_wall_s"])
    whole = statistics.median(runs["whole design"])
    results = {}
    for label, rates in runs.items():
        rate = statistics.median(rates)
        results[label] = {"cycles_per_wall_s": rate, "ns_per_clock": 1e9 / rate,
                          "speed": rate / whole, "rounds": rates}
        print(f"{label:75s} {rate / 1e6:5.2f} M cycles/s {1e9 / rate:6.0f} ns/clock "
              f"{rate / whole:5.2f}x", flush=True)
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
