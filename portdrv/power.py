"""Device power management in the PortCls order.

The power manager owns an adapter's device power state (D0 working .. D3 off). A change asks
the adapter first (IAdapterPowerManagement::QueryPowerChangeState: it may veto), then:

- going down from D0: every running stream is paused, every miniport is told
  (IPowerNotify::PowerChangeNotify: save what the hardware will lose), then the adapter changes
  the device state (PowerChangeState: in D3 the device loses its register context);
- coming back to D0: the adapter powers the device up first, then the miniports are told
  (restore), then the streams that were running run again.

The adapter implements ``async query_power_change_state(state) -> status`` and ``async
power_change_state(state)``; a miniport or a miniport stream that cares implements ``async
power_change_notify(state)`` (IPowerNotify: "Implementing IPowerNotify" - PortCls notifies
each miniport object and each stream object that has it, individually). The docs leave the
order between those objects open; here, going down, each filter's open streams are told
before their miniport (a stream saves its own state while the device-wide state is still
there) and, coming up, the miniport before its streams (the device-wide context is back
before a stream restores on top of it).
"""

from __future__ import annotations

from enum import IntEnum

from .ksstate import KSSTATE
from .status import NTSTATUS, nt_success

__all__ = ["DevicePowerState", "PowerManager"]


class DevicePowerState(IntEnum):
    """DEVICE_POWER_STATE: D0 is fully on, D3 off (register context lost)."""
    D0 = 1
    D1 = 2
    D2 = 3
    D3 = 4


class PowerManager:
    """Moves one adapter and the filters of its subdevice registry between power states."""

    def __init__(self, adapter, registry):
        self.adapter = adapter
        self.registry = registry
        self.state = DevicePowerState.D0
        self._paused = []

    async def _notify(self, state, going_down):
        """IPowerNotify::PowerChangeNotify on every miniport and open stream that has it:
        per filter, streams then miniport going down, miniport then streams coming up."""
        for flt in self.registry.filters.values():
            streams = [getattr(pin, "stream", None) for pin in flt.open_pins]
            objects = [flt.port.miniport] + streams
            if going_down:
                objects.reverse()
            for obj in objects:
                notify = getattr(obj, "power_change_notify", None)
                if notify is not None:
                    await notify(state)

    async def set_power_state(self, state) -> int:
        """Go to ``state``; returns the adapter's veto status, or SUCCESS."""
        try:
            state = DevicePowerState(state)
        except ValueError:
            return NTSTATUS.INVALID_PARAMETER
        if state == self.state:
            return NTSTATUS.SUCCESS
        status = await self.adapter.query_power_change_state(state)
        if not nt_success(status):
            return status
        if self.state == DevicePowerState.D0:
            # leaving D0: quiesce, let the miniports save, then power down
            for flt in self.registry.filters.values():
                for pin in list(flt.open_pins):
                    if pin.state == KSSTATE.RUN:
                        status = await pin.set_state(KSSTATE.PAUSE)
                        if not nt_success(status):
                            return status
                        self._paused.append(pin)
            await self._notify(state, going_down=True)
            await self.adapter.power_change_state(state)
        elif state == DevicePowerState.D0:
            lost = self.state == DevicePowerState.D3
            await self.adapter.power_change_state(state)
            await self._notify(state, going_down=False)
            if lost:
                for flt in self.registry.filters.values():
                    for pin in flt.open_pins:
                        if pin.state != KSSTATE.STOP:
                            await pin.resync_after_restart()
            paused, self._paused = self._paused, []
            for pin in paused:
                if not pin.closed and pin.state == KSSTATE.PAUSE:
                    status = await pin.set_state(KSSTATE.RUN)
                    if not nt_success(status):
                        return status
        else:
            await self.adapter.power_change_state(state)
        self.state = state
        return NTSTATUS.SUCCESS
