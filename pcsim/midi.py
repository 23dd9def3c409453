"""``pcsim midi play``: a standard MIDI file through the MIDI or DMus port to the wire.

The host parses the file first (a bad file is a one-line error before any simulation),
estimates the run time, hands the merged, time-ordered messages to the simulator's
``midi_job`` (:mod:`cosim.midi_play`) and reports each message's intended and actual time on
the wire (the start bit of its first byte, decoded by the MIDI device model on ``midi_tx``).

Two ways to play, as on Windows:

- ``--dmus`` (DirectMusic): every message is sent ahead with its presentation time on the
  master clock; the DMus port hands it to the miniport before it is due and the miniport puts
  it in the hardware's timestamped queue, which releases it on time whatever the software does;
- otherwise (the MIDI port, like a winmm player): the application sleeps until each message is
  due and writes it; its timing is whatever the software path delivers.

``--seconds S`` stops at S seconds the way a player stops: an All Notes Off on every channel
the played part used, at S, so no note is left hanging.
"""

from __future__ import annotations

import math
from pathlib import Path

from harness.job import MidiJob

from .debug import DebugOptions, note_waves
from .errors import UsageError
from .outputs import check_input, check_outputs
from .progress import check_duration
from .session import Session, check_pgo
from .smf import read_smf

__all__ = ["midi_play", "timing_report", "all_notes_off", "LEAD_US", "BYTE_US"]

#: the first message is due this long after the stream runs (the DMus port's lookahead)
LEAD_US = 20_000
#: one 8N1 byte at 31250 baud
BYTE_US = 320
#: the drain the simulator allows after the last message (s), part of the run-time estimate
DRAIN_S = 1.0
#: Control Change 123: All Notes Off
CONTROL_CHANGE, ALL_NOTES_OFF = 0xB0, 123
CHANNEL_MESSAGES = range(0x80, 0xF0)


def all_notes_off(messages):
    """All Notes Off for every channel ``messages`` used, in channel order."""
    channels = sorted({m.data[0] & 0x0F for m in messages if m.data[0] in CHANNEL_MESSAGES})
    return [bytes([CONTROL_CHANGE | ch, ALL_NOTES_OFF, 0]) for ch in channels]


def _read_midi(path):
    check_input(path, "MIDI")
    try:
        return read_smf(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def midi_play(path, *, dmus=False, sim="verilator", seconds=None, report_path=None,
              allow_long=False, pgo=False, debug=None):
    """Play ``path``; returns the report dict (see the README for its keys). Raises
    :class:`UsageError` for an unreadable file or bad options, before simulating. ``pgo``
    runs Verilator's profile-guided build; ``debug`` (a :class:`pcsim.debug.DebugOptions`)
    asks for waves and the drivers' timeline."""
    midi = _read_midi(path)
    debug = debug or DebugOptions()
    selection = debug.check()
    check_pgo(pgo, sim, debug)
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"--seconds must be a positive number of seconds, not {seconds:g}")
    limit_us = None if seconds is None else int(seconds * 1_000_000)
    played = [m for m in midi.messages if limit_us is None or m.time_us < limit_us]
    if not played:
        raise UsageError(f"{Path(path).name}: no MIDI messages to play"
                         + (f" in the first {seconds:g} s" if seconds is not None else ""))
    sent = [[m.time_us, m.data.hex()] for m in played]
    if len(played) < len(midi.messages):         # stopped early: silence what still sounds
        sent += [[limit_us, data.hex()] for data in all_notes_off(played)]
    outputs = check_outputs({"report file": report_path, **debug.outputs()},
                            inputs={"input": path})
    simulated_s = (LEAD_US + sent[-1][0]) / 1e6 + DRAIN_S
    refusal = check_duration(sim, simulated_s, allow_long, f"playing {path}")
    if refusal:
        raise UsageError(refusal)
    with Session(f"midi play {Path(path).name}", outputs, unit="messages",
                 waves_selection=selection) as session:
        result = session.run(MidiJob(dmus=dmus, lead_us=LEAD_US, messages=sent), sim, pgo=pgo)
        timing = timing_report([(t, bytes.fromhex(h)) for t, h in sent],
                               result.wire_messages(), result.start_ns,
                               result.framing_errors, result.bytes_on_wire)
        report = {"input": str(path), "port": "dmus" if dmus else "midi", "simulator": sim,
                  "smf_format": midi.format, "tracks": midi.track_count,
                  "tempo_changes": len(midi.tempo_changes),
                  "messages_in_file": len(midi.messages),
                  "all_notes_off": len(sent) - len(played), **timing,
                  "interrupts": result.interrupts, "sim_time_ns": result.sim_time_ns,
                  "wall_s": result.wall_s, **(session.waves_summary or {})}
        if report_path:
            session.write_json("report file", report)
        session.commit()
    note_waves(session)
    return report


def timing_report(sent, received, start_ns, framing_errors, bytes_on_wire):
    """Match wire messages to the file's, in order; the report's figures (times in us).

    ``error_us`` is actual minus intended time. Messages due together queue up on a 31250 baud
    wire (a note-on takes 960 us), so ``wire_error_us`` measures against the earliest time the
    wire allowed: the intended time or the end of the message before, whichever is later."""
    pairs, wire_free_us = [], None
    for (time_us, data), got in zip(sent, received):
        got_data = bytes.fromhex(got.data)
        actual_us = (got.time_ns - start_ns) / 1000
        earliest = time_us if wire_free_us is None else max(time_us, wire_free_us)
        wire_free_us = actual_us + BYTE_US * len(got_data)
        pairs.append({"intended_us": time_us, "actual_us": round(actual_us, 3),
                      "error_us": round(actual_us - time_us, 3),
                      "wire_error_us": round(actual_us - earliest, 3),
                      "data": data.hex(), "intact": got_data == data})
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
        "framing_errors": framing_errors,
        "messages": pairs,
    }
