"""What every port driver object shares: binding its miniport (IPort::Init)."""

from __future__ import annotations

from .status import NTSTATUS, nt_success

__all__ = ["Port"]


class Port:
    """A port bound to one miniport: :meth:`init` gives the miniport the adapter's resource
    list and reads its filter descriptor (and, if it has one, its device description)."""

    def __init__(self):
        self.miniport = None
        self.resources = None
        self.descriptor = None
        self.device_description = None

    async def init(self, miniport, resources) -> int:
        if self.miniport is not None:
            return NTSTATUS.INVALID_DEVICE_STATE
        status = await miniport.init(self, resources)
        if not nt_success(status):
            return status
        self.miniport = miniport
        self.resources = resources
        self.descriptor = miniport.get_description()
        describe = getattr(miniport, "get_device_description", None)
        self.device_description = describe() if describe else None
        return NTSTATUS.SUCCESS
