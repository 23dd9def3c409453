"""``pcsim play IN.wav --target board-sim`` and ``pcsim board play IN.wav --port ...``: a WAV
through the bridge HAL, the port and miniport, the controller and the codec to the I2S pins."""

import json
import tempfile
from pathlib import Path

from cosim.render_job import expected_dac_frames
from cosim.wavio import read_wav, write_wav, WavError

from .system import play_on_board_sim, play_on_serial_board

__all__ = ["board_sim_play", "serial_board_play", "align_recording", "DEFAULT_BUFFER_MS"]

#: the cyclic buffer a WaveRT client asks for on a board: the bridge needs several ms to
#: refill a part of it, so 10 ms (the simulated machine's default) leaves too little lead
DEFAULT_BUFFER_MS = 100


def align_recording(recorded, want):
    """Where ``want`` starts in ``recorded`` (what an I2S receiver saw from power-on, silence
    first): the first place they agree over the whole of ``want``, else the first place its
    first non-silent frame appears (to count the differences), else None."""
    lead = next((k for k, frame in enumerate(want) if frame != (0, 0)), None)
    if lead is None:
        return 0 if len(recorded) >= len(want) else None
    first = None
    for i, frame in enumerate(recorded):
        if frame != want[lead] or i < lead:
            continue
        start = i - lead
        if recorded[start:start + len(want)] == want:
            return start
        first = start if first is None else first
    return first


def _read_input(in_wav):
    pcm = read_wav(in_wav)
    if pcm.frames == 0:
        raise WavError(f"{in_wav}: no audio frames")
    return pcm


def _finish(report, report_path, quiet):
    if report_path:
        Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
    if not quiet:
        print(json.dumps(report, indent=2))
    return report


def board_sim_play(in_wav, out_wav=None, *, miniport="wavert", buffer_ms=DEFAULT_BUFFER_MS,
                   report_path=None, quiet=False):
    """Play ``in_wav`` on the simulated board; write what the I2S receiver got (aligned to the
    input) to ``out_wav``; return the report (``bit_exact`` compares it with the input)."""
    pcm = _read_input(in_wav)
    out_wav = Path(out_wav or Path(in_wav).with_name(Path(in_wav).stem + "_board.wav"))
    with tempfile.TemporaryDirectory(prefix="pcsim-board-sim-") as work:
        report = play_on_board_sim(pcm.data, pcm.channels, pcm.bits, pcm.rate, work,
                                   wave_miniport=miniport, buffer_ms=buffer_ms)
    recorded = report.pop("frames")
    want = expected_dac_frames(pcm.data, pcm.channels, pcm.bits)
    start = align_recording(recorded, want)
    got = recorded[start:start + len(want)] if start is not None else []
    write_wav(out_wav, got, pcm.channels, pcm.bits, pcm.rate)
    report.update(input=str(in_wav), output=str(out_wav), target="board-sim", miniport=miniport,
                  frames_out=len(got), bit_exact=got == want,
                  mismatched_frames=sum(1 for a, b in zip(got, want) if a != b)
                  + len(want) - len(got),
                  i2s_frames_recorded=len(recorded))
    return _finish(report, report_path, quiet)


def serial_board_play(in_wav, port, *, baud=3_000_000, miniport="wavert",
                      buffer_ms=DEFAULT_BUFFER_MS, report_path=None, quiet=False):
    """Play ``in_wav`` on a real board on serial ``port`` (what reaches the DAC is only
    audible: the report has the stack's and the bridge's figures)."""
    pcm = _read_input(in_wav)
    report = play_on_serial_board(pcm.data, pcm.channels, pcm.bits, pcm.rate, port, baud,
                                  wave_miniport=miniport, buffer_ms=buffer_ms)
    report.update(input=str(in_wav), target=port, miniport=miniport)
    return _finish(report, report_path, quiet)
