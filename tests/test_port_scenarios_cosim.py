"""pytest entry for the port scenarios against our miniports (tests/port_scenarios_tests.py)
on both simulators."""

import pytest

from harness.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = ["scenarios_wavert", "scenarios_wavecyclic", "scenarios_wavepci"]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_port_scenarios(sim, testcase):
    run(build(soc_design(), sim), "port_scenarios_tests", testcase=testcase)
