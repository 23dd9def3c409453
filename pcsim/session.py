"""One simulation run as the ``pcsim`` process sees it: a private temporary folder, the job
run with progress, and the outputs published only when everything is ready.

Outputs (the WAV, the report, the waves) are first written as temporary siblings of their
destinations and renamed into place together at the end; an error or an interruption removes
them, so no output is ever half-written. After a failed simulation the waves are kept (that is
when they are wanted) and so is the job's folder (the simulator log, the job, the results),
moved out of the temporary folder and named in the error."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from harness.build import SimulationFailed, simulated_seconds
from harness.gtkw import save_files
from harness.runner import run_sim_job
from harness.waves import WaveSelection

from .debug import FILTER_LABEL, SAVE_FILE_LABEL, TRACE_LABEL, WAVES_LABEL
from .errors import SimulationError, UsageError
from .outputs import atomic_write_text, publish, temporary_sibling
from .progress import Progress

__all__ = ["Session", "check_pgo"]


def check_pgo(pgo: bool, sim: str, debug) -> None:
    """:class:`UsageError` if the profile-guided Verilator build (``pgo``) cannot serve a run
    on ``sim`` with ``debug`` (a :class:`pcsim.debug.DebugOptions`): it is a Verilator build
    without wave tracing."""
    if not pgo:
        return
    if sim != "verilator":
        raise UsageError(f"--pgo is a Verilator build; it does not apply to --sim {sim}")
    if debug.waves is not None:
        raise UsageError("--pgo: the profile-guided build records no waves; drop --pgo or "
                         "--waves")


class Session:
    """``with Session("play x.wav", outputs) as s: result = s.run(job, sim)``; then
    ``s.write_bytes(label, data)`` / ``s.write_json(label, obj)``; ``s.commit()`` publishes."""

    def __init__(self, label: str, outputs: dict[str, Path], unit: str = "frames",
                 waves_selection=None):
        self.label = label
        self.outputs = outputs
        self.unit = unit
        self.waves_selection = waves_selection
        self.staged: dict[str, Path] = {}
        self.tmp = None
        #: after a run with waves: their size and the simulated time they cover
        self.waves_summary: dict | None = None

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pcsim-")
        return self

    @property
    def workdir(self) -> Path:
        return Path(self.tmp.name)

    def _stage(self, label: str) -> Path:
        if label not in self.staged:
            self.staged[label] = temporary_sibling(self.outputs[label])
        return self.staged[label]

    def run(self, job, sim: str, *, pgo: bool = False):
        """Run ``job``; waves go to the output labelled "waves file" if there is one (with
        its GTKWave save file), the drivers' timeline to the one labelled "trace file"."""
        waves = self.outputs.get(WAVES_LABEL)
        staged_waves = None
        if waves is not None:
            # the simulator picks the format from the suffix: keep it on the staged name
            staged_waves = self._stage(WAVES_LABEL)
            staged_waves.unlink()
            staged_waves = staged_waves.with_suffix(waves.suffix)
            self.staged[WAVES_LABEL] = staged_waves
        timeline = self._stage(TRACE_LABEL) if TRACE_LABEL in self.outputs else False
        bar = Progress(self.label, self.unit)
        try:
            result = run_sim_job(job, sim, self.workdir / "job", waves=staged_waves,
                                 on_progress=bar, pgo=pgo, timeline=timeline,
                                 waves_selection=self.waves_selection)
        except SimulationFailed as exc:
            text, kept = self._failure(exc, self.workdir / "job")
            if staged_waves is not None and staged_waves.exists():
                self._publish_waves()
                kept.append(f"waves in {waves} (GTKWave: {self.outputs[SAVE_FILE_LABEL]})")
            if timeline and timeline.exists():
                publish(self.staged.pop(TRACE_LABEL), self.outputs[TRACE_LABEL])
                kept.append(f"timeline in {self.outputs[TRACE_LABEL]}")
            raise SimulationError(f"simulation failed: {text}; kept: {', '.join(kept)}") \
                from None
        finally:
            bar.close()
        if staged_waves is not None:
            self._summarise_waves(staged_waves, sim)
        return result

    def _summarise_waves(self, recorded: Path, sim: str) -> None:
        """How big the waves are per simulated second (of the window they cover)."""
        simulated = simulated_seconds(self.workdir / "job" / "sim" / "results.xml")
        covered = (self.waves_selection or WaveSelection()).covered_s(simulated, sim)
        size = recorded.stat().st_size
        self.waves_summary = {"waves_bytes": size, "waves_simulated_s": covered,
                              "waves_bytes_per_simulated_s": size / covered if covered else 0}

    def waves_note(self) -> str | None:
        """One line on the waves written, for the terminal."""
        if not self.waves_summary:
            return None
        s = self.waves_summary
        return (f"waves: {self.outputs[WAVES_LABEL]} ({s['waves_bytes'] / 1e6:.2f} MB for "
                f"{s['waves_simulated_s'] * 1e3:.3f} ms simulated, "
                f"{s['waves_bytes_per_simulated_s'] / 1e6:.1f} MB per simulated second); "
                f"open with: gtkwave {self.outputs[SAVE_FILE_LABEL]}")

    def _publish_waves(self) -> None:
        """Publish the waves, then write their save file and register filter beside them."""
        waves = self.outputs[WAVES_LABEL]
        publish(self.staged.pop(WAVES_LABEL), waves)
        for path, text in save_files(waves, self.outputs[SAVE_FILE_LABEL],
                                     self.outputs[FILTER_LABEL]).items():
            atomic_write_text(path, text)

    def run_with(self, function, *args, job_dir: Path):
        """``function(*args)``, which runs a simulation job in ``job_dir`` itself, with a
        failed simulation reported as :meth:`run` does."""
        try:
            return function(*args)
        except SimulationFailed as exc:
            text, kept = self._failure(exc, job_dir)
            raise SimulationError(f"simulation failed: {text}; kept: {', '.join(kept)}") \
                from None

    def _failure(self, exc, job_dir: Path):
        """The failure's text and what was kept: the job's folder, moved out of the temporary
        folder (which is about to go) when it is in it."""
        folder = job_dir
        if job_dir.is_relative_to(self.workdir):
            folder = Path(tempfile.mkdtemp(prefix="pcsim-failed-"))
            for item in job_dir.iterdir() if job_dir.exists() else ():
                shutil.move(str(item), folder / item.name)
        return str(exc).replace(str(job_dir), str(folder)), [f"log in {folder}/sim.log"]

    def write_bytes(self, label: str, data: bytes) -> None:
        self._stage(label).write_bytes(data)

    def write_json(self, label: str, obj) -> None:
        self.write_bytes(label, (json.dumps(obj, indent=2) + "\n").encode())

    def stage(self, label: str) -> Path:
        """A temporary sibling of output ``label`` for a writer that needs a path."""
        return self._stage(label)

    def commit(self) -> None:
        """Publish every staged output (atomic renames, user's umask); the waves' save file
        is written once they are in place."""
        if WAVES_LABEL in self.staged and self.staged[WAVES_LABEL].exists():
            self._publish_waves()
        for label, tmp in list(self.staged.items()):
            if tmp.exists():
                publish(tmp, self.outputs[label])
            self.staged.pop(label)

    def __exit__(self, *exc):
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.tmp.cleanup()
        return False
