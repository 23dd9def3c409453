"""Components whose parameters are checked before the object exists."""

from amaranth.lib import wiring

__all__ = ["CheckedComponent"]


class CheckedComponent(wiring.Component):
    """A :class:`amaranth.lib.wiring.Component` that checks its constructor's arguments with
    :meth:`check_parameters` before it is created.

    Amaranth warns about every elaboratable that is created and never elaborated
    (``UnusedElaboratable``). A component whose ``__init__`` refuses its parameters is such an
    object, so the warning would follow the error. Checking in ``__new__`` refuses them before
    the object exists: the caller sees only the ValueError."""

    def __new__(cls, *args, src_loc_at=0, **kwargs):
        cls.check_parameters(*args, **kwargs)
        return super().__new__(cls, *args, src_loc_at=src_loc_at + 1, **kwargs)

    @classmethod
    def check_parameters(cls, *args, **kwargs):
        """Raise ValueError if the component cannot be built with these arguments (the same
        as the constructor's). By default every argument is accepted."""
