"""Playback on a board through the driver stack, and the check of what the simulated board's
I2S receiver recorded against the input (``pcsim play --target board-sim``, ``pcsim board
play``; the WAV files are the application's business)."""

from harness.frames import expected_dac_frames

from .system import play_on_board_sim, play_on_serial_board

__all__ = ["board_sim_play", "serial_board_play", "align_recording", "DEFAULT_BUFFER_MS"]

#: the cyclic buffer a WaveRT client asks for on a board: the bridge needs several ms to
#: refill a part of it, so 10 ms (the simulated machine's default) leaves little lead
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


def board_sim_play(pcm, channels, bits, rate, workdir, *, miniport="wavert",
                   buffer_ms=DEFAULT_BUFFER_MS):
    """Play interleaved PCM on the simulated board; the report's ``frames`` are what the I2S
    receiver got, aligned to the input, and ``bit_exact`` compares them with it."""
    report = play_on_board_sim(pcm, channels, bits, rate, workdir, wave_miniport=miniport,
                               buffer_ms=buffer_ms)
    recorded = report.pop("frames")
    want = expected_dac_frames(pcm, channels, bits)
    start = align_recording(recorded, want)
    got = recorded[start:start + len(want)] if start is not None else []
    report.update(frames=got, frames_out=len(got), bit_exact=got == want,
                  mismatched_frames=sum(1 for a, b in zip(got, want) if a != b)
                  + len(want) - len(got),
                  i2s_frames_recorded=len(recorded), miniport=miniport)
    return report


def serial_board_play(pcm, channels, bits, rate, port, *, baud=3_000_000, miniport="wavert",
                      buffer_ms=DEFAULT_BUFFER_MS):
    """Play interleaved PCM on a real board on serial ``port`` (what reaches the DAC is only
    audible: the report has the stack's and the bridge's figures)."""
    report = play_on_serial_board(pcm, channels, bits, rate, port, baud,
                                  wave_miniport=miniport, buffer_ms=buffer_ms)
    report.update(miniport=miniport, port=port)
    return report
