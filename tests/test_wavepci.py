"""pytest entry for the WavePci cosim tests (tests/wavepci_tests.py) on both simulators."""

import pytest

from harness.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "render_odd_packets_bit_exact",
    "starvation_then_resume",
    "cancel_packet_in_flight",
    "stop_mid_stream_and_restart",
    "ring_wraps_many_times",
    "capture_bit_exact",
    "two_render_pins_mix",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_wavepci(sim, testcase):
    run(build(soc_design(), sim), "wavepci_tests", testcase=testcase)
