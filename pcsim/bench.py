"""``pcsim bench``: stream N seconds of 48 kHz stereo 16-bit noise on each simulator and
report simulation speed (measured, never asserted).

``path="register"`` plays it through SD1 with the register-level driver code (the cocotb
``render_job``); ``path="stack"`` runs ``pcsim play`` through the whole driver stack (client,
wave port and miniport, registers, DMA, codec). Prints, per simulator: simulated cycles per
wall second and audio seconds per wall second (wall time of the streaming itself, excluding
simulator start-up and the cached build), and whether the DAC output was bit-exact. Verilator
runs a profile-guided build (built once and cached; about twice the build time of the plain
one) unless ``pgo=False``."""

import dataclasses
import json
import tempfile
from pathlib import Path

import soundfile as sf
import numpy as np

from harness.frames import noise_pcm
from harness.job import RenderJob
from harness.runner import run_sim_job

from .errors import EXIT_CHECK_FAILED, EXIT_OK
from .outputs import atomic_write_text, check_outputs
from .play import play

__all__ = ["run", "NOISE_SEED"]

NOISE_SEED = 2026


def _register_path(sim, pcm, tmp, pgo, miniport):
    pcm_file = Path(tmp) / "noise.pcm"
    pcm_file.write_bytes(pcm)
    job = RenderJob(pcm=str(pcm_file), channels=2, bits=16,
                    dac_out=str(Path(tmp) / f"dac-{sim}.raw"))
    return dataclasses.asdict(run_sim_job(job, sim, Path(tmp) / sim, pgo=pgo))


def _stack_path(sim, pcm, tmp, pgo, miniport):
    src = Path(tmp) / "noise.wav"
    sf.write(str(src), np.frombuffer(pcm, dtype="<i2").reshape(-1, 2), 48000,
             subtype="PCM_16", format="WAV")
    return play(src, Path(tmp) / f"out-{sim}.wav", sim=sim, pgo=pgo, miniport=miniport,
                allow_long=True)


def run(sims=("verilator", "icarus"), seconds=1.0, path="register", miniport="wavert",
        pgo=True, json_path=None):
    """Run the benchmark; returns the exit status (0 if every run was bit-exact)."""
    if json_path:
        check_outputs({"--json file": json_path})
    pcm = noise_pcm(2, 16, seconds, NOISE_SEED)
    stream = _stack_path if path == "stack" else _register_path
    results = {}
    with tempfile.TemporaryDirectory(prefix="pcsim-bench-") as tmp:
        for sim in sims:
            report = stream(sim, pcm, tmp, pgo, miniport)
            report["pgo"] = pgo and sim == "verilator"
            report["cycles_per_wall_s"] = report["cycles"] / report["wall_s"]
            report["audio_s_per_wall_s"] = seconds / report["wall_s"]
            results[sim] = report
            label = f"{path} path" + (f" ({miniport})" if path == "stack" else "")
            print(f"{sim:9s} {label}{' (PGO build)' if report['pgo'] else ''}, "
                  f"{seconds:.2f} s audio: {report['cycles']} "
                  f"cycles in {report['wall_s']:.2f} s -> "
                  f"{report['cycles_per_wall_s'] / 1e6:.2f} M cycles/s, "
                  f"{report['audio_s_per_wall_s']:.3f} audio s per wall s, "
                  f"bit_exact={report['bit_exact']}, underruns={report['underruns']}, "
                  f"interrupts={report['interrupts']}", flush=True)
    if json_path:
        atomic_write_text(json_path, json.dumps(results, indent=2))
    return EXIT_OK if all(r["bit_exact"] for r in results.values()) else EXIT_CHECK_FAILED
