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

from harness.build import SimulationFailed
from harness.runner import run_sim_job

from .errors import SimulationError
from .outputs import publish, temporary_sibling
from .progress import Progress

__all__ = ["Session"]


class Session:
    """``with Session("play x.wav", outputs) as s: result = s.run(job, sim)``; then
    ``s.write_bytes(label, data)`` / ``s.write_json(label, obj)``; ``s.commit()`` publishes."""

    def __init__(self, label: str, outputs: dict[str, Path], unit: str = "frames"):
        self.label = label
        self.outputs = outputs
        self.unit = unit
        self.staged: dict[str, Path] = {}
        self.tmp = None

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
        """Run ``job``; waves go to the output labelled "waves file" if there is one."""
        waves = self.outputs.get("waves file")
        staged_waves = None
        if waves is not None:
            # the simulator picks the format from the suffix: keep it on the staged name
            staged_waves = self._stage("waves file")
            staged_waves.unlink()
            staged_waves = staged_waves.with_suffix(waves.suffix)
            self.staged["waves file"] = staged_waves
        bar = Progress(self.label, self.unit)
        try:
            return run_sim_job(job, sim, self.workdir / "job", waves=staged_waves,
                               on_progress=bar, pgo=pgo)
        except SimulationFailed as exc:
            folder = self._keep_job_folder()
            kept = [f"log in {folder}/sim.log"]
            exc = str(exc).replace(str(self.workdir / "job"), str(folder))
            if staged_waves is not None and staged_waves.exists():
                publish(staged_waves, waves)
                self.staged.pop("waves file")
                kept.append(f"waves in {waves}")
            raise SimulationError(f"simulation failed: {exc}; kept: {', '.join(kept)}") \
                from None
        finally:
            bar.close()

    def run_with(self, function, *args):
        """``function(*args)`` (which runs a simulation job itself), with a failed
        simulation reported as :meth:`run` does."""
        try:
            return function(*args)
        except SimulationFailed as exc:
            folder = self._keep_job_folder()
            exc = str(exc).replace(str(self.workdir / "job"), str(folder))
            raise SimulationError(f"simulation failed: {exc}; kept: log in {folder}/sim.log") \
                from None

    def _keep_job_folder(self) -> Path:
        """Move the job's folder out of the temporary folder (which is about to go)."""
        kept = Path(tempfile.mkdtemp(prefix="pcsim-failed-"))
        job = self.workdir / "job"
        for item in job.iterdir() if job.exists() else ():
            shutil.move(str(item), kept / item.name)
        return kept

    def write_bytes(self, label: str, data: bytes) -> None:
        self._stage(label).write_bytes(data)

    def write_json(self, label: str, obj) -> None:
        self.write_bytes(label, (json.dumps(obj, indent=2) + "\n").encode())

    def stage(self, label: str) -> Path:
        """A temporary sibling of output ``label`` for a writer that needs a path."""
        return self._stage(label)

    def commit(self) -> None:
        """Publish every staged output (atomic renames, user's umask)."""
        for label, tmp in list(self.staged.items()):
            if tmp.exists():
                publish(tmp, self.outputs[label])
            self.staged.pop(label)

    def __exit__(self, *exc):
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.tmp.cleanup()
        return False
