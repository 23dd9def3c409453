"""Output safety and progress without a simulator: outputs get the user's umask, are never
half-written, are compared with inputs by identity; progress lines appear off a terminal."""

import io
import os
import pathlib

import pytest

from pcsim import progress
from pcsim.errors import UsageError
from pcsim.outputs import atomic_write, check_outputs
from pcsim.progress import Progress, check_duration


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "out.bin", b"data")
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == mode


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    """A disk that fills half-way: the old file stays, no temporary file is left."""
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def disk_full(self, data):
        with open(self, "wb") as fh:
            fh.write(data[:2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_bytes", disk_full)
    with pytest.raises(OSError):
        atomic_write(target, b"new data")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_outputs_compared_by_identity(tmp_path):
    src = tmp_path / "in.wav"
    src.write_bytes(b"x")
    os.link(src, tmp_path / "link.wav")
    with pytest.raises(UsageError, match="same file as the input"):
        check_outputs({"output file": tmp_path / "link.wav"}, inputs={"input": src})
    with pytest.raises(UsageError, match="same file as the output file"):
        check_outputs({"output file": tmp_path / "a.wav", "report file": tmp_path / "a.wav"})
    assert check_outputs({"output file": tmp_path / "b.wav", "report file": None}) == \
        {"output file": tmp_path / "b.wav"}


def test_progress_lines_off_a_terminal(monkeypatch):
    """Not on a terminal: a line per LINE_EVERY_S with the fraction and an ETA."""
    clock = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = Progress("play x.wav", stream=out)
    bar(10, 100)
    assert out.getvalue() == ""                 # nothing before the first interval
    clock[0] += progress.LINE_EVERY_S
    bar(25, 100)
    line = out.getvalue().strip()
    assert line.startswith("pcsim: play x.wav: 25.0 % (25/100 frames)")
    assert line.endswith("30 s elapsed, ETA 2 min")     # 30 s for a quarter: 90 s to go
    bar.close()


def test_duration_check_names_the_estimate_and_the_seconds_to_use():
    assert check_duration("verilator", 1.0, False, "playing x") is None
    refusal = check_duration("icarus", 10.0, False, "playing x")
    assert "playing x simulates 10 s" in refusal and "--allow-long" in refusal
    assert "--seconds 2.5" in refusal           # (3600 - 20) s at 0.0007 audio s per wall s
    assert check_duration("icarus", 10.0, True, "playing x") is None
