"""Named register access for the miniports: the one register map over a HAL register window.

Registers are named from :mod:`rtl.regmap` and accessed with their own size and byte offset:
a read fetches the containing 32-bit word and extracts the register; a write sends only the
register's bytes (e.g. ``SD1STS``, 1 byte at 0xA3, never disturbs SD1CTL beside it).
"""

from __future__ import annotations

from rtl.regmap import REGMAP

__all__ = ["RegisterBlock"]


class RegisterBlock:
    """All register I/O of a driver, through one :class:`portdrv.hal.RegisterAccess`.

    ``target`` arguments are a register name (``"SD1CTL"``), a :class:`rtl.regmap.Register`,
    or an integer byte offset (a register's offset, else a 4-byte-aligned raw word). ``clock``
    (a :class:`portdrv.hal.Clock`) times out :meth:`poll`.
    """

    def __init__(self, bus, clock, regmap=REGMAP):
        self.bus = bus
        self.clock = clock
        self.regmap = regmap
        self._by_offset = {r.offset: r for r in regmap}
        #: number of register reads / writes issued
        self.reads = 0
        self.writes = 0

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

    async def raw_read32(self, offset: int) -> int:
        if offset % 4:
            raise ValueError(f"raw 32-bit access at unaligned offset {offset:#x}")
        self.reads += 1
        return await self.bus.read32(offset)

    async def raw_write32(self, offset: int, value: int) -> None:
        if offset % 4:
            raise ValueError(f"raw 32-bit access at unaligned offset {offset:#x}")
        self.writes += 1
        await self.bus.write(offset, int(value).to_bytes(4, "little"))

    async def read(self, target) -> int:
        """Value of a register (its own width), or of a raw 32-bit word."""
        reg = self.register(target)
        if reg is None:
            return await self.raw_read32(target)
        word = await self.raw_read32(reg.offset & ~3)
        return (word >> (8 * (reg.offset & 3))) & ((1 << (8 * reg.size)) - 1)

    async def write(self, target, value: int) -> None:
        """Write a register's bytes only, or a raw 32-bit word."""
        reg = self.register(target)
        if reg is None:
            return await self.raw_write32(target, value)
        if not 0 <= value < (1 << (8 * reg.size)):
            raise ValueError(f"value {value:#x} does not fit {reg.name} ({reg.size} bytes)")
        self.writes += 1
        await self.bus.write(reg.offset, int(value).to_bytes(reg.size, "little"))

    async def read_field(self, target, field: str) -> int:
        reg = self._reg(target)
        return reg.field(field).get(await self.read(reg))

    async def read_fields(self, target) -> dict:
        """All fields of a register, decoded: ``{"RUN": 1, ...}``."""
        reg = self._reg(target)
        return reg.decode(await self.read(reg))

    async def write_fields(self, target, **fields) -> int:
        """Read-modify-write the named fields; returns the value written.

        Kept from the read: RW and RWA fields (an RWA field's read value is the hardware's
        current state, so writing it back requests no change, as HDA drivers do with RUN/SRST).
        Written 0 unless named: RW1C fields (so no pending status is cleared by accident) and R
        fields. Naming an R field is an error; naming a RW1C field with 1 clears it.
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

    async def poll(self, target, field: str, value: int, timeout_100ns: int = 1000,
                   interval_100ns: int = 0) -> int:
        """Re-read until ``field`` equals ``value``; returns the register value.

        Raises TimeoutError once ``timeout_100ns`` has passed. ``interval_100ns`` adds a pause
        between reads (each read already takes a few bus cycles).
        """
        reg = self._reg(target)
        f = reg.field(field)
        deadline = self.clock.now_100ns() + timeout_100ns
        while True:
            v = await self.read(reg)
            if f.get(v) == value:
                return v
            now = self.clock.now_100ns()
            if now >= deadline:
                raise TimeoutError(f"{reg.name}.{field} still {f.get(v)} (want {value}) after "
                                   f"{timeout_100ns * 100} ns")
            if interval_100ns:
                await self.clock.sleep_100ns(min(interval_100ns, deadline - now))
