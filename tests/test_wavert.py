"""pytest entry for the WaveRT cosim tests (tests/wavert_tests.py) on both simulators."""

import pytest

from cosim.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "render_bit_exact",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_wavert(sim, testcase):
    run(build(soc_design(), sim), "wavert_tests", testcase=testcase)
