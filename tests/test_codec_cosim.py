"""pytest entry for the codec cosim tests (tests/codec_tests.py) on both simulators."""

import pytest

from harness.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "gain_steps_render",
    "mute_gives_exact_zeros",
    "adc_mux_selects_input_amp",
    "peak_meter_after_playback",
    "jack_sense_unsolicited_interrupt",
    "graph_walk_through_controller",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_codec_cosim(sim, testcase):
    result = build(soc_design(), sim)
    run(result, "codec_tests", testcase=testcase)
