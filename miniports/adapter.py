"""The adapter driver: StartDevice and power management for our controller.

:class:`Adapter` resets the controller, finds codec 0 through STATESTS and parameter verbs,
connects the shared interrupt (one :class:`portdrv.interrupt_sync.InterruptSync` whose ISR is
the controller's), creates and registers the wave filter (a WaveRT, WaveCyclic or WavePci port
bound to this device's miniport of that type), the topology filter and the MIDI filter (the
MPU-401 UART behind a MIDI port or a DMus port) in the subdevice registry, and wires the wave
filter's bridge pins to the topology filter's.

It is also IAdapterPowerManagement: in D3 the device loses power (the HAL's DevicePower); on
the way back to D0 the adapter resets the controller and restores its interrupt enables and
position buffer before the miniports restore their own state (:class:`portdrv.power.PowerManager`
calls them in the PortCls order).
"""

from __future__ import annotations

from portdrv.dmus import PortDMus
from portdrv.interrupt_sync import InterruptSync, InterruptSyncMode
from portdrv.midi import PortMidi
from portdrv.power import DevicePowerState, PowerManager
from portdrv.status import NTSTATUS, nt_success
from portdrv.topology import PortTopology
from portdrv.wavecyclic import PortWaveCyclic
from portdrv.wavepci import PortWavePci
from portdrv.wavert import PortWaveRT

from .dmus import MiniportDMusUart
from .hda import LINK_FRAME_RATE, HdaController
from .midi import MiniportMidiUart
from .topology import PIN_WAVE_CAPTURE, PIN_WAVE_RENDER, MiniportTopology
from .wavecyclic import MiniportWaveCyclic
from .wavepci import MiniportWavePci
from .wavert import MiniportWaveRT
from .wavestream import PIN_CAPTURE_BRIDGE, PIN_RENDER_BRIDGE

__all__ = ["Adapter", "WAVE_FILTER", "TOPOLOGY_FILTER", "MIDI_FILTER", "WAVE_MINIPORTS",
           "MIDI_MINIPORTS"]

#: two link frames: what the link and the codec take to deliver the last frame sent
LINK_DRAIN_100NS = 2 * 10_000_000 // LINK_FRAME_RATE + 1

#: the names the wave, topology and MIDI filters are registered under
WAVE_FILTER = "wave"
TOPOLOGY_FILTER = "topology"
MIDI_FILTER = "midi"
#: the wave port/miniport pairs the adapter can install, by name
WAVE_MINIPORTS = {
    "wavert": (PortWaveRT, MiniportWaveRT),
    "wavecyclic": (PortWaveCyclic, MiniportWaveCyclic),
    "wavepci": (PortWavePci, MiniportWavePci),
}
#: the MIDI port/miniport pairs the adapter can install, by name
MIDI_MINIPORTS = {
    "midi": (PortMidi, MiniportMidiUart),
    "dmus": (PortDMus, MiniportDMusUart),
}


class Adapter:
    """One device: its resources, controller object, interrupt and filters.

    ``wave_miniport`` picks the wave filter's port/miniport pair (:data:`WAVE_MINIPORTS`),
    ``midi_miniport`` the MIDI filter's (:data:`MIDI_MINIPORTS`)."""

    def __init__(self, resources, registry, wave_miniport="wavert", midi_miniport="midi"):
        for kind, choices, what in ((wave_miniport, WAVE_MINIPORTS, "wave"),
                                    (midi_miniport, MIDI_MINIPORTS, "MIDI")):
            if kind not in choices:
                raise ValueError(f"unknown {what} miniport {kind!r} (choose "
                                 f"{', '.join(choices)})")
        self.wave_kind = wave_miniport
        self.midi_kind = midi_miniport
        self.resources = resources
        self.registry = registry
        self.controller = HdaController(resources)
        self.interrupt_sync = None
        self.wave_port = None
        self.wave_miniport = None
        self.topology_port = None
        self.topology_miniport = None
        self.midi_port = None
        self.midi_miniport = None
        self.power = PowerManager(self, registry)
        self.resume_status = NTSTATUS.SUCCESS
        self.started = False

    async def start_device(self):
        """PnP StartDevice: returns an NTSTATUS; on failure nothing stays connected."""
        if self.started:
            return NTSTATUS.INVALID_DEVICE_STATE
        status = await self.controller.start()
        if not nt_success(status):
            return status
        sync = InterruptSync(self.resources.scheduler, InterruptSyncMode.NORMAL)
        sync.register_service_routine(self.controller.isr)
        status = sync.connect(self.resources.interrupt)
        if not nt_success(status):
            return status
        self.interrupt_sync = sync
        self.controller.set_interrupt_sync(sync)
        port_class, miniport_class = WAVE_MINIPORTS[self.wave_kind]
        self.wave_port, self.wave_miniport = port_class(), miniport_class(self.controller)
        self.topology_port = PortTopology()
        self.topology_miniport = MiniportTopology(self.controller)
        port_class, miniport_class = MIDI_MINIPORTS[self.midi_kind]
        self.midi_port, self.midi_miniport = port_class(), miniport_class(self.controller)
        status = await self._install(WAVE_FILTER, self.wave_port, self.wave_miniport)
        if nt_success(status):
            status = await self._install(TOPOLOGY_FILTER, self.topology_port,
                                         self.topology_miniport)
        if nt_success(status):
            status = await self._install(MIDI_FILTER, self.midi_port, self.midi_miniport)
        if nt_success(status):
            status = self.registry.register_physical_connection(
                WAVE_FILTER, PIN_RENDER_BRIDGE, TOPOLOGY_FILTER, PIN_WAVE_RENDER)
        if nt_success(status):
            status = self.registry.register_physical_connection(
                TOPOLOGY_FILTER, PIN_WAVE_CAPTURE, WAVE_FILTER, PIN_CAPTURE_BRIDGE)
        if not nt_success(status):
            sync.disconnect()
            self.interrupt_sync = None
            self.controller.set_interrupt_sync(None)
            return status
        self.started = True
        return NTSTATUS.SUCCESS

    async def _install(self, name, port, miniport):
        status = await port.init(miniport, self.resources)
        if nt_success(status):
            status = self.registry.register_subdevice(name, port)
        return status

    # ---- IAdapterPowerManagement ---------------------------------------------------------------

    async def set_power_state(self, state):
        """Move the device and its filters to ``state`` (a DevicePowerState); NTSTATUS."""
        return await self.power.set_power_state(state)

    async def query_power_change_state(self, state):
        """Any D-state is fine once started (the drivers keep what D3 loses)."""
        return NTSTATUS.SUCCESS if self.started else NTSTATUS.INVALID_DEVICE_STATE

    async def power_change_state(self, state):
        """Change the device's power; back in D0 from D3 the controller is brought up again
        (a controller that does not come back leaves the streams stopped, reported by
        DEVICE_NOT_READY from the stream operations that follow)."""
        previous = self.power.state
        power = self.resources.power
        if state == DevicePowerState.D3:
            # the last frames sent still cross the link and the codec's pipeline: let them
            # reach the DAC before the power goes
            await self.resources.scheduler.sleep_100ns(LINK_DRAIN_100NS)
        if power is not None:
            await power.set_device_state(int(state))
        if state == DevicePowerState.D0 and previous == DevicePowerState.D3:
            self.resume_status = await self.controller.resume()
