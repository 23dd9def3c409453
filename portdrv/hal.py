"""The kernel services portdrv needs, as small interfaces (docs/driver-contract.md, "HAL interfaces").

portdrv knows neither the simulator nor real hardware: it is handed objects implementing these
interfaces. ``cosim`` implements them on the simulated machine (cocotb triggers, simulation time);
the pure-Python :class:`SimpleScheduler` and :class:`SoftInterruptLine` here implement them on
plain ``asyncio`` with a virtual clock, for unit tests that need no simulator.

Time is always an ``int`` count of 100-ns units, the KeQueryPerformanceCounter-like timebase of
the whole stack. Drivers are coroutines; the only things they await from the HAL are
:meth:`Clock.sleep_100ns` and :meth:`HalEvent.wait`, so the same driver code runs under any
scheduler that implements these interfaces.
"""

import asyncio
import heapq
import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from .status import NTSTATUS

__all__ = [
    "BusError",
    "Clock",
    "DevicePower",
    "HalEvent",
    "InterruptSource",
    "PhysicalMemory",
    "RegisterAccess",
    "ResourceList",
    "Scheduler",
    "SimpleScheduler",
    "TimeBase",
    "WrappedEvent",
    "SoftInterruptLine",
    "SoftPhysicalMemory",
]


class Clock(ABC):
    """The 100-ns timebase."""

    @abstractmethod
    def now_100ns(self) -> int:
        """The current time in 100-ns units; never decreases (KeQueryPerformanceCounter)."""

    @abstractmethod
    async def sleep_100ns(self, n: int) -> None:
        """Suspend the calling coroutine for ``n`` >= 0 units of 100 ns.

        ``n == 0`` only yields: the caller resumes at the same time, after other coroutines
        ready at that time had a chance to run.
        """


class HalEvent(ABC):
    """A notification event (KEVENT, NotificationEvent type): stays set until cleared."""

    @abstractmethod
    def set(self) -> None:
        """Signal the event, releasing every coroutine waiting on it. Callable from plain code."""

    @abstractmethod
    def clear(self) -> None:
        """Reset the event so later :meth:`wait` calls block."""

    @abstractmethod
    def is_set(self) -> bool:
        """True while the event is signalled."""

    @abstractmethod
    async def wait(self) -> None:
        """Return at once if the event is set, else suspend until :meth:`set`."""


class WrappedEvent(HalEvent):
    """A :class:`HalEvent` over any event object with ``set``/``clear``/``is_set`` and an
    awaitable ``wait`` (asyncio's, cocotb's)."""

    def __init__(self, event):
        self._event = event

    def set(self):
        self._event.set()

    def clear(self):
        self._event.clear()

    def is_set(self):
        return self._event.is_set()

    async def wait(self):
        await self._event.wait()


class Scheduler(Clock):
    """Runs driver coroutines: the timebase plus starting coroutines and making events.

    This is what stands in for the kernel's threads, DPC queue and dispatcher objects.
    """

    @abstractmethod
    def spawn(self, coro):
        """Start ``coro`` running concurrently; returns an implementation-defined handle.

        Callable from plain (non-async) code such as an ISR or an interrupt callback. The
        coroutine starts later, not inside this call.
        """

    @abstractmethod
    def new_event(self) -> HalEvent:
        """A new, cleared :class:`HalEvent` bound to this scheduler."""


class InterruptSource(ABC):
    """A device's interrupt line, as the port layer connects to it (IoConnectInterrupt).

    The handler is a plain function taking no arguments, called at "device IRQL" each time the
    line asserts (rising edge). It must not block; work that needs to wait is spawned.
    """

    @abstractmethod
    def connect(self, handler) -> int:
        """Register ``handler``; returns an NTSTATUS (SUCCESS, or why it cannot connect)."""

    @abstractmethod
    def disconnect(self, handler) -> None:
        """Unregister ``handler``; it is not called for assertions after this returns."""


class BusError(IOError):
    """A register or memory access the bus answered with an error (a hardware fault)."""


class RegisterAccess(ABC):
    """The device's register window (READ_REGISTER_ULONG / WRITE_REGISTER_xxx).

    Offsets are byte offsets from the start of the window. Reads fetch an aligned 32-bit
    word; writes send 1, 2 or 4 bytes inside one aligned word, so only those bytes are written
    (HDA drivers rely on byte writes to clear one status register without touching its
    neighbours). A failed access raises :class:`BusError`.
    """

    @abstractmethod
    async def read32(self, offset: int) -> int:
        """The 32-bit word at ``offset`` (a multiple of 4)."""

    @abstractmethod
    async def write(self, offset: int, data: bytes) -> None:
        """Write ``data`` (1, 2 or 4 bytes, not crossing a 32-bit word) at ``offset``."""


class PhysicalMemory(ABC):
    """Physical memory as a driver sees it: page allocation and CPU access by physical address.

    :meth:`allocate_pages` returns pages that need not be contiguous (MmAllocatePagesForMdl);
    :meth:`allocate_contiguous` returns one physically contiguous run
    (MmAllocateContiguousMemory). Both return None when memory is exhausted. Reads and writes
    by the CPU take no bus time.
    """

    page_size = 4096

    @abstractmethod
    def allocate_pages(self, count: int):
        """``count`` page addresses, or None."""

    @abstractmethod
    def allocate_contiguous(self, nbytes: int, align: int = 128):
        """The address of ``nbytes`` contiguous bytes aligned to ``align``, or None."""

    @abstractmethod
    def free(self, address: int) -> None:
        """Free one allocation: a page from :meth:`allocate_pages` or a contiguous run."""

    @abstractmethod
    def read(self, address: int, n: int) -> bytes:
        """``n`` bytes at physical ``address``."""

    @abstractmethod
    def write(self, address: int, data) -> None:
        """Write ``data`` at physical ``address``."""


class DevicePower(ABC):
    """The bus driver's control of the device's power (PCI power management): in D3 the
    device is off and loses its register context; back in D0 it comes out of a reset."""

    @abstractmethod
    async def set_device_state(self, state: int) -> None:
        """Put the device in D-state ``state`` (1 = D0 .. 4 = D3, DEVICE_POWER_STATE)."""


@dataclass
class ResourceList:
    """What the adapter hands a miniport at Init (its CM resource list plus kernel services):
    the register window, the interrupt line, physical memory and the scheduler/clock."""

    registers: RegisterAccess
    interrupt: InterruptSource
    memory: PhysicalMemory
    scheduler: Scheduler
    #: device-specific configuration a bus driver or firmware table would supply (e.g. the
    #: device's clock frequency as ``clock_hz``)
    parameters: dict = field(default_factory=dict)
    #: the device's power control, for adapters that manage power (None: always on)
    power: DevicePower | None = None
    #: where client packets live when the port copies them into a cyclic buffer (WaveRT,
    #: WaveCyclic): memory the device never reads. None: ``memory``. A device with its own
    #: DMA memory (a board behind a serial bridge) keeps client data on the host this way.
    client_memory: PhysicalMemory | None = None


# ---------------------------------------------------------------- pure-Python implementation


class _Event(HalEvent):
    def __init__(self, scheduler):
        self._scheduler = scheduler
        self._set = False
        self._waiters = []  # (future, task)

    def set(self):
        self._set = True
        waiters, self._waiters = self._waiters, []
        for fut, task in waiters:
            self._scheduler._wake(fut, task)

    def clear(self):
        self._set = False

    def is_set(self):
        return self._set

    async def wait(self):
        if self._set:
            return
        fut, task = self._scheduler._park()
        self._waiters.append((fut, task))
        await self._scheduler._await_parked(fut, task)


class TimeBase(ABC):
    """An outside clock a :class:`SimpleScheduler` can follow (e.g. a simulated board whose
    time also moves while the host talks to it): it reads the time and moves it forward."""

    @abstractmethod
    def now_100ns(self) -> int:
        ...

    @abstractmethod
    def advance_to(self, t_100ns: int) -> None:
        """Let time run until ``t_100ns`` (no-op if it is already past)."""


class SimpleScheduler(Scheduler):
    """A :class:`Scheduler` on ``asyncio`` with a virtual 100-ns clock that starts at 0.

    Time advances only when the driving code asks: :meth:`advance` moves the clock forward,
    waking sleepers in deadline order, and :meth:`run` runs a main coroutine, jumping the clock
    to the next deadline whenever every coroutine is waiting. Between deadlines the coroutines
    run until all of them are parked in :meth:`sleep_100ns` or :meth:`HalEvent.wait` (a
    coroutine awaiting anything else is given a bounded number of event-loop turns, then treated
    as blocked). An exception raised by a spawned coroutine is re-raised by
    :meth:`advance`/:meth:`run`, so failures inside ISRs and DPCs are not lost.

    All methods must be used inside one running asyncio loop (e.g. under ``asyncio.run``).
    """

    _SETTLE_TURNS = 1000

    def __init__(self, timebase: TimeBase | None = None):
        #: with a timebase the clock is the timebase's, and jumps move the timebase
        self._timebase = timebase
        self._now = 0
        self._seq = 0
        self._timers = []  # heap of (deadline, seq, future, task)
        self._tasks = set()
        self._parked = set()

    # Clock
    def now_100ns(self) -> int:
        if self._timebase is not None:
            self._now = max(self._now, self._timebase.now_100ns())
        return self._now

    def _move_to(self, t):
        if self._timebase is not None and t > self.now_100ns():
            self._timebase.advance_to(t)
        self._now = max(self.now_100ns(), t)

    async def sleep_100ns(self, n: int) -> None:
        n = int(n)
        if n < 0:
            raise ValueError(f"sleep of {n} x 100 ns: must be >= 0")
        fut, task = self._park()
        self._seq += 1
        heapq.heappush(self._timers, (self.now_100ns() + n, self._seq, fut, task))
        await self._await_parked(fut, task)

    # Scheduler
    def spawn(self, coro):
        if not inspect.iscoroutine(coro):
            raise TypeError(f"spawn needs a coroutine, got {coro!r}")
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        return task

    def new_event(self) -> HalEvent:
        return _Event(self)

    # driving
    async def advance(self, n: int = 0) -> None:
        """Move the clock ``n`` units forward, running everything due up to the new time."""
        n = int(n)
        if n < 0:
            raise ValueError("time cannot go backwards")
        target = self.now_100ns() + n
        while True:
            await self._settle()
            if not self._timers or self._timers[0][0] > target:
                break
            self._fire_next()
        self._move_to(target)

    async def run(self, coro):
        """Run ``coro`` to completion in virtual time and return its result.

        Raises RuntimeError if it waits on something no timer will ever release.
        """
        main = self.spawn(coro)
        while True:
            await self._settle()
            if main.done():
                return main.result()
            if not self._timers:
                raise RuntimeError("deadlock: the main coroutine waits and no timer is pending")
            self._fire_next()

    # internals
    def _park(self):
        fut = asyncio.get_running_loop().create_future()
        task = asyncio.current_task()
        self._parked.add(task)
        return fut, task

    async def _await_parked(self, fut, task):
        try:
            await fut
        finally:
            self._parked.discard(task)

    def _wake(self, fut, task):
        self._parked.discard(task)
        if not fut.done():
            fut.set_result(None)

    def _fire_next(self):
        """Jump to the earliest deadline and wake every sleeper due then."""
        deadline = self._timers[0][0]
        self._move_to(deadline)
        while self._timers and self._timers[0][0] == deadline:
            _, _, fut, task = heapq.heappop(self._timers)
            self._wake(fut, task)

    async def _settle(self):
        for _ in range(self._SETTLE_TURNS):
            self._reap()
            if self._tasks <= self._parked:
                return
            await asyncio.sleep(0)
        self._reap()

    def _reap(self):
        done = {t for t in self._tasks if t.done()}
        self._tasks -= done
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()


class SoftInterruptLine(InterruptSource):
    """An :class:`InterruptSource` driven from Python: :meth:`assert_line` raises the line.

    Several handlers may share the line (a shared interrupt); each assertion calls every
    connected handler in connection order. Connecting the same handler twice is refused with
    STATUS_UNSUCCESSFUL.
    """

    def __init__(self):
        self._handlers = []
        self.assertions = 0

    def connect(self, handler) -> int:
        if handler in self._handlers:
            return NTSTATUS.UNSUCCESSFUL
        self._handlers.append(handler)
        return NTSTATUS.SUCCESS

    def disconnect(self, handler) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    @property
    def connected(self) -> bool:
        return bool(self._handlers)

    def assert_line(self) -> None:
        """One interrupt: call each connected handler (a plain call, like device IRQL)."""
        self.assertions += 1
        for handler in list(self._handlers):
            handler()


class SoftPhysicalMemory(PhysicalMemory):
    """A :class:`PhysicalMemory` in a bytearray, for tests without a simulator.

    Pages are handed out in a scattered order (every other page first) so buffers are not
    physically contiguous; page 0 is never used.
    """

    def __init__(self, size: int = 4 << 20, page_size: int = 4096):
        if size < 4 * page_size:
            raise ValueError(f"memory of {size} bytes is too small")
        self.page_size = page_size
        self.mem = bytearray(size)
        pages = size // page_size
        self._free = [p for p in range(1, pages, 2)] + [p for p in range(2, pages, 2)]
        self._allocs = {}

    def allocate_pages(self, count):
        if count < 0 or count > len(self._free):
            return None
        taken, self._free = self._free[:count], self._free[count:]
        for p in taken:
            self._allocs[p] = 1
        return [p * self.page_size for p in taken]

    def allocate_contiguous(self, nbytes, align=128):
        n = -(-nbytes // self.page_size)
        free = sorted(self._free)
        for i in range(len(free) - n + 1):
            if free[i + n - 1] - free[i] == n - 1 and (free[i] * self.page_size) % align == 0:
                run = set(range(free[i], free[i] + n))
                self._free = [p for p in self._free if p not in run]
                self._allocs[free[i]] = n
                return free[i] * self.page_size
        return None

    def free(self, address):
        first = address // self.page_size
        if address % self.page_size or first not in self._allocs:
            raise ValueError(f"{address:#x} is not an allocation of this memory")
        n = self._allocs.pop(first)
        self._free.extend(range(first, first + n))

    def read(self, address, n):
        if address < 0 or address + n > len(self.mem):
            raise BusError(f"read of {n} bytes at {address:#x} outside memory")
        return bytes(self.mem[address:address + n])

    def write(self, address, data):
        data = bytes(data)
        if address < 0 or address + len(data) > len(self.mem):
            raise BusError(f"write of {len(data)} bytes at {address:#x} outside memory")
        self.mem[address:address + len(data)] = data
