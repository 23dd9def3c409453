"""``pcsim midi play`` end to end: bad files are one-line errors before any simulation; a type 1
file with a tempo change plays intact through the MIDI port and, on time to within one MIDI bit,
through the DMus port and the hardware's timestamped queue (Verilator: a MIDI message takes a
millisecond on the wire, thousands of Icarus clocks per wall second)."""

import json
import subprocess
import sys

import pytest

REPORT_KEYS = {"messages_in_file", "messages_on_wire", "bytes_on_wire", "max_timing_error_us",
               "intact", "messages"}
BIT_US = 32.0       # one bit at 31250 baud


def pcsim(*args):
    return subprocess.run([sys.executable, "-m", "pcsim", *map(str, args)],
                          capture_output=True, text=True)


def vlq(n):
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.insert(0, 0x80 | (n & 0x7F))
    return bytes(out)


def track(events):
    body = b"".join(vlq(delta) + data for delta, data in events) + b"\x00\xff\x2f\x00"
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def two_track_file():
    """96 ticks per quarter; tempo 50000 us/quarter, then 25000 from tick 96: notes every
    48 ticks (25 ms, then 12.5 ms), with running status in the notes track."""
    tempo = track([(0, b"\xff\x51\x03\x00\xc3\x50"), (96, b"\xff\x51\x03\x00\x61\xa8")])
    notes = [(0, b"\x90\x3c\x40")]
    for i in range(1, 6):
        notes.append((48, bytes([0x3c + i, 0x40])))           # running status
    notes.append((48, b"\x80\x3c\x00"))
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") + \
        (2).to_bytes(2, "big") + (96).to_bytes(2, "big")
    return header + tempo + track(notes)


def test_bad_midi_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x02\x00\x01\x00\x60")       # type 2
    truncated = tmp_path / "cut.mid"
    truncated.write_bytes(two_track_file()[:-9])
    report = tmp_path / "r.json"
    for path, words in ((tmp_path / "missing.mid", "no such file"), (bad, "format 2"),
                        (truncated, "truncated")):
        result = pcsim("midi", "play", path, "--report", report)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pcsim: error:"), result.stderr
        assert words in lines[0].lower(), lines[0]
        assert not report.exists()
    result = pcsim("midi", "play", tmp_path / "x.mid", "--seconds", "abc")
    assert result.returncode == 2


@pytest.mark.parametrize("port", ["dmus", "midi"])
def test_midi_play_to_the_wire(tmp_path, port):
    path = tmp_path / "song.mid"
    path.write_bytes(two_track_file())
    report_path = tmp_path / "r.json"
    result = pcsim("midi", "play", path, "--report", report_path, "-q",
                   *(["--dmus"] if port == "dmus" else []))
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert REPORT_KEYS <= report.keys()
    assert report["messages_in_file"] == report["messages_on_wire"] == 7
    assert report["intact"] and report["framing_errors"] == 0
    # note-ons at 0, 25, 50 ms, then 62.5, 75, 87.5 ms after the tempo change; note-off at 100
    intended = [m["intended_us"] for m in report["messages"]]
    assert intended == [0, 25000, 50000, 62500, 75000, 87500, 100000]
    assert report["bytes_on_wire"] == 3 * 7          # the player sends every status byte
    if port == "dmus":
        assert report["max_timing_error_us"] <= BIT_US
        assert report["max_wire_error_us"] <= BIT_US
    else:
        assert all(m["error_us"] >= 0 for m in report["messages"])
        assert report["max_timing_error_us"] < 5000   # software timing: late, not lost


def test_seconds_stops_like_a_player(tmp_path):
    """--seconds 0.06 plays the messages due before 60 ms, then All Notes Off on the channel
    they used, at 60 ms: no note is left sounding."""
    path = tmp_path / "song.mid"
    path.write_bytes(two_track_file())
    report_path = tmp_path / "r.json"
    result = pcsim("midi", "play", path, "--seconds", "0.06", "--report", report_path, "-q")
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["intact"] and report["all_notes_off"] == 1
    sent = [(m["intended_us"], m["data"]) for m in report["messages"]]
    assert [t for t, _ in sent] == [0, 25000, 50000, 60000]
    assert sent[-1][1] == "b07b00"              # CC 123 (All Notes Off) on channel 1
    assert report["messages_on_wire"] == 4
