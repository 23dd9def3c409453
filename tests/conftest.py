"""Suite-wide pytest settings: the slowest single tests (a bitstream build, the board and
campaign simulations) start first, so pytest-xdist runs them beside the many short ones
instead of last, alone."""

#: test files whose tests take minutes on their own (cold caches, as in CI)
SLOW_FIRST = ("test_fpga.py", "test_board_sim.py", "test_campaign.py", "test_wav.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)
    items.sort(key=rank)       # stable: the order within each file is kept
