"""``pcsim campaign``: randomized fault scenarios through the whole stack, in parallel.

Scenario ``i`` of a campaign with seed ``S`` has its own seed (:func:`scenario_seed`), from
which :func:`draw_scenario` draws everything it does, so ``pcsim campaign --replay SEED``
reproduces exactly that scenario and ``--shard I/K`` runs a deterministic slice (the indices
``i`` with ``i % K == I``) whose reports ``--merge`` combines. Each scenario runs in its own
``pcsim campaign --replay`` process with a wall-time bound (exceeding it is a hang, as is
exceeding the simulated-time bound inside); the folder of a failed scenario (its job, result
and simulator log) is kept and named in the report. The invariants are checked inside the
simulation (:mod:`cosim.scenario`)."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.backpressure import AXI_CHANNELS
from harness.build import build, soc_design
from harness.job import MINIPORTS, ScenarioJob
from harness.runner import run_sim_job
from rtl.regmap import REGMAP

from .errors import UsageError
from .outputs import atomic_write_text, check_input, check_outputs
from .progress import estimate_wall_s

__all__ = ["draw_scenario", "scenario_spec", "NO_BACKPRESSURE", "scenario_seed", "run_campaign",
           "replay", "merge_reports", "parse_shard", "summary_table"]

#: audio per scenario (ms) on each simulator: short, so a thousand run in hours
AUDIO_MS = {"verilator": (15, 40), "icarus": (3, 6)}
RATES = (48000, 48000, 32000, 16000, 8000)
#: chance per cycle that a channel pauses, by draw
PAUSE_PROBABILITIES = (0.0, 0.0, 0.0, 0.1, 0.3, 0.6)
#: the registers a rogue client scribbles on, with their sizes: the second render engine,
#: unused by scenarios
ROGUE_REGISTERS = tuple((r.name, r.size) for r in REGMAP if r.name.startswith("SD2")
                        and not r.name.endswith("_A"))
EVENT_KINDS = ("isr_spike", "dpc_spike", "pause", "power_cycle", "jack", "rogue_write",
               "volume", "bus_error")
#: how often a chunked render cancels one of its chunks, and how long after writing it
CANCEL_PROBABILITY, CANCEL_DELAYS_US = 0.4, (0, 200, 1000, 3000)
#: how often MIDI messages go out through the MIDI port alongside, and at most how many
MIDI_PROBABILITY, MIDI_MAX_MESSAGES = 0.3, 8
#: what a bus error hits, and how the memory answers
#: (the responses are cosim.host_memory.FAULT_RESPONSES; this process never imports cosim)
BUS_ERROR_TARGETS, BUS_ERROR_RESPONSES = ("descriptor", "data", "position"), ("slverr", "decerr")
#: simulated-time allowance beyond the audio and the drawn pauses (us), and for a client
#: that starves the stream
BOUND_SLACK_US, STARVING_SLACK_US = 60_000, 32_000
#: no AXI channel ever pauses
NO_BACKPRESSURE = {channel: 0.0 for channel in AXI_CHANNELS}
#: a scenario's wall-time bound: this many times its estimate, plus start-up (s)
WALL_FACTOR, WALL_SLACK_S = 4, 120


def scenario_seed(campaign_seed: int, index: int) -> int:
    """The seed of scenario ``index`` of campaign ``campaign_seed`` (63 bits)."""
    digest = hashlib.sha256(f"pcsim-campaign:{campaign_seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _event(rng, kind, at_us):
    if kind in ("isr_spike", "dpc_spike"):
        return [at_us, kind, rng.choice((50, 300, 1000, 3000)), rng.randint(200, 3000)]
    if kind == "pause":
        return [at_us, kind, rng.randint(300, 3000)]
    if kind == "power_cycle":
        return [at_us, kind, rng.randint(200, 1000)]
    if kind == "jack":
        return [at_us, kind, rng.randint(0, 1)]
    if kind == "bus_error":
        return [at_us, kind, rng.choice(BUS_ERROR_TARGETS), rng.choice(BUS_ERROR_RESPONSES)]
    if kind == "rogue_write":
        name, size = rng.choice(ROGUE_REGISTERS)
        return [at_us, kind, name, rng.getrandbits(8 * size)]
    return [at_us, kind, rng.choice((-30, -12, -6, 0))]       # volume


def _event_duration_us(event):
    """How long an event holds the stream up (a pause, a power cycle, a latency spike)."""
    kind = event[1]
    if kind in ("pause", "power_cycle"):
        return event[2]
    return event[3] if kind in ("isr_spike", "dpc_spike") else 0


def scenario_spec(*, miniport, direction, channels, bits, rate, frames, buffer_ms,
                  events=(), memory_seed=1, backpressure=NO_BACKPRESSURE, chunk_frames=None,
                  chunk_gap_us=2000, cancel=None, midi=(), sabotage=None) -> dict:
    """A whole scenario as the simulator side reads it, from its parts (``events``: lists
    ``[time_us, kind, *arguments]`` in time order; ``cancel``: ``[chunk, after_us]``, the
    render chunk the client cancels that long after writing it; ``midi``: ``[time_us, hex]``
    messages sent through the MIDI port meanwhile); the simulated-time bound follows from
    the audio, the events and a starving client."""
    audio_us = frames * 1_000_000 // rate
    bound = (4 * audio_us + sum(_event_duration_us(e) for e in events) + BOUND_SLACK_US
             + (STARVING_SLACK_US if chunk_frames else 0))
    return {"miniport": miniport, "direction": direction, "channels": channels, "bits": bits,
            "rate": rate, "frames": frames, "buffer_ms": buffer_ms, "memory_seed": memory_seed,
            "backpressure": dict(backpressure), "chunk_frames": chunk_frames,
            "chunk_gap_us": chunk_gap_us, "events": [list(e) for e in events],
            "cancel": list(cancel) if cancel else None, "midi": [list(m) for m in midi],
            "bound_us": bound, "sabotage": sabotage}


def draw_scenario(seed: int, sim: str = "verilator") -> dict:
    """Everything scenario ``seed`` does, as the simulator side reads it."""
    rng = random.Random(seed)
    direction = rng.choice(("render", "render", "capture"))
    rate = rng.choice(RATES)
    audio_ms = rng.randint(*AUDIO_MS[sim])
    starving = direction == "render" and rng.random() < 0.3
    events = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(EVENT_KINDS)
        if kind in ("pause", "power_cycle") and any(e[1] == kind for e in events):
            continue
        events.append(_event(rng, kind, rng.randint(0, audio_ms * 1000)))
    events.sort(key=lambda e: e[0])
    parts = dict(
        miniport=rng.choice(MINIPORTS), direction=direction,
        channels=rng.choice((1, 2)), bits=rng.choice((16, 24)), rate=rate,
        frames=rate * audio_ms // 1000, buffer_ms=rng.choice((5, 10, 20)),
        memory_seed=rng.getrandbits(31),
        backpressure={ch: rng.choice(PAUSE_PROBABILITIES) for ch in AXI_CHANNELS},
        chunk_frames=rate * rng.choice((2, 5)) // 1000 if starving else None,
        chunk_gap_us=rng.choice((500, 2000, 8000)), events=events)
    # (a new draw changes what every later draw of a seed gives: seeds name scenarios of
    # this version only; tests pin explicit specs)
    chunks = -(-parts["frames"] // parts["chunk_frames"]) if starving else 0
    if chunks >= 3 and rng.random() < CANCEL_PROBABILITY:
        parts["cancel"] = [rng.randint(1, chunks - 2), rng.choice(CANCEL_DELAYS_US)]
    if rng.random() < MIDI_PROBABILITY:
        parts["midi"] = _midi_messages(rng, audio_ms)
    return scenario_spec(**parts)


def _midi_messages(rng, audio_ms):
    """A few channel messages (note on/off, program change, controller) at random times."""
    messages = []
    for _ in range(rng.randint(1, MIDI_MAX_MESSAGES)):
        channel = rng.randrange(16)
        kind = rng.choice(("note", "program", "controller"))
        if kind == "note":
            data = [rng.choice((0x80, 0x90)) | channel, rng.randrange(128), rng.randrange(128)]
        elif kind == "program":
            data = [0xC0 | channel, rng.randrange(128)]
        else:
            data = [0xB0 | channel, rng.randrange(120), rng.randrange(128)]
        messages.append([rng.randint(0, audio_ms * 1000), bytes(data).hex()])
    return sorted(messages)


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/K"`` -> (I, K) with 0 <= I < K."""
    try:
        index, count = (int(p) for p in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected I/K, e.g. 0/4") from None
    if not 0 <= index < count:
        raise UsageError(f"--shard {text}: I must be in 0..K-1")
    return index, count


def replay(seed: int, sim: str, workdir: Path, sabotage: str | None = None) -> dict:
    """Run scenario ``seed`` in this process; its result as a dict (with its spec). The
    drivers' timeline goes to ``workdir/timeline.txt`` (kept with a failing scenario)."""
    spec = draw_scenario(seed, sim)
    spec["sabotage"] = sabotage
    result = run_sim_job(ScenarioJob(seed=seed, spec=spec), sim, workdir,
                         timeline=Path(workdir) / "timeline.txt")
    return {"seed": seed, "spec": spec, "violations": result.violations,
            "faults": result.faults, "unaccounted_frames": result.unaccounted_frames,
            "frames_in": result.frames_in, "frames_out": result.frames_out,
            "glitches": result.glitches, "hardware_xruns": result.hardware_xruns,
            "bus_errors": result.bus_errors, "cancelled_frames": result.cancelled_frames,
            "sim_time_ns": result.sim_time_ns, "wall_s": result.wall_s}


def repro_command(seed: int, sim: str, sabotage: str | None) -> str:
    return (f"pcsim campaign --replay {seed} --sim {sim}"
            + (f" --sabotage {sabotage}" if sabotage else ""))


def _run_one(index, seed, sim, folder: Path, sabotage):
    """One scenario in its own process, with a wall-time bound."""
    spec = draw_scenario(seed, sim)
    limit = WALL_FACTOR * estimate_wall_s(sim, spec["bound_us"] / 1e6) + WALL_SLACK_S
    result_file = folder / "scenario.json"
    command = [sys.executable, "-m", "pcsim", "campaign", "--replay", str(seed), "--sim", sim,
               "--keep", str(folder), "--report", str(result_file), "-q"]
    if sabotage:
        command += ["--sabotage", sabotage]
    t0 = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"index": index, "seed": seed, "hang": True,
                "violations": [f"hang: no result after {limit:.0f} s of wall time"],
                "faults": {}, "unaccounted_frames": 0, "wall_s": time.monotonic() - t0}
    if result_file.exists():
        outcome = json.loads(result_file.read_text())
    else:
        outcome = {"violations": [f"the scenario process failed ({proc.returncode}): "
                                  f"{stderr.strip()[-300:]}"], "faults": {},
                   "unaccounted_frames": 0}
    outcome.update(index=index, seed=seed, wall_s=time.monotonic() - t0,
                   hang=any(v.startswith("hang") for v in outcome["violations"]))
    return outcome


def run_campaign(scenarios: int, seed: int, *, sim="verilator", shard=(0, 1), jobs=None,
                 sabotage=None, keep_dir=None, on_done=None) -> dict:
    """Run the campaign's shard; return the report dict."""
    index, count = shard
    indices = [i for i in range(scenarios) if i % count == index]
    jobs = jobs or max(1, len(os.sched_getaffinity(0)))
    keep_root = Path(keep_dir) if keep_dir else Path(tempfile.mkdtemp(prefix="pcsim-campaign-"))
    keep_root.mkdir(parents=True, exist_ok=True)
    # build the model first, so no scenario's wall-time bound pays for it
    build(soc_design(), sim)
    outcomes, t0 = [], time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pcsim-campaign-run-") as tmp:
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            futures = []
            for i in indices:
                folder = Path(tmp) / f"scenario-{i}"
                folder.mkdir()
                futures.append(pool.submit(_run_one, i, scenario_seed(seed, i), sim, folder,
                                           sabotage))
            for future in concurrent.futures.as_completed(futures):
                outcome = future.result()
                if outcome["violations"]:
                    kept = keep_root / f"scenario-{outcome['index']}-{outcome['seed']}"
                    shutil.move(str(Path(tmp) / f"scenario-{outcome['index']}"), kept)
                    outcome["kept"] = str(kept)
                outcomes.append(outcome)
                if on_done:
                    on_done(len(outcomes), len(indices))
    wall = time.monotonic() - t0
    report = _report(outcomes, sim, sabotage)
    report.update(seed=seed, shard=f"{index}/{count}", campaign_scenarios=scenarios,
                  jobs=jobs, wall_s=round(wall, 1),
                  scenarios_per_hour=round(len(indices) / wall * 3600, 1) if wall else 0.0)
    if not report["failures"]:
        shutil.rmtree(keep_root, ignore_errors=True)
    return report


def _report(outcomes, sim, sabotage):
    failures = sorted(({"index": o["index"], "seed": o["seed"],
                        "repro": repro_command(o["seed"], sim, sabotage),
                        "violations": o["violations"], "kept": o.get("kept")}
                       for o in outcomes if o["violations"]), key=lambda f: f["index"])
    faults = {}
    for o in outcomes:
        for kind, n in o.get("faults", {}).items():
            faults[kind] = faults.get(kind, 0) + n
    return {"sim": sim, "scenarios": len(outcomes),
            "passed": sum(1 for o in outcomes if not o["violations"]),
            "failures": failures, "hangs": sum(1 for o in outcomes if o.get("hang")),
            "unaccounted_frames": sum(o.get("unaccounted_frames", 0) for o in outcomes),
            "faults_injected": dict(sorted(faults.items()))}


def merge_reports(paths) -> dict:
    """One report from the shard reports at ``paths``."""
    reports = []
    for path in paths:
        check_input(path, "campaign report")
        try:
            reports.append(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: not a campaign report ({exc})") from None
    merged = {"sim": reports[0]["sim"], "seed": reports[0]["seed"],
              "shards": [r["shard"] for r in reports],
              "scenarios": sum(r["scenarios"] for r in reports),
              "passed": sum(r["passed"] for r in reports),
              "failures": sorted((f for r in reports for f in r["failures"]),
                                 key=lambda f: f["index"]),
              "hangs": sum(r["hangs"] for r in reports),
              "unaccounted_frames": sum(r["unaccounted_frames"] for r in reports),
              "faults_injected": {}}
    for r in reports:
        for kind, n in r["faults_injected"].items():
            merged["faults_injected"][kind] = merged["faults_injected"].get(kind, 0) + n
    return merged


def summary_table(report) -> str:
    rows = [("scenarios", report["scenarios"]), ("passed", report["passed"]),
            ("failed", len(report["failures"])), ("hangs", report["hangs"]),
            ("unaccounted frames", report["unaccounted_frames"])]
    rows += [(f"faults: {k}", v) for k, v in report["faults_injected"].items()]
    if "scenarios_per_hour" in report:
        rows.append(("scenarios per hour", report["scenarios_per_hour"]))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    lines += [f"FAILED #{f['index']}: {'; '.join(f['violations'])}\n  repro: {f['repro']}"
              + (f"\n  kept: {f['kept']}" if f.get("kept") else "") for f in report["failures"]]
    return "\n".join(lines) + "\n"


def write_report(path, report):
    atomic_write_text(path, json.dumps(report, indent=2) + "\n")


def check_report_path(path, inputs=()):
    return check_outputs({"report file": path},
                         inputs={f"input {i}": p for i, p in enumerate(inputs)})
