"""NTSTATUS-style status values.

Ports and miniports return these as plain values, never raise them: a PortCls miniport answers
``STATUS_NOT_IMPLEMENTED`` to mean "port, do it yourself", and ``STATUS_BUFFER_OVERFLOW`` to
answer a size query, so a status is data the caller inspects. Only the client API turns a
failed status into an exception (:class:`StatusError`).

The numbers are the real NTSTATUS codes, so logs and traces read like a Windows driver's. An
NTSTATUS is 32 bits whose top two bits are the severity: 0 success, 1 informational, 2 warning,
3 error.
"""

from enum import IntEnum

__all__ = [
    "NTSTATUS",
    "StatusError",
    "check_status",
    "nt_error",
    "nt_information",
    "nt_success",
    "nt_warning",
    "severity",
    "status_name",
]

_MASK32 = 0xFFFFFFFF


class NTSTATUS(IntEnum):
    """The NTSTATUS codes the port and miniport layers use, with their ntstatus.h values."""

    SUCCESS = 0x00000000
    PENDING = 0x00000103
    BUFFER_OVERFLOW = 0x80000005  # warning: the data did not fit; also the size-query answer
    UNSUCCESSFUL = 0xC0000001
    NOT_IMPLEMENTED = 0xC0000002
    INVALID_PARAMETER = 0xC000000D
    INVALID_DEVICE_REQUEST = 0xC0000010
    NO_MEMORY = 0xC0000017
    BUFFER_TOO_SMALL = 0xC0000023
    OBJECT_NAME_COLLISION = 0xC0000035
    INSUFFICIENT_RESOURCES = 0xC000009A
    DEVICE_DATA_ERROR = 0xC000009C
    DATA_LATE_ERROR = 0xC000009E
    DEVICE_NOT_READY = 0xC00000A3
    NOT_SUPPORTED = 0xC00000BB
    CANCELLED = 0xC0000120
    DEVICE_CONFIGURATION_ERROR = 0xC0000182
    INVALID_DEVICE_STATE = 0xC0000184
    INVALID_BUFFER_SIZE = 0xC0000206
    NOT_FOUND = 0xC0000225
    NO_MATCH = 0xC0000272


def _code(status) -> int:
    """The unsigned 32-bit code of ``status``; accepts C's signed view (e.g. -1073741823)."""
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(f"status must be an int NTSTATUS, got {status!r}")
    if not -0x80000000 <= status <= _MASK32:
        raise ValueError(f"status {status:#x} does not fit in 32 bits")
    return status & _MASK32


def severity(status) -> int:
    """The severity field (0 success, 1 informational, 2 warning, 3 error)."""
    return _code(status) >> 30


def nt_success(status) -> bool:
    """True for success and informational codes, like NT_SUCCESS (signed value >= 0).

    PENDING counts as success; BUFFER_OVERFLOW, a warning, does not.
    """
    return severity(status) <= 1


def nt_information(status) -> bool:
    """True for informational codes (severity 1), like NT_INFORMATION."""
    return severity(status) == 1


def nt_warning(status) -> bool:
    """True for warning codes (severity 2) such as BUFFER_OVERFLOW, like NT_WARNING."""
    return severity(status) == 2


def nt_error(status) -> bool:
    """True for error codes (severity 3), like NT_ERROR."""
    return severity(status) == 3


def status_name(status) -> str:
    """``STATUS_NAME (0xXXXXXXXX)`` for known codes, the bare hex code otherwise."""
    code = _code(status)
    try:
        return f"STATUS_{NTSTATUS(code).name} ({code:#010x})"
    except ValueError:
        return f"NTSTATUS {code:#010x}"


class StatusError(Exception):
    """A failed status turned into an exception at the client-API edge.

    Ports and miniports never raise this; they return the status. ``status`` is an
    :class:`NTSTATUS` when the code is known, else the unsigned int code.
    """

    def __init__(self, status, message: str = "operation failed"):
        code = _code(status)
        try:
            self.status = NTSTATUS(code)
        except ValueError:
            self.status = code
        self.message = message
        super().__init__(f"{message}: {status_name(code)}")


def check_status(status, message: str = "operation failed"):
    """Return ``status`` if it is a success (``nt_success``), else raise :class:`StatusError`.

    Warnings such as BUFFER_OVERFLOW raise too: a client that wanted the whole result did not
    get it.
    """
    if nt_success(status):
        return status
    raise StatusError(status, message)
