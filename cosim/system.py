"""The whole simulated machine with the driver stack loaded: what tests and ``pcsim`` use.

:class:`AudioSystem` puts the HAL (:mod:`cosim.hal`) over the simulated host (registers,
interrupt line, physical memory, simulated time), hands it to the adapter driver as its
resource list, starts the device and offers the client API on the filters it registered, and
a MIDI device on the MIDI pins.
"""

from __future__ import annotations

from fractions import Fraction

import cocotb

from miniports.adapter import MIDI_FILTER, TOPOLOGY_FILTER, Adapter
from portdrv.client import AudioClient
from portdrv.dmus import DMusClient
from portdrv.filter import SubdeviceRegistry
from portdrv.hal import ResourceList
from portdrv.midi import MidiClient
from portdrv.status import check_status
from rtl.regmap import MIDI_BAUD, midi_divisor

from .hal import SimDevicePower, SimInterruptSource, SimPhysicalMemory, SimScheduler
from .midi_device import MidiDevice
from .soc_env import SocEnv

__all__ = ["AudioSystem"]


def simulated_clock_hz():
    """The DUT clock of this simulation, exact (harness.build.run passes its period)."""
    period = cocotb.plusargs.get("pcsim_clock_period_ps")
    return Fraction(10**12, int(period)) if period else Fraction(0)


class AudioSystem(SocEnv):
    """The device, its host, and the adapter + port/miniport drivers on top.

    ``wave_miniport`` and ``midi_miniport`` pick the wave and MIDI filters' port/miniport
    pairs (``miniports.adapter.WAVE_MINIPORTS``, ``MIDI_MINIPORTS``: ``"midi"`` or
    ``"dmus"``); ``midi_baud`` is the MIDI wire's rate the MIDI miniport programs (31250; a
    test on a slow simulator may ask for a faster wire)."""

    register_component = "miniport"

    def __init__(self, dut, memory_size=16 << 20, seed=1, wave_miniport="wavert",
                 midi_miniport="midi", midi_baud=MIDI_BAUD):
        super().__init__(dut, memory_size=memory_size, seed=seed)
        self.scheduler = SimScheduler()
        if self.trace is not None:
            self.scheduler.tracer = self.trace
        power = SimDevicePower(dut)
        self.regs.bus.powered = power.powered
        self.resources = ResourceList(
            registers=self.regs.bus, interrupt=SimInterruptSource(self.irq),
            memory=SimPhysicalMemory(self.mem, self.alloc), scheduler=self.scheduler,
            parameters={"clock_hz": simulated_clock_hz(), "midi_baud": midi_baud},
            power=power)
        self.registry = SubdeviceRegistry()
        self.adapter = Adapter(self.resources, self.registry, wave_miniport, midi_miniport)
        self.client = AudioClient(self.registry)
        self.midi_client = (DMusClient if midi_miniport == "dmus" else MidiClient)(self.registry)
        self._midi_device = None

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

    @property
    def midi(self):
        """The MIDI filter (a MIDI or DMus port on the UART)."""
        return self.registry.filter(MIDI_FILTER)

    @property
    def midi_divisor(self) -> int:
        """Clocks per MIDI bit the MIDI miniport programs (MIDI_DIV)."""
        return midi_divisor(self.resources.parameters["clock_hz"],
                            self.resources.parameters["midi_baud"])

    @property
    def midi_device(self) -> MidiDevice:
        """A MIDI device on midi_tx/midi_rx at the driver's bit time, made on first use (its
        receiver sleeps on midi_tx's falling edges from then on)."""
        if self._midi_device is None:
            self._midi_device = MidiDevice(self.dut, self.midi_divisor)
        return self._midi_device
