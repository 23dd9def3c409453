"""The device's interrupt line (level, active high) seen from the host.

No Python runs per clock cycle while the line is idle: waiters and the dispatcher sleep on one
shared ``RisingEdge`` trigger of the signal.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import cocotb
from cocotb.triggers import RisingEdge, with_timeout

__all__ = ["InterruptLine"]


class InterruptLine:
    """Wraps the ``irq`` signal.

    - ``await line.wait()`` returns at once if the line is high, else on its next rising edge.
    - ``line.add_handler(fn)`` registers a handler run on every rising edge by one background
      task (started by the first registration, or by :meth:`start`). ``fn()`` may be a plain
      function or return an awaitable (an ``async def``), which is awaited before the next
      handler runs. Handlers run in registration order. While handlers take simulated time the
      dispatcher is not watching the line, so a handler that must not delay later interrupts
      should start its long work as a separate task (as a DPC would be queued).
    """

    def __init__(self, signal):
        self.signal = signal
        self._edge = RisingEdge(signal)   # the one trigger every waiter sleeps on
        self._handlers: list[Callable[[], Any]] = []
        self._task = None
        #: rising edges seen by the dispatcher since it started
        self.edges = 0

    def is_asserted(self) -> bool:
        """True if the line is high now (an X/Z line reads as not asserted)."""
        v = self.signal.value
        try:
            return int(v) == 1
        except ValueError:
            return False

    async def wait(self, timeout_ns: float | None = None) -> None:
        """Return when the line is (or becomes) high; ``TimeoutError`` after ``timeout_ns``."""
        if self.is_asserted():
            return
        if timeout_ns is None:
            await self._edge
        else:
            await with_timeout(self._edge, int(math.ceil(timeout_ns)), "ns")

    async def wait_edge(self) -> None:
        """Return on the next rising edge, even if the line is high now."""
        await self._edge

    # ---- handlers ---------------------------------------------------------------------------

    def add_handler(self, handler: Callable[[], Any], *, start: bool = True) -> Callable:
        """Run ``handler()`` on every rising edge; returns ``handler`` (for remove_handler)."""
        if not callable(handler):
            raise TypeError("interrupt handler must be callable")
        self._handlers.append(handler)
        if start:
            self.start()
        return handler

    def remove_handler(self, handler: Callable) -> None:
        self._handlers.remove(handler)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the dispatcher task (idempotent)."""
        if not self.running:
            self._task = cocotb.start_soon(self._dispatch())

    def stop(self) -> None:
        """Stop the dispatcher task; handlers stay registered for a later :meth:`start`."""
        if self.running:
            self._task.cancel()
        self._task = None

    async def _dispatch(self) -> None:
        while True:
            await self._edge
            self.edges += 1
            for handler in list(self._handlers):
                result = handler()
                if inspect.isawaitable(result):
                    await result
