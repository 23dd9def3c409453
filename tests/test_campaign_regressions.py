"""Failures the fault campaign found, each kept as the scenario that showed it (cut down to a
few milliseconds of audio so that it runs on both simulators). A spec is written out here
rather than named by its seed: the seeds' draws change whenever the campaign learns a new
fault kind."""

import pytest

from harness.job import ScenarioJob
from harness.runner import run_sim_job
from pcsim.campaign import NO_BACKPRESSURE, scenario_spec

SIMS = ("verilator", "icarus")

#: Found as --replay 777 and --replay 593002131695749595 (seed 1, 400 scenarios): D0 -> D3 -> D0
#: in the middle of a WaveRT render whose buffer is shorter than four hardware FIFOs. The port
#: had overwritten what sat in the FIFO with the next lap's audio, so the restarted engine
#: fetched that instead: about a FIFO of client frames never reached the DAC, unreported.
POWER_CYCLE_SMALL_BUFFER = scenario_spec(
    miniport="wavert", direction="render", channels=1, bits=16, rate=16000, frames=112,
    buffer_ms=5, events=[[3000, "power_cycle", 300]])

#: Found as --replay 7334522518408912553: a WaveRT capture whose DPC ran late just as the
#: DMA finished a lap. The stored position was taken to be at least the link position, so
#: the port read four frames the DMA had not stored yet (the previous lap's), then went on
#: past the real ones: four stale frames and a lap skipped, with no overrun reported.
CAPTURE_LATE_DPC_AT_WRAP = scenario_spec(
    miniport="wavert", direction="capture", channels=1, bits=24, rate=16000, frames=240,
    buffer_ms=5, events=[[4690, "dpc_spike", 300, 431]])


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("spec", [POWER_CYCLE_SMALL_BUFFER, CAPTURE_LATE_DPC_AT_WRAP],
                         ids=["power_cycle_small_buffer", "capture_late_dpc_at_wrap"])
def test_found_by_the_campaign(spec, sim, tmp_path):
    result = run_sim_job(ScenarioJob(seed=0, spec=spec), sim, tmp_path)
    assert result.violations == [], result.violations
    assert result.frames_out == result.frames_in == spec["frames"]
    assert result.unaccounted_frames == 0
    assert sum(result.faults.values()) >= 1
