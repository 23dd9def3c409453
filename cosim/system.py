"""The whole simulated machine with the driver stack loaded: what tests and ``pcsim`` use.

:class:`AudioSystem` puts the HAL (:mod:`cosim.hal`) over the simulated host (registers,
interrupt line, physical memory, simulated time), hands it to the adapter driver as its
resource list, starts the device and offers the client API on the filters it registered.
"""

from __future__ import annotations

from fractions import Fraction

import cocotb

from miniports.adapter import TOPOLOGY_FILTER, Adapter
from portdrv.client import AudioClient
from portdrv.filter import SubdeviceRegistry
from portdrv.hal import ResourceList
from portdrv.status import check_status

from .hal import SimDevicePower, SimInterruptSource, SimPhysicalMemory, SimScheduler
from .soc_env import SocEnv

__all__ = ["AudioSystem"]


def simulated_clock_hz():
    """The DUT clock of this simulation, exact (cosim.build.run passes its period)."""
    period = cocotb.plusargs.get("pcsim_clock_period_ps")
    return Fraction(10**12, int(period)) if period else Fraction(0)


class AudioSystem(SocEnv):
    """The device, its host, and the adapter + port/miniport drivers on top."""

    def __init__(self, dut, memory_size=16 << 20, seed=1, wave_miniport="wavert"):
        super().__init__(dut, memory_size=memory_size, seed=seed)
        self.scheduler = SimScheduler()
        self.resources = ResourceList(
            registers=self.regs.bus, interrupt=SimInterruptSource(self.irq),
            memory=SimPhysicalMemory(self.mem, self.alloc), scheduler=self.scheduler,
            parameters={"clock_hz": simulated_clock_hz()}, power=SimDevicePower(dut))
        self.registry = SubdeviceRegistry()
        self.adapter = Adapter(self.resources, self.registry, wave_miniport)
        self.client = AudioClient(self.registry)

    async def start(self):
        """Power-on reset, then the adapter's StartDevice (raises StatusError on failure)."""
        await self.wait_power_on()
        check_status(await self.adapter.start_device(), "starting the device")

    async def set_power_state(self, state):
        """Move the device to D-state ``state`` (raises StatusError on failure)."""
        check_status(await self.adapter.set_power_state(state), f"going to {state!r}")

    @property
    def topology(self):
        """The topology filter (the mixer)."""
        return self.registry.filter(TOPOLOGY_FILTER)
