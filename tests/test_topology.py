"""pytest entry for the Topology and power cosim tests (tests/topology_tests.py)."""

import pytest

from harness.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "graph_from_the_codec",
    "volume_rounds_to_steps_and_raises_events",
    "volume_steps_across_the_range",
    "mux_selects_the_capture_source",
    "peak_meter_tracks_the_signal",
    "jack_events_reach_the_client",
    "power_cycle_wavert",
    "power_cycle_wavecyclic",
    "power_cycle_wavepci",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_topology(sim, testcase):
    run(build(soc_design(), sim), "topology_tests", testcase=testcase)
