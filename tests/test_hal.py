"""pytest entry for tests/hal_tests.py on both simulators."""

import pytest

from harness.build import build, run, soc_design


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
@pytest.mark.parametrize("testcase", ["isr_dpc_split", "synchronized_routine_excludes_isr",
                                      "isr_while_powered_off"])
def test_hal(sim, testcase):
    run(build(soc_design(), sim), "hal_tests", testcase=testcase)
