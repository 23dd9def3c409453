"""What a waveform records: the time window and the scope filter (:class:`WaveSelection`).

Both simulators record through the wrapper's ``$dumpvars`` block
(:func:`harness.wrapper.dump_verilog`), which these plusargs control at run time. Two
Verilator limits: it ignores ``$dumpvars``' arguments, so the ``top`` scope is a build of its
own (``harness.build.build(..., waves_scope="top")``), and it ignores ``$dumpoff``, so a
window records from its start to the end of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WaveSelection", "WAVE_SCOPES"]

#: ``all``: every signal of the design; ``top``: the testbench's own signals (the DUT's ports,
#: the AXI transactors, the DAC recorder) and the driver scope
WAVE_SCOPES = ("all", "top")


@dataclass(frozen=True)
class WaveSelection:
    """Record from ``from_s`` to ``to_s`` seconds of simulated time (None: from the start /
    to the end), the signals of ``scope`` (one of :data:`WAVE_SCOPES`)."""
    from_s: float | None = None
    to_s: float | None = None
    scope: str = "all"

    def __post_init__(self):
        if self.scope not in WAVE_SCOPES:
            raise ValueError(f"waves scope {self.scope!r}: choose {', '.join(WAVE_SCOPES)}")
        for value in (self.from_s, self.to_s):
            if value is not None and not value >= 0:
                raise ValueError(f"waves window time {value} must be >= 0 seconds")
        if self.from_s is not None and self.to_s is not None and self.to_s <= self.from_s:
            raise ValueError(f"waves window ends ({self.to_s:g} s) before it starts "
                             f"({self.from_s:g} s)")

    def plusargs(self) -> list[str]:
        """The wrapper's plusargs for this selection."""
        out = []
        if self.scope == "top":
            out.append("+pcsim_waves_top")
        if self.from_s:
            out.append(f"+pcsim_waves_from_ps={round(self.from_s * 1e12)}")
        if self.to_s is not None:
            out.append(f"+pcsim_waves_to_ps={round(self.to_s * 1e12)}")
        return out

    def covered_s(self, simulated_s: float, sim: str) -> float:
        """How much simulated time a run of ``simulated_s`` seconds on ``sim`` recorded:
        from the window's start to its end, or to the end of the run on Verilator, which has
        no ``$dumpoff``."""
        end = simulated_s if self.to_s is None or sim == "verilator" \
            else min(self.to_s, simulated_s)
        return max(0.0, end - (self.from_s or 0.0))
