"""Interrupt sync objects: the IInterruptSync analogue (PcNewInterruptSync).

An :class:`InterruptSync` owns a device's interrupt line for the miniports. When the line
asserts it runs the registered ISRs ("service routines") in list order under one of three
modes, and :meth:`InterruptSync.call_synchronized_routine` runs a routine that never overlaps
an ISR, the way KeSynchronizeExecution holds the interrupt spin lock.

Routines: an ISR and a synchronized routine have the same shape as PortCls's
INTERRUPTSYNCROUTINE, ``routine(interrupt_sync, context) -> status``. A routine is a plain
function or a coroutine function: on the simulated machine a register read is a bus cycle, so
an ISR that reads its status register must await. An ISR *claims* the interrupt by returning
exactly ``STATUS_SUCCESS``; any other value (including ``None``) means "not mine".

Serialisation: ISR dispatch and synchronized routines take the same lock (the stand-in for the
interrupt spin lock), a FIFO built on :class:`~portdrv.hal.HalEvent`. An interrupt that asserts
while a synchronized routine runs is latched and its ISRs run only after the routine returns;
a synchronized routine called while ISRs run waits for the whole dispatch to end. Assertions
that arrive while a dispatch is latched but not yet started merge into it (as a level-triggered
line would); an assertion during a dispatch starts another one afterwards. As in Windows,
calling :meth:`~InterruptSync.call_synchronized_routine` from inside an ISR or a synchronized
routine of the same object deadlocks.

ISR latency: :attr:`InterruptSync.isr_latency_100ns` delays dispatch after the assertion by
that many 100-ns units (read at the assertion), to reproduce a slow interrupt path. It can be
changed at any time.
"""

import inspect
from collections import deque
from enum import IntEnum

from .status import NTSTATUS

__all__ = ["InterruptSync", "InterruptSyncMode"]


class InterruptSyncMode(IntEnum):
    """INTERRUPTSYNCMODE, with the PortCls numbering."""

    NORMAL = 0  # call ISRs in order until one claims the interrupt
    ALL = 1     # call every ISR, whatever they return
    REPEAT = 2  # pass over the ISRs again and again until a pass where none claims


async def _call(routine, *args):
    result = routine(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


class _FifoLock:
    """A non-reentrant lock that hands ownership to waiters in arrival order."""

    def __init__(self, scheduler):
        self._scheduler = scheduler
        self._held = False
        self._waiters = deque()

    @property
    def held(self) -> bool:
        return self._held

    async def acquire(self):
        if not self._held:
            self._held = True
            return
        event = self._scheduler.new_event()
        self._waiters.append(event)
        await event.wait()  # ownership was handed to us by release()

    def release(self):
        if self._waiters:
            self._waiters.popleft().set()
        else:
            self._held = False


class InterruptSync:
    """One interrupt sync object: a list of ISRs, a mode, and a connection to a line.

    ``scheduler`` is a :class:`~portdrv.hal.Scheduler`; dispatches run as coroutines it spawns.
    """

    def __init__(self, scheduler, mode=InterruptSyncMode.NORMAL, *, isr_latency_100ns=0):
        try:
            self.mode = InterruptSyncMode(mode)
        except ValueError:
            raise ValueError(f"mode {mode!r} is not an InterruptSyncMode (0..2)") from None
        self._scheduler = scheduler
        self._lock = _FifoLock(scheduler)
        self._isrs = []  # (routine, context)
        self._source = None
        self._connection = 0  # bumped on each connect/disconnect; stale dispatches drop out
        self._latched = False
        self.isr_latency_100ns = isr_latency_100ns
        self.interrupts = 0           # dispatches run
        self.spurious_interrupts = 0  # dispatches in which no ISR claimed

    @property
    def isr_latency_100ns(self) -> int:
        return self._isr_latency

    @isr_latency_100ns.setter
    def isr_latency_100ns(self, value):
        value = int(value)
        if value < 0:
            raise ValueError("ISR latency must be >= 0")
        self._isr_latency = value

    @property
    def connected(self) -> bool:
        return self._source is not None

    def register_service_routine(self, isr, context=None, first=False) -> int:
        """Add ``isr(interrupt_sync, context)`` at the tail (or the head with ``first``).

        Returns SUCCESS. Allowed while connected; a dispatch already running uses the list as
        it was when its pass began.
        """
        if not callable(isr):
            return NTSTATUS.INVALID_PARAMETER
        entry = (isr, context)
        if first:
            self._isrs.insert(0, entry)
        else:
            self._isrs.append(entry)
        return NTSTATUS.SUCCESS

    def connect(self, source) -> int:
        """Connect to ``source`` (an :class:`~portdrv.hal.InterruptSource`).

        Returns SUCCESS; STATUS_UNSUCCESSFUL if already connected (the existing connection is
        kept); or the source's own failure status.
        """
        if self._source is not None:
            return NTSTATUS.UNSUCCESSFUL
        status = source.connect(self._on_interrupt)
        if status != NTSTATUS.SUCCESS:
            return status
        self._source = source
        self._connection += 1
        return NTSTATUS.SUCCESS

    def disconnect(self) -> int:
        """Disconnect from the line; latched, not yet started dispatches are dropped.

        PortCls's Disconnect returns nothing; here it returns SUCCESS, or
        STATUS_INVALID_DEVICE_REQUEST when not connected, so a driver that disconnects twice
        shows up in tests.
        """
        if self._source is None:
            return NTSTATUS.INVALID_DEVICE_REQUEST
        self._source.disconnect(self._on_interrupt)
        self._source = None
        self._connection += 1
        self._latched = False
        return NTSTATUS.SUCCESS

    async def call_synchronized_routine(self, routine, context=None):
        """Run ``routine(interrupt_sync, context)`` with the ISRs held off; return its status.

        Works whether or not the object is connected. Waits for a running dispatch to finish.
        """
        await self._lock.acquire()
        try:
            return await _call(routine, self, context)
        finally:
            self._lock.release()

    # ------------------------------------------------------------ dispatch

    def _on_interrupt(self):
        """The handler given to the source: latch the assertion and schedule one dispatch."""
        if self._latched:
            return
        self._latched = True
        self._scheduler.spawn(self._dispatch(self._connection, self._isr_latency))

    async def _dispatch(self, connection, latency):
        if latency:
            await self._scheduler.sleep_100ns(latency)
        await self._lock.acquire()
        try:
            if connection != self._connection:
                return  # disconnected (and maybe reconnected) since the assertion
            self._latched = False
            self.interrupts += 1
            tracer = self._scheduler.tracer
            if tracer.enabled:
                tracer.event("port", "ISR_ENTER", f"interrupt {self.interrupts}")
            claimed = await self._run_isrs()
            if not claimed:
                self.spurious_interrupts += 1
            tracer.event("port", "ISR_EXIT", "claimed" if claimed else "not claimed (spurious)")
        finally:
            self._lock.release()

    async def _run_isrs(self) -> bool:
        """One dispatch under the current mode; True if any ISR claimed."""
        claimed_any = False
        while True:
            claimed_this_pass = False
            for isr, context in list(self._isrs):
                claimed = await _call(isr, self, context) == NTSTATUS.SUCCESS
                claimed_this_pass |= claimed
                if claimed and self.mode == InterruptSyncMode.NORMAL:
                    return True
            claimed_any |= claimed_this_pass
            if self.mode != InterruptSyncMode.REPEAT or not claimed_this_pass:
                return claimed_any
