"""The adapter driver: StartDevice for our controller.

:class:`Adapter` resets the controller, finds codec 0 through STATESTS and parameter verbs,
connects the shared interrupt (one :class:`portdrv.interrupt_sync.InterruptSync` whose ISR is
the controller's), and creates and registers the wave filter (a WaveRT port bound to
:class:`miniports.wavert.MiniportWaveRT`) in the subdevice registry.
"""

from __future__ import annotations

from portdrv.interrupt_sync import InterruptSync, InterruptSyncMode
from portdrv.status import NTSTATUS, nt_success
from portdrv.wavert import PortWaveRT

from .hda import HdaController
from .wavert import MiniportWaveRT

__all__ = ["Adapter", "WAVE_FILTER"]

#: the name the wave filter is registered under
WAVE_FILTER = "wave"


class Adapter:
    """One device: its resources, controller object, interrupt and filters."""

    def __init__(self, resources, registry):
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
        port, miniport = PortWaveRT(), MiniportWaveRT(self.controller)
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
