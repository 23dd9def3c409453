"""``python -m pcsim``: the same as the ``pcsim`` command."""

import sys

from .cli import main

sys.exit(main())
