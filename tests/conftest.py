"""Test-suite settings: a failed cosim test is run again with waves (harness.build.run), so
its folder keeps the timeline, the waveform and a GTKWave save file (named in the failure)."""

import os

from harness.build import WAVES_ON_FAILURE_ENV

os.environ.setdefault(WAVES_ON_FAILURE_ENV, "1")
