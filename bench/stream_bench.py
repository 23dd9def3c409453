"""``python -m bench.stream_bench``: the same as ``pcsim bench`` (see :mod:`pcsim.bench`)."""

import sys

from pcsim.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
