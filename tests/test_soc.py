"""pytest entry for the audio_soc cosim tests (tests/soc_tests.py) on both simulators."""

import pytest

from harness.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "registers_and_reset",
    "render_16bit_stereo_ioc",
    "render_unaligned_24bit_mono",
    "render_16bit_mono_page_crossing",
    "stop_waits_for_inflight_burst",
    "capture_16bit_stereo",
    "capture_24bit_mono",
    "queue_mode_lvi_moves",
    "underrun_reports_and_recovers",
    "overrun_reports_and_recovers",
    "bus_error_on_descriptor",
    "bus_error_on_data",
    "unplayable_format_sets_dese",
    "two_streams_mix_in_codec",
    "backpressure_render_and_capture",
    "reference_axi_models",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_soc(sim, testcase):
    result = build(soc_design(), sim)
    run(result, "soc_tests", testcase=testcase)
