"""pytest entry for the WaveCyclic cosim tests (tests/wavecyclic_tests.py) on both simulators."""

import pytest

from harness.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "render_bit_exact",
    "capture_bit_exact",
    "position_wraps_pause_and_stop",
    "starvation_plays_silence_and_continues",
    "notification_every_interval",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_wavecyclic(sim, testcase):
    run(build(soc_design(), sim), "wavecyclic_tests", testcase=testcase)
