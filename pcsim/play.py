"""``pcsim play`` and ``pcsim record``: the host side.

Everything is checked before any simulation starts: the input file, the options, every output
path (writable, distinct from the input and from each other) and the expected run time. A bad
input gives one line naming the problem. Outputs are published atomically once the run has
finished (:class:`pcsim.session.Session`)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from harness.frames import expected_dac_frames, pack_frames, unpack_frames
from harness.job import MINIPORTS, PlayJob, RecordJob
from rtl.gain import GAIN_STEPS, gain_db

from .debug import WAVES_SUFFIXES, DebugOptions, note_waves
from .errors import UsageError
from .outputs import check_outputs
from .progress import check_duration
from .session import Session, check_pgo
from .wav import read_wav, write_wav

__all__ = ["play", "record", "default_output", "volume_note", "WAVES_SUFFIXES"]

#: the codec's headphone amplifier range (dB)
VOLUME_MIN_DB, VOLUME_MAX_DB = gain_db(0), gain_db(GAIN_STEPS - 1)
#: the rate ``--tone`` records at, and its format
TONE_RATE, TONE_CHANNELS, TONE_BITS = 48000, 2, 16


def default_output(in_wav) -> Path:
    """``IN_out.wav`` beside the input."""
    return Path(in_wav).with_name(Path(in_wav).stem + "_out.wav")


def _check_miniport(miniport):
    if miniport not in MINIPORTS:
        raise UsageError(f"miniport {miniport!r} is not available (choose "
                         f"{', '.join(MINIPORTS)})")


def _check_seconds(seconds, required=False):
    if seconds is None:
        if required:
            raise UsageError("--seconds is required")
        return
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"--seconds must be a positive number of seconds, not {seconds:g}")


def volume_note(volume_db):
    """The line to print when ``volume_db`` is beyond the codec's range (the driver clamps)."""
    if volume_db is None or VOLUME_MIN_DB <= volume_db <= VOLUME_MAX_DB:
        return None
    edge = min(max(volume_db, VOLUME_MIN_DB), VOLUME_MAX_DB)
    return (f"--volume {volume_db:g} dB is outside the codec's range "
            f"({VOLUME_MIN_DB:g} .. {VOLUME_MAX_DB:+g} dB): clamped to {edge:+g} dB")


def _report(result, audio_s, **extra):
    report = dict(dataclasses.asdict(result), **extra, audio_s=audio_s)
    report["audio_s_per_wall_s"] = audio_s / report["wall_s"] if report["wall_s"] else 0.0
    return report


def _check_packet_mode(packet_mode, miniport):
    if packet_mode and miniport != "wavert":
        raise UsageError(f"--packet-mode needs --miniport wavert, not {miniport}")


def play(in_wav, out_wav=None, *, sim="verilator", miniport="wavert", waves=None,
         report_path=None, pgo=False, volume_db=None, mute=False, seconds=None,
         allow_long=False, packet_mode=False, debug=None):
    """Play ``in_wav`` through the driver stack; write what reached the DAC to ``out_wav``.
    Returns the report dict. Raises :class:`UsageError` for bad input (before simulating) and
    :class:`SimulationError` if the simulation fails. ``volume_db``/``mute`` set the headphone
    output through the topology filter first; ``seconds`` plays only the start of the file;
    ``pgo`` runs Verilator's profile-guided build (faster, built once per design);
    ``packet_mode`` streams in
    WaveRT packets. ``debug`` (a :class:`pcsim.debug.DebugOptions`) asks for waves, their
    narrowing and the timeline; ``waves`` alone is short for ``DebugOptions(waves=...)``."""
    _check_miniport(miniport)
    _check_packet_mode(packet_mode, miniport)
    debug = debug or DebugOptions(waves=waves)
    selection = debug.check()
    check_pgo(pgo, sim, debug)
    _check_seconds(seconds)
    if volume_db is not None and not math.isfinite(volume_db):
        raise UsageError(f"--volume must be a finite number of dB, not {volume_db}")
    pcm = read_wav(in_wav)
    if seconds is not None:
        pcm = pcm.head(max(1, int(seconds * pcm.rate)))
    if pcm.frames == 0:
        raise UsageError(f"{in_wav}: no audio frames")
    outputs = check_outputs({"output file": out_wav or default_output(in_wav),
                             "report file": report_path, **debug.outputs()},
                            inputs={"input": in_wav})
    refusal = check_duration(sim, pcm.frames / pcm.rate, allow_long, f"playing {in_wav}")
    if refusal:
        raise UsageError(refusal)
    with Session(f"play {Path(in_wav).name}", outputs, waves_selection=selection) as session:
        pcm_file = session.workdir / "input.pcm"
        pcm_file.write_bytes(pcm.data)
        job = PlayJob(pcm=str(pcm_file), channels=pcm.channels, bits=pcm.bits, rate=pcm.rate,
                      output=str(session.workdir / "dac.raw"), miniport=miniport,
                      volume_db=volume_db, mute=mute, packet_mode=packet_mode)
        result = session.run(job, sim, pgo=pgo)
        frames = unpack_frames(Path(job.output).read_bytes())
        write_wav(session.stage("output file"), frames, pcm.channels, pcm.bits, pcm.rate)
        report = _report(result, pcm.frames / pcm.rate, input=str(in_wav),
                         output=str(outputs["output file"]), simulator=sim, miniport=miniport,
                         **(session.waves_summary or {}))
        if report_path:
            session.write_json("report file", report)
        session.commit()
    note_waves(session)
    return report


def record(out_wav, seconds, *, in_wav=None, tone_hz=None, sim="verilator",
           miniport="wavert", waves=None, report_path=None, allow_long=False,
           packet_mode=False, pgo=False, debug=None):
    """Record ``seconds`` from the microphone (fed from ``in_wav`` or a ``tone_hz`` sine)
    through the driver stack into ``out_wav`` (``packet_mode``: in WaveRT packets). Returns
    the report dict. ``pgo`` and ``debug`` as for :func:`play`."""
    _check_miniport(miniport)
    _check_packet_mode(packet_mode, miniport)
    debug = debug or DebugOptions(waves=waves)
    selection = debug.check()
    check_pgo(pgo, sim, debug)
    _check_seconds(seconds, required=True)
    if (in_wav is None) == (tone_hz is None):
        raise UsageError("give exactly one source: --in IN.wav or --tone HZ")
    channels, bits, rate = TONE_CHANNELS, TONE_BITS, TONE_RATE
    source = None
    if in_wav is not None:
        pcm = read_wav(in_wav)
        channels, bits, rate = pcm.channels, pcm.bits, pcm.rate
        source = expected_dac_frames(pcm.data, channels, bits)
    elif not (math.isfinite(tone_hz) and 0 < tone_hz < rate / 2):
        raise UsageError(f"--tone {tone_hz:g} Hz is outside 0 < f < {rate / 2:g} Hz")
    frames = int(round(seconds * rate))
    if frames == 0:
        raise UsageError(f"--seconds {seconds:g} is less than one frame")
    outputs = check_outputs({"output file": out_wav, "report file": report_path,
                             **debug.outputs()}, inputs={"input": in_wav})
    refusal = check_duration(sim, seconds, allow_long, f"recording {seconds:g} s")
    if refusal:
        raise UsageError(refusal)
    with Session(f"record {Path(out_wav).name}", outputs,
                 waves_selection=selection) as session:
        job = RecordJob(channels=channels, bits=bits, rate=rate, frames=frames,
                        tone_hz=tone_hz, output=str(session.workdir / "capture.pcm"),
                        miniport=miniport, packet_mode=packet_mode)
        if source is not None:
            mic = session.workdir / "mic.raw"
            mic.write_bytes(pack_frames(source))
            job.source = str(mic)
        result = session.run(job, sim, pgo=pgo)
        captured = Path(job.output).read_bytes()
        write_wav(session.stage("output file"), expected_dac_frames(captured, channels, bits),
                  channels, bits, rate)
        report = _report(result, frames / rate, output=str(outputs["output file"]),
                         simulator=sim, miniport=miniport,
                         source=str(in_wav) if in_wav else f"tone {tone_hz:g} Hz",
                         **(session.waves_summary or {}))
        if report_path:
            session.write_json("report file", report)
        session.commit()
    note_waves(session)
    return report
