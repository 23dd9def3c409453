"""Progress of a long simulation, and the estimate that decides whether to start it.

On a terminal: a tqdm bar with an ETA, shown once the run has taken a few seconds. Elsewhere
(a log, CI, a pipe): one line on stderr every :data:`LINE_EVERY_S` seconds, so a long run is
never silent."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

__all__ = ["Progress", "estimate_wall_s", "check_duration", "SIM_SPEED", "LIMIT_S",
           "format_duration"]

#: simulated seconds per wall second, conservatively low (README, Performance: the plain
#: Verilator build runs the stack at 0.045-0.09 audio s per wall s, Icarus about 50x slower)
SIM_SPEED = {"verilator": 0.04, "icarus": 0.0007}
#: fixed cost of a run: simulator start, driver bring-up (wall seconds)
STARTUP_S = {"verilator": 5.0, "icarus": 20.0}
#: runs estimated longer than this are refused unless the user asks for them
LIMIT_S = 3600.0
#: the interval of progress lines when stderr is not a terminal
LINE_EVERY_S = 30.0
#: a bar appears only on runs that take longer than this
BAR_DELAY_S = 3.0


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def estimate_wall_s(sim: str, simulated_s: float) -> float:
    """Wall time a run simulating ``simulated_s`` seconds is expected to take on ``sim``."""
    return STARTUP_S[sim] + simulated_s / SIM_SPEED[sim]


def check_duration(sim: str, simulated_s: float, allow_long: bool, what: str) -> str | None:
    """None if the run may start; otherwise the one-line refusal (with the estimate and the
    ``--seconds`` that fits in :data:`LIMIT_S`)."""
    wall = estimate_wall_s(sim, simulated_s)
    if wall <= LIMIT_S or allow_long:
        return None
    fits = max(0.0, (LIMIT_S - STARTUP_S[sim]) * SIM_SPEED[sim])
    return (f"{what} simulates {format_duration(simulated_s)} and would take about "
            f"{format_duration(wall)} on {sim}; limit it with --seconds {fits:.3g} or pass "
            f"--allow-long")


class Progress:
    """A ``progress(done, total)`` callback for :func:`harness.runner.run_sim_job`."""

    def __init__(self, label: str, unit: str = "frames", stream=None):
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.monotonic()
        self.last_line = self.t0
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        now = time.monotonic()
        if self.tty:
            if self.bar is None:
                if now - self.t0 < BAR_DELAY_S:
                    return
                self.bar = tqdm(total=total, desc=self.label, unit=f" {self.unit}",
                                file=self.stream, leave=True, dynamic_ncols=True)
            self.bar.update(min(done, total) - self.bar.n)
        elif now - self.last_line >= LINE_EVERY_S:
            self.last_line = now
            elapsed = now - self.t0
            frac = min(1.0, done / total)
            eta = elapsed * (1 - frac) / frac if frac > 0 else float("inf")
            eta_text = format_duration(eta) if eta != float("inf") else "unknown"
            print(f"pcsim: {self.label}: {100 * frac:.1f} % ({done}/{total} {self.unit}), "
                  f"{format_duration(elapsed)} elapsed, ETA {eta_text}",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
