"""Register window: the host's view of the device registers through the AXI4-Lite slave port.

:class:`AxiLiteRegisters` is the HAL's :class:`portdrv.hal.RegisterAccess` over
:class:`cosim.axil_master.AxiLiteMaster` on the ``s_axil_*`` signals: a write sends only the
bytes it is given, so WSTRB covers exactly them. :class:`RegisterWindow` adds the named
register access of the miniports (:class:`miniports.registers.RegisterBlock`) for tests and
register-level code, with timeouts in nanoseconds.
"""

from __future__ import annotations

from cocotb.triggers import Timer

from miniports.registers import RegisterBlock
from portdrv.hal import BusError, RegisterAccess

from .axil_master import AxiLiteMaster
from .hal import SimScheduler

RESP_NAMES = {0: "OKAY", 1: "EXOKAY", 2: "SLVERR", 3: "DECERR"}

__all__ = ["AxiLiteRegisters", "RegisterWindow", "BusError", "UNANSWERED_READ"]


#: what a read of a powered-off device returns (a PCI read the device does not answer), and
#: how long the host's bus takes to give up on an access nobody answers
UNANSWERED_READ = 0xFFFF_FFFF
UNANSWERED_ACCESS_NS = 1000


class AxiLiteRegisters(RegisterAccess):
    """Register access through the DUT's AXI4-Lite port; non-OKAY answers raise BusError.

    ``powered`` (a callable, None: always on) says whether the device has power: while it
    has not (D3 holds it in reset, where its slave port would never answer), nothing goes
    to the bus: a read returns :data:`UNANSWERED_READ`, a write is dropped, as the host's
    bus does for a device that is off, and :attr:`reads_while_off` and
    :attr:`writes_while_off` count them (a write to a device in D3 is lost: a driver bug; a
    read happens legitimately, e.g. an ISR asking whether a shared interrupt is its own; the
    bus never hangs either way)."""

    def __init__(self, dut, clk=None, *, prefix: str = "s_axil", powered=None):
        self.axil = AxiLiteMaster(dut, prefix=prefix, clk=clk)
        self.powered = powered
        self.reads_while_off = self.writes_while_off = 0

    def _off(self):
        return self.powered is not None and not self.powered()

    async def read32(self, offset: int) -> int:
        if self._off():
            # the access costs the bus's time-out: a driver polling a device in D3 still
            # sees time pass
            self.reads_while_off += 1
            await Timer(UNANSWERED_ACCESS_NS, "ns")
            return UNANSWERED_READ
        data, resp = await self.axil.read32(offset)
        if resp:
            raise BusError(f"register read at {offset:#x} answered {RESP_NAMES[resp]}")
        return data

    async def write(self, offset: int, data: bytes) -> None:
        if self._off():
            self.writes_while_off += 1
            await Timer(UNANSWERED_ACCESS_NS, "ns")
            return
        resp = await self.axil.write(offset, data)
        if resp:
            raise BusError(f"register write at {offset:#x} answered {RESP_NAMES[resp]}")


class RegisterWindow(RegisterBlock):
    """Named register access on the simulated device (see :class:`RegisterBlock`)."""

    def __init__(self, dut, clk=None, regmap=None, *, prefix: str = "s_axil"):
        bus = AxiLiteRegisters(dut, clk, prefix=prefix)
        if regmap is None:
            super().__init__(bus, SimScheduler())
        else:
            super().__init__(bus, SimScheduler(), regmap)
        self.axil = bus.axil

    async def poll(self, target, field: str, value: int, timeout_ns: float = 100_000,
                   interval_ns: float = 0) -> int:
        """:meth:`RegisterBlock.poll` with the times in nanoseconds."""
        return await super().poll(target, field, value, -(-int(timeout_ns) // 100),
                                  -(-int(interval_ns) // 100))
