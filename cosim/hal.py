"""The portdrv HAL (:mod:`portdrv.hal`) implemented on the simulated machine with cocotb.

Simulated time is the timebase (100-ns units), coroutines are cocotb tasks, and the device's
interrupt line is :class:`cosim.irq.InterruptLine`. Miniports and port drivers get these objects
and never import cocotb or cosim themselves.
"""

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, Event, NullTrigger, Timer

from portdrv.hal import DevicePower, InterruptSource, Scheduler, WrappedEvent
from portdrv.power import DevicePowerState
from portdrv.status import NTSTATUS

from portdrv.pages import PagedPhysicalMemory

__all__ = ["SimScheduler", "SimEvent", "SimInterruptSource", "SimPhysicalMemory",
           "SimDevicePower"]


class SimEvent(WrappedEvent):
    """A notification event over cocotb's Event."""

    def __init__(self):
        super().__init__(Event())


class SimScheduler(Scheduler):
    """Driver coroutines as cocotb tasks on simulated time."""

    def now_100ns(self):
        return int(get_sim_time("ns")) // 100

    async def sleep_100ns(self, n):
        if n < 0:
            raise ValueError(f"cannot sleep a negative time ({n} x 100 ns)")
        # cocotb has no zero-length Timer: a NullTrigger just lets other tasks run
        await (NullTrigger() if n == 0 else Timer(int(n) * 100, "ns"))

    def spawn(self, coro):
        return cocotb.start_soon(coro)

    def new_event(self):
        return SimEvent()


class SimInterruptSource(InterruptSource):
    """The device's interrupt line: each connected handler runs on every rising edge.

    Delivery is edge-triggered, so an ISR must clear every cause it finds (the controller's irq
    is a level that only falls when no enabled cause remains)."""

    def __init__(self, line):
        self.line = line
        self._handlers = []

    def connect(self, handler):
        if handler in self._handlers:
            return NTSTATUS.UNSUCCESSFUL
        self._handlers.append(handler)
        self.line.add_handler(handler)
        return NTSTATUS.SUCCESS

    def disconnect(self, handler):
        if handler in self._handlers:
            self._handlers.remove(handler)
            self.line.remove_handler(handler)


class SimPhysicalMemory(PagedPhysicalMemory):
    """The host's physical memory (:class:`cosim.host_memory.HostMemory`) and its page
    allocator as the HAL's :class:`~portdrv.hal.PhysicalMemory`."""


class SimDevicePower(DevicePower):
    """The device's power rail: D3 holds the whole design in reset (``rst``), so every
    register, the codec and WALLCLK lose their state, as a device whose power is removed;
    D0 releases it. D1 and D2 keep the context (clock gating is not modelled)."""

    def __init__(self, dut):
        self.dut = dut
        self.state = DevicePowerState.D0
        self.power_cycles = 0

    def powered(self) -> bool:
        """Whether the device has power (not in D3)."""
        return self.state != DevicePowerState.D3

    async def set_device_state(self, state):
        if state == DevicePowerState.D3 and self.state != DevicePowerState.D3:
            self.state = DevicePowerState.D3      # from now on nothing answers
            self.dut.rst.value = 1
            self.power_cycles += 1
            await ClockCycles(self.dut.clk, 4)
        elif state == DevicePowerState.D0 and self.state == DevicePowerState.D3:
            self.dut.rst.value = 0
            await ClockCycles(self.dut.clk, 4)
        self.state = DevicePowerState(state)
