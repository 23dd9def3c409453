"""The adapter driver: StartDevice for our controller.

:class:`Adapter` resets the controller, finds codec 0 through STATESTS and parameter verbs,
connects the shared interrupt (one :class:`portdrv.interrupt_sync.InterruptSync` whose ISR is
the controller's), and creates and registers the wave filter (a WaveRT, WaveCyclic or WavePci port
bound to this device's miniport of that type) in the subdevice registry.
"""

from __future__ import annotations

from portdrv.interrupt_sync import InterruptSync, InterruptSyncMode
from portdrv.status import NTSTATUS, nt_success
from portdrv.wavecyclic import PortWaveCyclic
from portdrv.wavepci import PortWavePci
from portdrv.wavert import PortWaveRT

from .hda import HdaController
from .wavecyclic import MiniportWaveCyclic
from .wavepci import MiniportWavePci
from .wavert import MiniportWaveRT

__all__ = ["Adapter", "WAVE_FILTER", "WAVE_MINIPORTS"]

#: the name the wave filter is registered under
WAVE_FILTER = "wave"
#: the wave port/miniport pairs the adapter can install, by name
WAVE_MINIPORTS = {
    "wavert": (PortWaveRT, MiniportWaveRT),
    "wavecyclic": (PortWaveCyclic, MiniportWaveCyclic),
    "wavepci": (PortWavePci, MiniportWavePci),
}


class Adapter:
    """One device: its resources, controller object, interrupt and filters.

    ``wave_miniport`` picks the wave filter's port/miniport pair (:data:`WAVE_MINIPORTS`)."""

    def __init__(self, resources, registry, wave_miniport="wavert"):
        if wave_miniport not in WAVE_MINIPORTS:
            raise ValueError(f"unknown wave miniport {wave_miniport!r} (choose "
                             f"{', '.join(WAVE_MINIPORTS)})")
        self.wave_kind = wave_miniport
        self.resources = resources
        self.registry = registry
        self.controller = HdaController(resources)
        self.interrupt_sync = None
        self.wave_port = None
        self.wave_miniport = None
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
        port_class, miniport_class = WAVE_MINIPORTS[self.wave_kind]
        port, miniport = port_class(), miniport_class(self.controller)
        status = await port.init(miniport, self.resources)
        if nt_success(status):
            status = self.registry.register_subdevice(WAVE_FILTER, port)
        if not nt_success(status):
            sync.disconnect()
            self.interrupt_sync = None
            return status
        self.wave_port, self.wave_miniport = port, miniport
        self.started = True
        return NTSTATUS.SUCCESS
