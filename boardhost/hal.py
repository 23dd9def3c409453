"""The portdrv HAL (:mod:`portdrv.hal`) over the UARTBone bridge: the same adapter, ports and
miniports drive a board (or the simulated board) instead of the cocotb simulation.

- Registers: 32-bit reads of the register region; writes go through the bridge's byte-strobe
  window, so writing SD1STS never writes SD1CTL beside it (:class:`BridgeRegisters`).
- Physical memory: the board RAM at ``RAM_BASE`` with the project's page allocator; the
  controller's DMA reads the same addresses (:class:`BoardMemory`).
- Interrupts: UARTBone has no way to send a byte the host did not ask for (``litex_server`` must
  keep working), so the host polls INTSTS every ``poll_100ns`` and, while GIS is set, calls the
  connected handlers, which latch it (level-triggered, as a shared PCI line)
  (:class:`PolledInterrupt`). Polling costs one 10-byte read frame per period.
- Time: on a real board the host's monotonic clock (:class:`HostScheduler`); on the simulated
  board the simulation's clock (:class:`portdrv.hal.SimpleScheduler` following the board
  simulation as its :class:`~portdrv.hal.TimeBase`).
- Power: the board's power cannot be switched from the host; D-states are recorded only.
"""

import asyncio
import time

from portdrv.pages import PageAllocator, PagedPhysicalMemory
from portdrv.hal import (DevicePower, InterruptSource, RegisterAccess, Scheduler,
                         WrappedEvent)
from portdrv.power import DevicePowerState
from portdrv.status import NTSTATUS
from rtl.bridge_map import RAM_BASE
from rtl.regmap import REGMAP

__all__ = ["BridgeRegisters", "BoardMemory", "PolledInterrupt", "HostScheduler",
           "BoardPower", "PAGE_SIZE", "DEFAULT_POLL_100NS"]

PAGE_SIZE = 4096
#: how often INTSTS is polled: 1 ms (a read frame is ~33 us at 3 Mbaud, so ~3 % of the line)
DEFAULT_POLL_100NS = 10_000
INTSTS = REGMAP["INTSTS"]


class BridgeRegisters(RegisterAccess):
    """The controller's registers through a :class:`boardhost.bridge.BridgeClient`; counts
    accesses and the host time they took (``latency_100ns`` sums it)."""

    def __init__(self, client, clock):
        self.client = client
        self.clock = clock
        self.reads = 0
        self.writes = 0
        self.read_time_100ns = 0

    async def read32(self, offset):
        start = self.clock.now_100ns()
        value = self.client.read_register_word(offset)
        self.reads += 1
        self.read_time_100ns += self.clock.now_100ns() - start
        return value

    async def write(self, offset, data):
        self.client.write_register_bytes(offset, data)
        self.writes += 1


class BoardRam:
    """The board RAM's bytes through the bridge (``read``/``write`` at bus addresses)."""

    def __init__(self, client):
        self.client = client

    def read(self, address, n):
        return self.client.read_ram(address, n)

    def write(self, address, data):
        self.client.write_ram(address, data)


class BoardMemory(PagedPhysicalMemory):
    """The board RAM (``size`` bytes at RAM_BASE) as the HAL's physical memory: pages from the
    project's allocator, contents read and written through the bridge."""

    def __init__(self, client, size, seed=0):
        super().__init__(BoardRam(client), PageAllocator(size, PAGE_SIZE, seed=seed,
                                                         base=RAM_BASE))


class PolledInterrupt(InterruptSource):
    """The interrupt line as seen by polling INTSTS.GIS through ``registers`` every
    ``poll_100ns`` on ``scheduler``; the poller runs while a handler is connected."""

    def __init__(self, registers, scheduler, poll_100ns=DEFAULT_POLL_100NS):
        self.registers = registers
        self.scheduler = scheduler
        self.poll_100ns = poll_100ns
        self._handlers = []
        self._task = None
        self.polls = 0
        self.assertions = 0

    def connect(self, handler):
        if handler in self._handlers:
            return NTSTATUS.UNSUCCESSFUL
        self._handlers.append(handler)
        if self._task is None or self._task.done():
            self._task = self.scheduler.spawn(self._poll())
        return NTSTATUS.SUCCESS

    def disconnect(self, handler):
        if handler in self._handlers:
            self._handlers.remove(handler)

    def stop(self):
        """Stop polling (the host is done with the board)."""
        if self._task is not None:
            self._task.cancel()

    async def _poll(self):
        gis = INTSTS.field("GIS")
        while self._handlers:
            self.polls += 1
            if gis.get(await self.registers.read32(INTSTS.offset)):
                self.assertions += 1
                for handler in list(self._handlers):
                    handler()
            await self.scheduler.sleep_100ns(self.poll_100ns)


class HostScheduler(Scheduler):
    """Driver coroutines as asyncio tasks on the host's monotonic clock (100-ns units)."""

    def __init__(self):
        self._tasks = set()

    def now_100ns(self):
        return time.monotonic_ns() // 100

    async def sleep_100ns(self, n):
        if n < 0:
            raise ValueError(f"cannot sleep a negative time ({n} x 100 ns)")
        await asyncio.sleep(n / 1e7)

    def spawn(self, coro):
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)           # keep a reference until it ends
        task.add_done_callback(self._tasks.discard)
        return task

    def new_event(self):
        return WrappedEvent(asyncio.Event())


class BoardPower(DevicePower):
    """A board powered from its USB port: the host cannot remove power, so a D-state change is
    recorded and nothing else happens (the adapter still resets the controller on D0)."""

    def __init__(self):
        self.state = DevicePowerState.D0

    async def set_device_state(self, state):
        self.state = DevicePowerState(state)
