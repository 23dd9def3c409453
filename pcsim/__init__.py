"""The ``pcsim`` application: everything that runs in the ``pcsim`` process around the
simulator (command line, input files, output safety, progress, reports). It starts simulations
through :mod:`harness` and never imports :mod:`cosim`, which runs inside the simulator; see
docs/architecture.md."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pcsim")
except PackageNotFoundError:        # run from a source tree without installing
    __version__ = "0+unknown"
