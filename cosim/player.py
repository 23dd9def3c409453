"""``pcsim play`` and ``pcsim record``: the host side.

Input is checked before any simulation starts (a bad file gives one line naming the problem);
outputs are written atomically only once the run has finished, so a failed run leaves none.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from .render_job import expected_dac_frames
from .wavio import WavError, pack_frames, read_wav, unpack_frames, write_wav

__all__ = ["play", "record", "ProgressBar", "MINIPORTS"]

#: the miniports ``--miniport`` accepts
MINIPORTS = ("wavert", "wavecyclic", "wavepci")


class ProgressBar:
    """A one-line progress bar on a terminal, shown once a run has taken ``delay_s``."""

    def __init__(self, label, stream=None, delay_s=3.0, width=30):
        self.label = label
        self.stream = stream or sys.stderr
        self.delay_s = delay_s
        self.width = width
        self.t0 = time.monotonic()
        self.shown = False

    def __call__(self, done, total):
        if not getattr(self.stream, "isatty", lambda: False)():
            return
        if time.monotonic() - self.t0 < self.delay_s or total <= 0:
            return
        frac = min(1.0, done / total)
        bar = "#" * int(frac * self.width)
        self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {100 * frac:5.1f}% "
                          f"({done}/{total} frames, {time.monotonic() - self.t0:.0f} s)")
        self.stream.flush()
        self.shown = True

    def close(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _check_output(path, what):
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{what} {path}: directory {parent} does not exist")
    return path


def _check_waves(path):
    if path is None:
        return None
    path = _check_output(path, "waves file")
    if path.suffix.lower() not in (".fst", ".vcd"):
        raise ValueError(f"waves file {path} must end in .fst or .vcd")
    return path


def _write_json(path, report):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def _finish(report, report_path, quiet):
    if report_path:
        _write_json(report_path, report)
    if not quiet:
        print(json.dumps(report, indent=2))


def _simulate(testcase, job, sim, tmp, waves, label, pgo=False):
    """Run one stack job with a progress bar; returns its report."""
    from .jobs import run_sim_job
    bar = ProgressBar(label)
    try:
        return run_sim_job(testcase, job, sim, Path(tmp) / "job", waves=waves,
                             on_progress=bar, pgo=pgo)
    finally:
        bar.close()


def _complete(report, extra, audio_s, report_path, quiet):
    report = dict(report, **extra, audio_s=audio_s)
    report["audio_s_per_wall_s"] = audio_s / report["wall_s"] if report["wall_s"] else 0.0
    _finish(report, report_path, quiet)
    return report


def _check_miniport(miniport):
    if miniport not in MINIPORTS:
        raise ValueError(f"miniport {miniport!r} is not available (choose "
                         f"{', '.join(MINIPORTS)})")


def _check_packet_mode(packet_mode, miniport):
    if packet_mode and miniport != "wavert":
        raise ValueError(f"--packet-mode needs --miniport wavert, not {miniport}")


def play(in_wav, out_wav=None, *, sim="verilator", miniport="wavert", waves=None,
         report_path=None, quiet=False, pgo=False, volume_db=None, mute=False,
         packet_mode=False):
    """Play ``in_wav`` through the driver stack; write what reached the DAC to ``out_wav``.
    Returns the report dict. Raises WavError/ValueError for bad input (before simulating).
    ``volume_db``/``mute`` set the headphone output through the topology filter first (the
    driver rounds to the codec's 0.75 dB steps and clamps to its range); ``pgo`` runs
    Verilator's profile-guided build (benchmarks); ``packet_mode`` streams in WaveRT
    packets."""
    _check_miniport(miniport)
    _check_packet_mode(packet_mode, miniport)
    if volume_db is not None and not math.isfinite(volume_db):
        raise ValueError(f"--volume must be a finite number of dB, not {volume_db}")
    pcm = read_wav(in_wav)
    if pcm.frames == 0:
        raise WavError(f"{in_wav}: no audio frames")
    out_wav = _check_output(out_wav or Path(in_wav).with_name(Path(in_wav).stem + "_out.wav"),
                            "output file")
    waves = _check_waves(waves)
    if report_path:
        _check_output(report_path, "report file")
    with tempfile.TemporaryDirectory(prefix="pcsim-play-") as tmp:
        pcm_file = Path(tmp) / "input.pcm"
        pcm_file.write_bytes(pcm.data)
        job = {"pcm": str(pcm_file), "channels": pcm.channels, "bits": pcm.bits,
               "rate": pcm.rate, "output": str(Path(tmp) / "dac.raw"), "miniport": miniport,
               "volume_db": volume_db, "mute": mute, "packet_mode": packet_mode}
        report = _simulate("play_job", job, sim, tmp, waves, f"play {Path(in_wav).name}", pgo)
        frames = unpack_frames(Path(job["output"]).read_bytes())
    write_wav(out_wav, frames, pcm.channels, pcm.bits, pcm.rate)
    return _complete(report, dict(input=str(in_wav), output=str(out_wav), simulator=sim,
                                  miniport=miniport), pcm.frames / pcm.rate, report_path, quiet)


def record(out_wav, seconds, *, in_wav=None, tone_hz=None, sim="verilator",
           miniport="wavert", waves=None, report_path=None, quiet=False,
           channels=2, bits=16, rate=48000, packet_mode=False):
    """Record ``seconds`` from the microphone (fed from ``in_wav`` or a ``tone_hz`` sine)
    through the driver stack into ``out_wav`` (``packet_mode``: in WaveRT packets). Returns
    the report dict."""
    _check_miniport(miniport)
    _check_packet_mode(packet_mode, miniport)
    if not seconds or seconds <= 0:
        raise ValueError(f"--seconds must be positive, got {seconds}")
    if (in_wav is None) == (tone_hz is None):
        raise ValueError("give exactly one source: --in IN.wav or --tone HZ")
    out_wav = _check_output(out_wav, "output file")
    waves = _check_waves(waves)
    if report_path:
        _check_output(report_path, "report file")
    source = None
    if in_wav is not None:
        pcm = read_wav(in_wav)
        channels, bits, rate = pcm.channels, pcm.bits, pcm.rate
        source = expected_dac_frames(pcm.data, channels, bits)
    elif not 0 < tone_hz < rate / 2:
        raise ValueError(f"tone of {tone_hz} Hz is outside 0 < f < {rate / 2:g} Hz")
    frames = int(round(seconds * rate))
    if frames == 0:
        raise ValueError(f"--seconds {seconds} is less than one frame")
    with tempfile.TemporaryDirectory(prefix="pcsim-record-") as tmp:
        job = {"channels": channels, "bits": bits, "rate": rate, "frames": frames,
               "tone_hz": tone_hz, "output": str(Path(tmp) / "capture.pcm"),
               "miniport": miniport, "packet_mode": packet_mode}
        if source is not None:
            src = Path(tmp) / "mic.raw"
            src.write_bytes(pack_frames(source))
            job["source"] = str(src)
        report = _simulate("record_job", job, sim, tmp, waves, f"record {Path(out_wav).name}")
        captured = Path(job["output"]).read_bytes()
    write_wav(out_wav, expected_dac_frames(captured, channels, bits), channels, bits, rate)
    return _complete(report, dict(output=str(out_wav), simulator=sim, miniport=miniport,
                                  source=str(in_wav) if in_wav else f"tone {tone_hz} Hz"),
                     frames / rate, report_path, quiet)
