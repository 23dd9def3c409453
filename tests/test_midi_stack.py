"""pytest entry for the MIDI and DMus cosim tests through the whole driver stack
(tests/midi_stack_tests.py) on both simulators."""

import pytest

from harness.build import build, run, soc_design

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "midi_render_byte_exact",
    "midi_capture_byte_exact",
    "midi_write_on_capture_is_invalid_device_request",
    "midi_run_before_uart_init_and_power_cycle",
    "midi_stop_flushes_input",
    "midi_state_transitions",
    "dmus_render_hardware_queue_on_time",
    "dmus_render_software_path_late_under_spike",
    "dmus_render_queue_full_and_late_fall_back",
    "dmus_capture_timestamps_and_messages",
    "dmus_states_stop_and_power",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_midi_stack(sim, testcase):
    run(build(soc_design(), sim), "midi_stack_tests", testcase=testcase)
