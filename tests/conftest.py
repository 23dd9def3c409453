"""Test-suite settings:

- a failed cosim test is run again with waves (harness.build.run), so its folder keeps the
  timeline, the waveform and a GTKWave save file (named in the failure);
- the slowest test files (a bitstream build, the board and campaign simulations) start first,
  so pytest-xdist runs them beside the many short ones instead of last, alone."""

import os

from harness.build import WAVES_ON_FAILURE_ENV

os.environ.setdefault(WAVES_ON_FAILURE_ENV, "1")

#: test files whose tests take minutes on their own (cold caches, as in CI)
SLOW_FIRST = ("test_fpga.py", "test_board_sim.py", "test_campaign.py", "test_wav.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)
    items.sort(key=rank)       # stable: the order within each file is kept
