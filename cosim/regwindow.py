"""Register window: the host's view of the device registers through the AXI4-Lite slave port.

Accesses go through :class:`cosim.axil_master.AxiLiteMaster` on the ``s_axil_*`` signals. Registers are
named from the one register map (:mod:`rtl.regmap`) and accessed with their own size and byte
offset: a read fetches the containing 32-bit word and extracts the register; a write sends only
the register's bytes, so WSTRB covers exactly them (e.g. ``SD1STS``, 1 byte at 0xA3, is written
with WSTRB=0b1000 and never disturbs SD1CTL beside it).
"""

from __future__ import annotations

from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from .axil_master import AxiLiteMaster

RESP_NAMES = {0: "OKAY", 1: "EXOKAY", 2: "SLVERR", 3: "DECERR"}

__all__ = ["RegisterWindow", "BusError"]


class BusError(IOError):
    """A register access answered with a non-OKAY AXI response."""


class RegisterWindow:
    """Register access for driver code and tests.

    ``target`` arguments are a register name (``"SD1CTL"``), a :class:`rtl.regmap.Register`, or
    an integer byte offset (a register's offset, else a 4-byte-aligned raw word).
    """

    def __init__(self, dut, clk=None, regmap=None, *, prefix: str = "s_axil"):
        if regmap is None:
            from rtl.regmap import REGMAP as regmap
        self.regmap = regmap
        self._by_offset = {r.offset: r for r in regmap}
        self.axil = AxiLiteMaster(dut, prefix=prefix, clk=clk)
        #: number of bus reads / writes issued through this window
        self.reads = 0
        self.writes = 0

    # ---- lookup -----------------------------------------------------------------------------

    def register(self, target):
        """The Register for ``target``, or None for a raw word offset."""
        if isinstance(target, str):
            return self.regmap[target]
        if isinstance(target, int):
            return self._by_offset.get(target)
        if hasattr(target, "offset") and hasattr(target, "size"):
            return target
        raise TypeError(f"not a register or offset: {target!r}")

    def _reg(self, target):
        reg = self.register(target)
        if reg is None:
            raise KeyError(f"no register at offset {target:#x}")
        return reg

    # ---- raw access -------------------------------------------------------------------------

    async def raw_read32(self, offset: int) -> int:
        if offset % 4:
            raise ValueError(f"raw 32-bit access at unaligned offset {offset:#x}")
        data, resp = await self.axil.read32(offset)
        self.reads += 1
        if resp:
            raise BusError(f"register read at {offset:#x} answered {RESP_NAMES[resp]}")
        return data

    async def raw_write32(self, offset: int, value: int) -> None:
        if offset % 4:
            raise ValueError(f"raw 32-bit access at unaligned offset {offset:#x}")
        await self._write_bytes(offset, int(value).to_bytes(4, "little"))

    async def _write_bytes(self, offset: int, data: bytes) -> None:
        resp = await self.axil.write(offset, data)
        self.writes += 1
        if resp:
            raise BusError(f"register write at {offset:#x} answered {RESP_NAMES[resp]}")

    # ---- registers --------------------------------------------------------------------------

    async def read(self, target) -> int:
        """Value of a register (its own width), or of a raw 32-bit word."""
        reg = self.register(target)
        if reg is None:
            return await self.raw_read32(target)
        word = await self.raw_read32(reg.offset & ~3)
        return (word >> (8 * (reg.offset & 3))) & ((1 << (8 * reg.size)) - 1)

    async def write(self, target, value: int) -> None:
        """Write a register's bytes only (WSTRB = the register's bytes), or a raw 32-bit word."""
        reg = self.register(target)
        if reg is None:
            return await self.raw_write32(target, value)
        if not 0 <= value < (1 << (8 * reg.size)):
            raise ValueError(f"value {value:#x} does not fit {reg.name} ({reg.size} bytes)")
        await self._write_bytes(reg.offset, int(value).to_bytes(reg.size, "little"))

    async def read_field(self, target, field: str) -> int:
        reg = self._reg(target)
        return reg.field(field).get(await self.read(reg))

    async def read_fields(self, target) -> dict:
        """All fields of a register, decoded: ``{"RUN": 1, ...}``."""
        reg = self._reg(target)
        return reg.decode(await self.read(reg))

    async def write_fields(self, target, **fields) -> int:
        """Read-modify-write the named fields; returns the value written.

        Kept from the read: RW and RWA fields (an RWA field's read value is the hardware's current
        state, so writing it back requests no change, as HDA drivers do with RUN/SRST). Written 0
        unless named: RW1C fields (so no pending status is cleared by accident) and R fields.
        Naming an R field is an error; naming a RW1C field with 1 clears it.
        """
        reg = self._reg(target)
        for name in fields:
            if reg.field(name).access == "R":
                raise ValueError(f"{reg.name}.{name} is read-only")
        keep = sum(f.mask for f in reg.fields
                   if f.access in ("RW", "RWA") and f.name not in fields)
        old = await self.read(reg)
        value = (old & keep) | reg.encode(**fields)
        await self.write(reg, value)
        return value

    async def poll(self, target, field: str, value: int, timeout_ns: float = 100_000,
                   interval_ns: float = 0) -> int:
        """Re-read until ``field`` equals ``value``; returns the register value.

        Raises TimeoutError when ``timeout_ns`` of simulated time pass first. ``interval_ns``
        adds a pause between reads (each read already takes a few bus cycles).
        """
        reg = self._reg(target)
        f = reg.field(field)
        deadline = get_sim_time("ns") + timeout_ns
        while True:
            v = await self.read(reg)
            if f.get(v) == value:
                return v
            now = get_sim_time("ns")
            if now >= deadline:
                raise TimeoutError(f"{reg.name}.{field} still {f.get(v)} (want {value}) after "
                                   f"{timeout_ns} ns")
            if interval_ns:
                await Timer(min(interval_ns, max(deadline - now, 1)), "ns")
