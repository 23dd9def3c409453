"""``pcsim play`` and ``pcsim record`` end to end: bad input, and real audio on both
simulators through the whole driver stack."""

import json
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from pcsim import midi, play, session
from wav_files import sox_wav

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "hello.wav"
#: frames of the espeak-ng example to play per simulator (Icarus is ~50x slower)
FRAMES = {"verilator": 9600, "icarus": 480}
REPORT_KEYS = {"frames_in", "frames_out", "bit_exact", "underruns", "interrupts",
               "sim_time_ns", "wall_s", "cycles", "max_position_error_frames"}


def pcsim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pcsim", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def make_wav(path, channels=2, width=2, rate=48000, frames=100, data=None):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data if data is not None else bytes(channels * width * frames))
    return path


def speech(tmp_path, frames, offset=24000):
    """A slice of the bundled espeak-ng recording, from inside the speech."""
    with wave.open(str(EXAMPLE), "rb") as w:
        w.setpos(offset)
        data = w.readframes(frames)
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate())
    return make_wav(tmp_path / "speech.wav", *params, data=data)


def one_line_error(result, text):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result
    assert len(lines) == 1 and text in lines[0], result.stderr


@pytest.mark.parametrize("kind,text", [
    ("missing", "no such file"),
    ("text", "not a WAV file"),
    ("8bit", "8-bit samples are not supported"),
    ("44k1", "44100 Hz is not supported"),
    ("6ch", "6 channels are not supported"),
    ("empty", "no audio frames"),
])
def test_play_rejects_bad_input(tmp_path, kind, text):
    """Each bad input: one line naming the problem, exit 2, no output file."""
    src = tmp_path / f"{kind}.wav"
    if kind == "text":
        src.write_text("this is not audio")
    elif kind == "8bit":
        make_wav(src, width=1)
    elif kind == "44k1":
        make_wav(src, rate=44100)
    elif kind == "6ch":
        make_wav(src, channels=6)
    elif kind == "empty":
        make_wav(src, frames=0)
    out = tmp_path / "out.wav"
    one_line_error(pcsim("play", src, "--out", out, "--report", tmp_path / "r.json"), text)
    assert not out.exists() and not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("args,text", [
    (["--waves", "w.txt"], "must end in .fst or .vcd"),
    (["--out", "nodir/out.wav"], "does not exist"),
    (["--packet-mode", "--miniport", "wavecyclic"], "--packet-mode needs --miniport wavert"),
])
def test_play_rejects_bad_options(tmp_path, args, text):
    src = make_wav(tmp_path / "in.wav")
    one_line_error(pcsim("play", src, *args, cwd=tmp_path), text)


def test_play_unknown_miniport_and_option(tmp_path):
    src = make_wav(tmp_path / "in.wav")
    for args in (["--miniport", "sb16"], ["--bogus"]):
        result = pcsim("play", src, *args)
        assert result.returncode == 2 and "error" in result.stderr


@pytest.mark.parametrize("args,text", [
    (["--seconds", "0.01"], "one of the arguments --in --tone is required"),
    (["--seconds", "-1", "--tone", "440"], "must be a positive"),
    (["--seconds", "0.01", "--tone", "30000"], "outside 0 < f < 24000 Hz"),
    (["--seconds", "0.01", "--in", "missing.wav"], "no such file"),
])
def test_record_rejects_bad_input(tmp_path, args, text):
    result = pcsim("record", tmp_path / "out.wav", *args, cwd=tmp_path)
    assert result.returncode == 2 and text in result.stderr, result.stderr
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize("miniport", ["wavert", "wavecyclic", "wavepci"])
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_play_speech_bit_identical(tmp_path, sim, miniport):
    """espeak-ng speech through client -> port -> miniport -> device: OUT.wav equals IN.wav."""
    src = speech(tmp_path, FRAMES[sim])
    out, rep = tmp_path / "out.wav", tmp_path / "r.json"
    result = pcsim("play", src, "--sim", sim, "--miniport", miniport, "--out", out,
                   "--report", rep, "-q")
    assert result.returncode == 0, result.stderr
    report = json.loads(rep.read_text())
    assert REPORT_KEYS <= report.keys()
    assert report["bit_exact"] and report["frames_in"] == report["frames_out"] == FRAMES[sim]
    assert report["underruns"] == 0 and report["interrupts"] > 0
    with wave.open(str(src)) as a, wave.open(str(out)) as b:
        assert a.getparams()[:3] == b.getparams()[:3]
        assert a.readframes(10**7) == b.readframes(10**7)


@pytest.mark.parametrize("miniport", ["wavert", "wavecyclic", "wavepci"])
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_record_from_wav_bit_identical(tmp_path, sim, miniport):
    """The microphone fed from a WAV: the recording is that WAV, bit for bit."""
    frames = FRAMES[sim] // 2
    src = speech(tmp_path, frames * 2)
    out, rep = tmp_path / "rec.wav", tmp_path / "r.json"
    result = pcsim("record", out, "--seconds", frames / 48000, "--in", src, "--sim", sim,
                   "--miniport", miniport, "--report", rep, "-q")
    assert result.returncode == 0, result.stderr
    report = json.loads(rep.read_text())
    assert report["bit_exact"] and report["frames_out"] == frames
    # the client queues its capture buffers before RUN: nothing lost at the start (WavePci
    # stores straight into them)
    assert report["underruns"] == 0 and report["hardware_xruns"] == 0
    with wave.open(str(src)) as a, wave.open(str(out)) as b:
        skip = report["lead_in_frames"]
        a.setpos(skip)
        assert b.getnframes() == frames
        assert a.readframes(frames) == b.readframes(frames)


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_play_and_record_in_packet_mode_bit_identical(tmp_path, sim):
    """``--packet-mode``: WaveRT packet mode (SetWritePacket / GetReadPacket), play and
    record both bit for bit; the play report has the write-to-DAC latency."""
    src = speech(tmp_path, FRAMES[sim])
    out, rep = tmp_path / "out.wav", tmp_path / "r.json"
    result = pcsim("play", src, "--sim", sim, "--packet-mode", "--out", out, "--report", rep,
                   "-q")
    assert result.returncode == 0, result.stderr
    report = json.loads(rep.read_text())
    assert report["packet_mode"] and report["packets"] > 0
    assert report["bit_exact"] and report["frames_out"] == FRAMES[sim]
    assert report["underruns"] == 0
    if sim == "verilator":   # Icarus's two packets are both written before RUN: no sample
        assert report["write_latency_frames"]["samples"] > 0
    with wave.open(str(src)) as a, wave.open(str(out)) as b:
        assert a.readframes(10**7) == b.readframes(10**7)
    frames = FRAMES[sim] // 2
    rec = tmp_path / "rec.wav"
    result = pcsim("record", rec, "--seconds", frames / 48000, "--in", src, "--sim", sim,
                   "--packet-mode", "--report", rep, "-q")
    assert result.returncode == 0, result.stderr
    report = json.loads(rep.read_text())
    assert report["packet_mode"] and report["packets"] > 0
    assert report["bit_exact"] and report["frames_out"] == frames
    with wave.open(str(src)) as a, wave.open(str(rec)) as b:
        a.setpos(report["lead_in_frames"])
        assert a.readframes(frames) == b.readframes(frames)


def test_record_tone(tmp_path):
    """A 1 kHz tone recorded at 48 kHz: 48 samples per period, peak near half scale."""
    out = tmp_path / "tone.wav"
    result = pcsim("record", out, "--seconds", 0.02, "--tone", 1000, "-q")
    assert result.returncode == 0, result.stderr
    with wave.open(str(out)) as w:
        raw = w.readframes(10**6)
    left = [int.from_bytes(raw[i:i + 2], "little", signed=True) for i in range(0, len(raw), 4)]
    assert len(left) == 960
    assert 16000 < max(left) <= 16384 and -16384 <= min(left) < -16000
    assert left[:len(left) - 48] == left[48:]


def test_play_icarus_waves(tmp_path):
    """--waves FILE.vcd records a waveform of the run."""
    src = speech(tmp_path, 96)
    waves = tmp_path / "run.vcd"
    result = pcsim("play", src, "--sim", "icarus", "--waves", waves, "--out",
                   tmp_path / "o.wav", "-q")
    assert result.returncode == 0, result.stderr
    head = waves.read_text(errors="replace")[:20000]
    assert "$var" in head and " clk " in head


def test_volume_beyond_range_is_clamped_and_clipping_counted(tmp_path):
    """--volume 30 dB: a note says the driver clamped it to +24 dB; the output is the gain
    model's, and the report counts the samples it saturated."""
    src = sox_wav(tmp_path / "tone.wav", seconds=0.01)      # half scale: +24 dB clips
    out, rep = tmp_path / "loud.wav", tmp_path / "r.json"
    result = pcsim("play", src, "--volume", "30", "--out", out, "--report", rep, "-q")
    assert result.returncode == 0, result.stderr
    assert "clamped to +24 dB" in result.stderr.splitlines()[0]
    report = json.loads(rep.read_text())
    assert report["volume_db"] == 24.0 and report["bit_exact"]
    assert report["clipped_samples"] > 0
    quiet = pcsim("play", src, "--volume", "-10", "--out", out, "--report", rep, "-q")
    assert quiet.returncode == 0 and "clamped" not in quiet.stderr, quiet.stderr
    assert json.loads(rep.read_text())["clipped_samples"] == 0


class _Stop(Exception):
    """Raised by the stand-in runner: the test only looks at what it was asked for."""


@pytest.mark.parametrize("command", ["play", "record", "midi"])
def test_pgo_asks_the_runner_for_the_profile_guided_build(tmp_path, monkeypatch, command):
    """``--pgo`` reaches the build (the profile-guided build itself runs in ``pcsim bench``);
    without it every command runs the plain build, and nothing is written either way."""
    asked = []

    def runner(job, sim, workdir, **options):
        asked.append((sim, options["pgo"]))
        raise _Stop
    monkeypatch.setattr(session, "run_sim_job", runner)
    song = EXAMPLE.parent / "midi" / "music21-test10.mid"
    runs = {"play": lambda pgo: play.play(make_wav(tmp_path / "in.wav"), tmp_path / "o.wav",
                                          pgo=pgo),
            "record": lambda pgo: play.record(tmp_path / "o.wav", 0.01, tone_hz=440, pgo=pgo),
            "midi": lambda pgo: midi.midi_play(song, pgo=pgo)}
    for pgo in (True, False):
        with pytest.raises(_Stop):
            runs[command](pgo)
    assert asked == [("verilator", True), ("verilator", False)]
    assert not (tmp_path / "o.wav").exists()
