"""``pcsim midi play``: a standard MIDI file through the MIDI or DMus port to the wire.

The host side parses the file first (a bad file is a one-line error before any simulation),
hands the merged, time-ordered messages to :func:`cosim.jobs.midi_play_job`, and reports each
message's intended and actual time on the wire (the start bit of its first byte, decoded by the
MIDI device model on ``midi_tx``).

Two ways to play, as on Windows:

- ``--dmus`` (DirectMusic): every message is sent ahead with its presentation time on the
  master clock; the DMus port hands it to the miniport before it is due and the miniport puts
  it in the hardware's timestamped queue, which releases it on time whatever the software does;
- otherwise (the MIDI port, like a winmm player): the application sleeps until each message is
  due and writes it; its timing is whatever the software path delivers.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from .player import ProgressBar, _check_output, _write_json
from .smf import read_smf

__all__ = ["midi_play", "LEAD_US"]

#: the first message is due this long after the stream runs (the DMus port's lookahead)
LEAD_US = 20_000


def midi_play(path, *, dmus=False, sim="verilator", seconds=None, report_path=None,
              quiet=False):
    """Play ``path``; returns the report dict (see the README for its keys). Raises
    ValueError for an unreadable file or bad options, before simulating."""
    from .jobs import run_sim_job
    midi = read_smf(path)
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"--seconds must be a positive number, not {seconds}")
    messages = [m for m in midi.messages
                if seconds is None or m.time_us < seconds * 1_000_000]
    if not messages:
        raise ValueError(f"{Path(path).name}: no MIDI messages to play"
                         + (f" in the first {seconds:g} s" if seconds is not None else ""))
    if report_path:
        _check_output(report_path, "report file")
    job = {"dmus": dmus, "lead_us": LEAD_US,
           "messages": [[m.time_us, m.data.hex()] for m in messages]}
    bar = ProgressBar(f"midi play {Path(path).name}")
    try:
        with tempfile.TemporaryDirectory(prefix="pcsim-midi-") as tmp:
            result = run_sim_job("midi_job", job, sim, Path(tmp) / "job",
                                 on_progress=bar)
    finally:
        bar.close()
    report = {"input": str(path), "port": "dmus" if dmus else "midi", "simulator": sim,
              "smf_format": midi.format, "tracks": midi.track_count,
              "tempo_changes": len(midi.tempo_changes),
              "messages_in_file": len(midi.messages), **result}
    if report_path:
        _write_json(report_path, report)
    if not quiet:
        summary = {k: v for k, v in report.items() if k != "messages"}
        print(json.dumps(summary, indent=2))
    return report


#: one 8N1 byte at 31250 baud
BYTE_US = 320


def timing_report(sent, received, start_ns, framing_errors, bytes_on_wire):
    """Match wire messages to the file's, in order; the report's figures (times in us).

    ``error_us`` is actual minus intended time. Messages due together queue up on a 31250 baud
    wire (a note-on takes 960 us), so ``wire_error_us`` measures against the earliest time the
    wire allowed: the intended time or the end of the message before, whichever is later."""
    pairs, wire_free_us = [], None
    for (time_us, data), got in zip(sent, received):
        actual_us = (got.time_ns - start_ns) / 1000
        earliest = time_us if wire_free_us is None else max(time_us, wire_free_us)
        wire_free_us = actual_us + BYTE_US * len(got.data)
        pairs.append({"intended_us": time_us, "actual_us": round(actual_us, 3),
                      "error_us": round(actual_us - time_us, 3),
                      "wire_error_us": round(actual_us - earliest, 3),
                      "data": data.hex(), "intact": got.data == data})
    intact = (len(received) == len(sent) and all(p["intact"] for p in pairs)
              and not framing_errors)
    errors = [abs(p["error_us"]) for p in pairs]
    return {
        "messages_played": len(sent),
        "messages_on_wire": len(received),
        "bytes_on_wire": bytes_on_wire,
        "intact": intact,
        "max_timing_error_us": max(errors) if errors else 0.0,
        "mean_timing_error_us": round(sum(errors) / len(errors), 3) if errors else 0.0,
        "max_wire_error_us": max((abs(p["wire_error_us"]) for p in pairs), default=0.0),
        "framing_errors": len(framing_errors),
        "messages": pairs,
    }
