"""Bad input across the command line: each case exits with the documented status (2), prints
exactly one line on stderr and no traceback, leaves nothing behind (no output, no temporary
folder) and leaves its inputs byte-identical. Nothing here reaches a simulator. The cases run
``pcsim.cli.main`` in-process (an exception escaping it fails the test as a traceback would);
test_cli.py and test_interrupt.py run the real command."""

import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from pcsim.cli import main
from wav_files import riff_wav, pcm_fmt, sox_wav

EXIT_USAGE = 2
#: a path no one can create files in, root included
UNWRITABLE = "/proc/pcsim-out"


def midi_file(*tracks, fmt=1, division=96):
    def track(body):
        return b"MTrk" + struct.pack(">I", len(body)) + body
    head = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division)
    return head + b"".join(track(t) for t in tracks)


def far_note_off():
    """37 bytes: a note-on, then its note-off 2**28 - 1 ticks later (days of MIDI)."""
    body = b"\x00\x90\x3c\x40" + b"\xff\xff\xff\x7f" + b"\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    return midi_file(body, fmt=0)


def good_midi():
    return midi_file(b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00", fmt=0)


def make_inputs(d: Path):
    """Every input file the cases name, in folder ``d``."""
    sox_wav(d / "in.wav", seconds=0.002)
    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_text("this is not audio\n")
    (d / "folder.wav").mkdir()
    riff_wav(d / "noframes.wav", pcm_fmt(2, 48000, 16), b"")
    whole = (d / "in.wav").read_bytes()
    (d / "truncated.wav").write_bytes(whole[:len(whole) // 2])
    (d / "header.wav").write_bytes(whole[:30])
    sox_wav(d / "float.wav", bits=32, encoding="floating-point")
    sox_wav(d / "int32.wav", bits=32)
    sox_wav(d / "u8.wav", bits=8, encoding="unsigned-integer")
    sox_wav(d / "alaw.wav", channels=1, bits=8, encoding="a-law")
    sox_wav(d / "ulaw.wav", channels=1, bits=8, encoding="u-law")
    sox_wav(d / "adpcm.wav", channels=1, bits=4, encoding="ima-adpcm")
    sox_wav(d / "msadpcm.wav", channels=1, bits=4, encoding="ms-adpcm")
    sox_wav(d / "44k1.wav", rate=44100)
    sox_wav(d / "22k.wav", rate=22050)
    sox_wav(d / "six.wav", channels=6)
    sox_wav(d / "three.wav", channels=3, bits=24)
    sox(d / "in.wav", d / "in.aiff")
    (d / "song.mid").write_bytes(good_midi())
    (d / "far.mid").write_bytes(far_note_off())
    (d / "type2.mid").write_bytes(midi_file(b"\x00\xff\x2f\x00", fmt=2))
    (d / "cut.mid").write_bytes(good_midi()[:-5])
    (d / "text.mid").write_text("MIDI? no\n")
    os.link(d / "in.wav", d / "hardlink.wav")
    os.symlink(d / "in.wav", d / "symlink.wav")
    (d / "afile").write_text("x")


def sox(*args):
    subprocess.run(["sox", *map(str, args)], check=True, capture_output=True)


# (name, arguments, text the one line must contain); arguments are relative to the folder
CASES = [
    # play: the input
    ("play-missing", ["play", "missing.wav"], "missing.wav: no such file"),
    ("play-folder", ["play", "folder.wav"], "is a folder"),
    ("play-empty", ["play", "empty.wav"], "the file is empty"),
    ("play-text", ["play", "text.wav"], "not a WAV file"),
    ("play-truncated", ["play", "truncated.wav"], "truncated"),
    ("play-header-only", ["play", "header.wav"], "not a readable WAV file"),
    ("play-no-frames", ["play", "noframes.wav"], "no audio frames"),
    ("play-float", ["play", "float.wav"], "32-bit float samples are not supported: use 16- or "
                                          "24-bit PCM"),
    ("play-int32", ["play", "int32.wav"], "32-bit samples are not supported"),
    ("play-8bit", ["play", "u8.wav"], "8-bit samples are not supported"),
    ("play-alaw", ["play", "alaw.wav"], "A-law samples are not supported"),
    ("play-ulaw", ["play", "ulaw.wav"], "u-law samples are not supported"),
    ("play-adpcm", ["play", "adpcm.wav"], "IMA ADPCM samples are not supported"),
    ("play-msadpcm", ["play", "msadpcm.wav"], "Microsoft ADPCM samples are not supported"),
    ("play-44k1", ["play", "44k1.wav"], "44100 Hz is not supported"),
    ("play-22k", ["play", "22k.wav"], "22050 Hz is not supported"),
    ("play-6ch", ["play", "six.wav"], "6 channels are not supported"),
    ("play-3ch-24bit", ["play", "three.wav"], "3 channels are not supported"),
    ("play-aiff", ["play", "in.aiff"], "not a WAV file"),
    ("play-stdin", ["play", "-"], "standard input is not supported"),
    # play: outputs
    ("play-out-is-input", ["play", "in.wav", "--out", "in.wav"], "same file as the input"),
    ("play-report-is-input", ["play", "in.wav", "--report", "in.wav"], "same file as the input"),
    ("play-waves-is-input", ["play", "in.wav", "--waves", "in.wav"], "must end in .fst"),
    ("play-out-hardlink", ["play", "in.wav", "--out", "hardlink.wav"], "same file as the input"),
    ("play-out-symlink", ["play", "in.wav", "--out", "symlink.wav"], "same file as the input"),
    ("play-out-dotdot", ["play", "in.wav", "--out", "folder.wav/../in.wav"],
     "same file as the input"),
    ("play-report-is-out", ["play", "in.wav", "--out", "o.wav", "--report", "o.wav"],
     "same file as the output file"),
    ("play-waves-is-report", ["play", "in.wav", "--report", "w.vcd", "--waves", "w.vcd"],
     "same file as the report file"),
    # the profile-guided build: Verilator only, without waves, not on a board
    ("play-pgo-icarus", ["play", "in.wav", "--pgo", "--sim", "icarus"],
     "--pgo is a Verilator build"),
    ("play-pgo-waves", ["play", "in.wav", "--pgo", "--waves", "w.fst"], "records no waves"),
    ("play-pgo-board-sim", ["play", "in.wav", "--pgo", "--target", "board-sim"],
     "--pgo are not available with --target board-sim"),
    ("record-pgo-icarus", ["record", "r.wav", "--seconds", "0.01", "--tone", "440", "--pgo",
                           "--sim", "icarus"], "--pgo is a Verilator build"),
    ("midi-pgo-waves", ["midi", "play", "song.mid", "--pgo", "--waves", "w.vcd"],
     "records no waves"),
    ("play-out-no-folder", ["play", "in.wav", "--out", "nodir/o.wav"], "does not exist"),
    ("play-out-folder", ["play", "in.wav", "--out", "folder.wav"], "is a folder"),
    ("play-out-stdout", ["play", "in.wav", "--out", "-"], "standard output is not supported"),
    ("play-out-unwritable", ["play", "in.wav", "--out", f"{UNWRITABLE}.wav"], "cannot write"),
    ("play-report-unwritable", ["play", "in.wav", "--report", f"{UNWRITABLE}.json"],
     "cannot write"),
    ("play-waves-unwritable", ["play", "in.wav", "--waves", f"{UNWRITABLE}.fst"],
     "cannot write"),
    ("play-out-under-file", ["play", "in.wav", "--out", "afile/o.wav"], "is not a folder"),
    ("play-waves-suffix", ["play", "in.wav", "--waves", "w.txt"], "must end in .fst or .vcd"),
    # play: options
    ("play-volume-nan", ["play", "in.wav", "--volume", "nan"], "must be a finite number"),
    ("play-volume-minus-inf", ["play", "in.wav", "--volume", "-inf"], "must be a finite number"),
    ("play-volume-word", ["play", "in.wav", "--volume", "loud"], "not a number: 'loud'"),
    ("play-seconds-negative", ["play", "in.wav", "--seconds", "-1"], "must be a positive"),
    ("play-miniport", ["play", "in.wav", "--miniport", "sb16"], "invalid choice: 'sb16'"),
    ("play-sim", ["play", "in.wav", "--sim", "modelsim"], "invalid choice: 'modelsim'"),
    ("play-unknown-option", ["play", "in.wav", "--bogus"], "unrecognized arguments: --bogus"),
    # record
    ("record-seconds-inf", ["record", "r.wav", "--seconds", "inf", "--tone", "440"],
     "must be a positive, finite number"),
    ("record-seconds-nan", ["record", "r.wav", "--seconds", "nan", "--tone", "440"],
     "must be a positive, finite number"),
    ("record-seconds-zero", ["record", "r.wav", "--seconds", "0", "--tone", "440"],
     "must be a positive"),
    ("record-seconds-tiny", ["record", "r.wav", "--seconds", "1e-9", "--tone", "440"],
     "less than one frame"),
    ("record-no-source", ["record", "r.wav", "--seconds", "0.01"],
     "one of the arguments --in --tone is required"),
    ("record-tone-high", ["record", "r.wav", "--seconds", "0.01", "--tone", "30000"],
     "outside 0 < f < 24000 Hz"),
    ("record-tone-negative", ["record", "r.wav", "--seconds", "0.01", "--tone", "-5"],
     "must be a positive, finite frequency"),
    ("record-in-missing", ["record", "r.wav", "--seconds", "0.01", "--in", "missing.wav"],
     "no such file"),
    ("record-out-is-in", ["record", "in.wav", "--seconds", "0.01", "--in", "in.wav"],
     "same file as the input"),
    ("record-out-folder", ["record", "folder.wav", "--seconds", "0.01", "--tone", "440"],
     "is a folder"),
    ("record-too-long", ["record", "r.wav", "--seconds", "100000", "--tone", "440"],
     "would take about"),
    ("record-too-long-icarus", ["record", "r.wav", "--seconds", "10", "--tone", "440",
                                "--sim", "icarus"], "pass --allow-long"),
    # midi play
    ("midi-missing", ["midi", "play", "missing.mid"], "no such file"),
    ("midi-folder", ["midi", "play", "folder.wav"], "is a folder"),
    ("midi-type2", ["midi", "play", "type2.mid"], "format 2"),
    ("midi-truncated", ["midi", "play", "cut.mid"], "truncated"),
    ("midi-not-midi", ["midi", "play", "text.mid"], "not a standard midi file"),
    ("midi-seconds-negative", ["midi", "play", "song.mid", "--seconds", "-1"],
     "must be a positive"),
    ("midi-far-note-off", ["midi", "play", "far.mid"], "days"),
    ("midi-report-is-input", ["midi", "play", "song.mid", "--report", "song.mid"],
     "same file as the input"),
    ("midi-report-unwritable", ["midi", "play", "song.mid", "--report", UNWRITABLE],
     "cannot write"),
    # verilog
    ("verilog-o-file", ["verilog", "-o", "afile"], "is a file"),
    ("verilog-o-missing", ["verilog", "-o", "nodir"], "no such folder"),
    ("verilog-o-unwritable", ["verilog", "-o", "/proc"], "cannot write"),
    ("verilog-top", ["verilog", "--top", "dsp"], "unknown top 'dsp'"),
    ("verilog-clock", ["verilog", "--clk-hz", "1000000"], "not a multiple of 48 kHz"),
    ("verilog-clock-negative", ["verilog", "--clk-hz", "-5"], "must be a positive whole number"),
    # regmap
    ("regmap-o-folder", ["regmap", "-o", "folder.wav"], "is a folder"),
    ("regmap-o-unwritable", ["regmap", "-o", UNWRITABLE], "cannot write"),
    ("regmap-format", ["regmap", "--format", "xml"], "invalid choice: 'xml'"),
    # bench
    ("bench-seconds-negative", ["bench", "--seconds", "-1"], "must be a positive"),
    ("bench-seconds-nan", ["bench", "--seconds", "nan"], "must be a positive, finite"),
    ("bench-seconds-inf", ["bench", "--seconds", "inf"], "must be a positive, finite"),
    ("bench-sim", ["bench", "--sim", "questa"], "invalid choice: 'questa'"),
    ("bench-json-unwritable", ["bench", "--json", UNWRITABLE], "cannot write"),
    # the command itself
    ("no-command", [], "required: COMMAND"),
    ("unknown-command", ["burn"], "invalid choice: 'burn'"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    make_inputs(folder)
    return folder


def snapshot(folder):
    return {p.relative_to(folder): (p.read_bytes() if p.is_file() and not p.is_symlink()
                                    else None)
            for p in sorted(folder.rglob("*"))}


def test_there_are_many_cases():
    assert len(CASES) >= 40 and len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("name,args,text", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, inputs, name, args, text, monkeypatch, capsys):
    work = tmp_path / "work"
    shutil.copytree(inputs, work, symlinks=True)
    os.unlink(work / "hardlink.wav")            # copytree copies hard links: link again
    os.link(work / "in.wav", work / "hardlink.wav")
    os.unlink(work / "symlink.wav")
    os.symlink(work / "in.wav", work / "symlink.wav")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    before = snapshot(work)
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    try:
        status = main(args)
    except SystemExit as exc:           # argparse's own errors
        status = exc.code
    stderr = capsys.readouterr().err
    lines = stderr.strip().splitlines()
    assert status == EXIT_USAGE, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("pcsim") and "error: " in lines[0], lines[0]
    assert text.lower() in lines[0].lower(), lines[0]
    assert snapshot(work) == before, "the run changed or left files in its folder"
    assert list(private_tmp.iterdir()) == [], "temporary files left behind"
