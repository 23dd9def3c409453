"""Ctrl-C and SIGTERM in the middle of a simulation: one line, exit status 130, the simulator
stopped, no output written and no temporary folder left behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wav_files import sox_wav

EXIT_INTERRUPTED = 130
#: long enough that the run is still going when the signal comes
AUDIO_S = 2.0
#: the longest we wait for the simulation to start, and for the command to end (s)
START_TIMEOUT_S, END_TIMEOUT_S = 120, 60


def processes_mentioning(text):
    """PIDs of live processes whose command line or environment names ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_play_leaves_nothing(tmp_path, how):
    src = sox_wav(tmp_path / "in.wav", seconds=AUDIO_S)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    out, report = tmp_path / "out.wav", tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "pcsim", "play", src, "--out", out,
                             "--report", report, "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(private_tmp)})
    # wait until the simulator is running (its log exists in the job folder)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not list(private_tmp.glob("pcsim-*/job/sim.log")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the simulation did not start"
        time.sleep(0.2)
    time.sleep(1.0)
    if how == "ctrl-c":     # the terminal signals the whole foreground process group
        os.killpg(proc.pid, signal.SIGINT)
    else:                   # a job scheduler signals the command alone
        proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=END_TIMEOUT_S)
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    assert stderr.strip().splitlines() == ["pcsim: interrupted; no output written"], stderr
    assert not out.exists() and not report.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "tmp"]
    assert list(private_tmp.iterdir()) == [], "temporary files left behind"
    deadline = time.monotonic() + 10
    while processes_mentioning(str(private_tmp)):
        assert time.monotonic() < deadline, "the simulator outlived the command"
        time.sleep(0.2)
