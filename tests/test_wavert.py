"""pytest entry for the WaveRT cosim tests (tests/wavert_tests.py) on both simulators."""

import pytest

from harness.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "render_bit_exact",
    "render_24bit_mono_pause_resume",
    "capture_bit_exact",
    "positions_and_registers",
    "notifications_at_buffer_points",
    "state_transitions",
    "pins_and_formats",
    "dpc_latency_spike_glitches_and_recovers",
    "packet_mode_play_and_record",
    "packet_mode_latency_against_cyclic",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_wavert(sim, testcase):
    run(build(soc_design(), sim), "wavert_tests", testcase=testcase)
