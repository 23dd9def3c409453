"""Kernel-streaming stream states and the single steps between them.

A client may ask a pin to jump from any state to any other (STOP straight to RUN, say), but a
PortCls port hands the miniport one neighbouring state at a time: STOP -> ACQUIRE -> PAUSE ->
RUN and back the same way. Miniports rely on it (ACQUIRE is where they claim DMA resources,
PAUSE where they prime the buffer), so passing the jump straight through, as ReactOS does,
skips work the miniport must do.
"""

import inspect
from enum import IntEnum

from .status import NTSTATUS, nt_success

__all__ = ["KSSTATE", "StreamState", "state_steps"]


class KSSTATE(IntEnum):
    """KSSTATE with the kernel-streaming numbering; the order is the walking order."""

    STOP = 0
    ACQUIRE = 1
    PAUSE = 2
    RUN = 3


def _state(value, what: str) -> KSSTATE:
    try:
        return KSSTATE(value)
    except (ValueError, TypeError):
        raise ValueError(f"{what} {value!r} is not a KSSTATE (0..3)") from None


def state_steps(current, target) -> list[KSSTATE]:
    """The states, in order, a port passes to the miniport to go from ``current`` to ``target``.

    Excludes ``current``, ends with ``target``; empty when they are equal. E.g. STOP -> RUN is
    [ACQUIRE, PAUSE, RUN] and RUN -> STOP is [PAUSE, ACQUIRE, STOP].
    """
    cur = _state(current, "current state")
    tgt = _state(target, "target state")
    # The numbering is the walking order, so a step is +1 or -1 (an empty range if equal).
    step = 1 if tgt > cur else -1
    return [KSSTATE(s) for s in range(cur + step, tgt + step, step)]


class StreamState:
    """A stream's current KSSTATE, moved one step at a time through a miniport callback.

    The callback receives each step's new state and returns a status (the miniport's
    SetState answer). The walk stops at the first failed status; the state is then the last
    step that succeeded, so the port and the miniport still agree. New streams start in STOP,
    as PortCls's NewStream leaves them.
    """

    def __init__(self, initial=KSSTATE.STOP):
        self._state = _state(initial, "initial state")

    @property
    def state(self) -> KSSTATE:
        return self._state

    def __repr__(self):
        return f"StreamState({self._state.name})"

    def set_state(self, target, set_one) -> int:
        """Walk to ``target`` calling ``set_one(step) -> status`` for each step.

        Returns SUCCESS, or the first failing status (the state stays at the last success).
        """
        for step in state_steps(self._state, target):
            status = set_one(step)
            if not nt_success(status):
                return status
            self._state = step
        return NTSTATUS.SUCCESS

    async def set_state_async(self, target, set_one) -> int:
        """:meth:`set_state` for a coroutine miniport: ``set_one`` may return an awaitable."""
        for step in state_steps(self._state, target):
            status = set_one(step)
            if inspect.isawaitable(status):
                status = await status
            if not nt_success(status):
                return status
            self._state = step
        return NTSTATUS.SUCCESS

    async def walk(self, target, set_one) -> int:
        """A client's state request: INVALID_PARAMETER if ``target`` is not a KSSTATE, else
        :meth:`set_state_async`."""
        try:
            target = KSSTATE(target)
        except (ValueError, TypeError):
            return NTSTATUS.INVALID_PARAMETER
        return await self.set_state_async(target, set_one)
