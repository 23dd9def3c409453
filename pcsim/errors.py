"""Exit statuses of ``pcsim`` and the errors that map to them (docs/cli.md)."""

__all__ = ["EXIT_OK", "EXIT_CHECK_FAILED", "EXIT_USAGE", "EXIT_SIMULATION", "EXIT_INTERRUPTED",
           "EXIT_CODES", "UsageError", "SimulationError"]

EXIT_OK = 0
#: the run finished but its check failed (output not bit-exact, MIDI not intact)
EXIT_CHECK_FAILED = 1
#: bad arguments or input, refused before anything was simulated or written
EXIT_USAGE = 2
#: the simulation failed (a simulator crash or a failed assertion in the driver stack)
EXIT_SIMULATION = 3
#: interrupted (Ctrl-C or SIGTERM); temporary files removed, no output written
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_CHECK_FAILED: "the run's check failed (output not bit-exact, MIDI not intact)",
    EXIT_USAGE: "usage or input error (nothing simulated, nothing written)",
    EXIT_SIMULATION: "simulation failed",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGTERM)",
}


class UsageError(ValueError):
    """A user error: bad arguments, an unreadable input, an output that cannot be written.
    Printed as one line; exit status 2."""


class SimulationError(RuntimeError):
    """The simulation itself failed. Printed as one line; exit status 3."""
