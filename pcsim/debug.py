"""The debugging outputs every simulating command offers: waves, their narrowing, the timeline.

``--waves W.fst`` records the waveform with the drivers' events in its ``driver`` scope and
writes ``W.gtkw`` (a GTKWave save file) and ``W.regs.txt`` (its register-name filter) beside
it; ``--waves-from S`` / ``--waves-to S`` record only that window of simulated time and
``--waves-scope top`` only the testbench's signals and the driver scope; ``--trace T.txt``
writes the drivers' text timeline (one line per event). See docs/debugging.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.gtkw import filter_path, save_file_path
from harness.waves import WAVE_SCOPES, WaveSelection

from .errors import UsageError

__all__ = ["DebugOptions", "add_debug_options", "debug_options", "note_waves", "WAVES_SUFFIXES",
           "WAVES_LABEL", "SAVE_FILE_LABEL", "FILTER_LABEL", "TRACE_LABEL"]

WAVES_SUFFIXES = (".fst", ".vcd")
WAVES_LABEL, SAVE_FILE_LABEL, FILTER_LABEL = "waves file", "waves save file", "waves filter file"
TRACE_LABEL = "trace file"


@dataclass(frozen=True)
class DebugOptions:
    """What the user asked to keep of a run for debugging."""
    waves: str | None = None
    trace: str | None = None
    waves_from: float | None = None
    waves_to: float | None = None
    waves_scope: str = "all"

    def check(self) -> WaveSelection:
        """The wave selection, or :class:`UsageError` naming what is wrong."""
        if self.waves is not None and Path(self.waves).suffix.lower() not in WAVES_SUFFIXES:
            raise UsageError(f"waves file {self.waves} must end in .fst or .vcd")
        narrowed = (self.waves_from, self.waves_to) != (None, None) or self.waves_scope != "all"
        if narrowed and self.waves is None:
            raise UsageError("--waves-from, --waves-to and --waves-scope need --waves FILE")
        for name, value in (("--waves-from", self.waves_from), ("--waves-to", self.waves_to)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise UsageError(f"{name} must be a time >= 0 in seconds, not {value:g}")
        try:
            return WaveSelection(self.waves_from, self.waves_to, self.waves_scope)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def outputs(self) -> dict:
        """The output files, labelled for :func:`pcsim.outputs.check_outputs`."""
        out = {TRACE_LABEL: self.trace, WAVES_LABEL: self.waves}
        if self.waves is not None:
            out[SAVE_FILE_LABEL] = save_file_path(self.waves)
            out[FILTER_LABEL] = filter_path(self.waves)
        return out


def _seconds(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time in seconds: {text!r}") from None


def add_debug_options(parser, waves=True):
    """``--trace`` (always) and the waves options (if ``waves``)."""
    parser.add_argument("--trace", metavar="T.txt",
                        help="write the drivers' timeline (one line per event) here")
    if not waves:
        return
    parser.add_argument("--waves", metavar="FILE.fst|FILE.vcd",
                        help="record waveforms (with the driver scope) and write FILE.gtkw")
    parser.add_argument("--waves-from", type=_seconds, metavar="S",
                        help="record waves from S seconds of simulated time")
    parser.add_argument("--waves-to", type=_seconds, metavar="S",
                        help="record waves up to S seconds of simulated time (Icarus; "
                             "Verilator records to the end)")
    parser.add_argument("--waves-scope", choices=WAVE_SCOPES, default="all",
                        help="all signals, or only the testbench's and the driver scope (top)")


def note_waves(session) -> None:
    """Print where a session's waves went and how big they are (standard error)."""
    note = session.waves_note()
    if note:
        print(f"pcsim: {note}", file=sys.stderr)


def debug_options(args) -> DebugOptions:
    """The :class:`DebugOptions` of parsed arguments."""
    return DebugOptions(waves=getattr(args, "waves", None), trace=getattr(args, "trace", None),
                        waves_from=getattr(args, "waves_from", None),
                        waves_to=getattr(args, "waves_to", None),
                        waves_scope=getattr(args, "waves_scope", "all"))
