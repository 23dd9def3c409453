"""The host's physical memory, its page allocator and scatter/gather buffers.

- :class:`HostMemory`: a physical address space (default 64 MiB at 0) that answers the DUT's AXI4
  master port through :class:`cosim.axi_slave.AxiMemorySlave`; the host side reads and writes it
  directly (no simulated time). Address ranges can be made to fail: a bus access touching them
  gets SLVERR. Accesses outside the memory fail too.
- :class:`PageAllocator` (from :mod:`portdrv.pages`): hands out pages that are deliberately not
  physically contiguous, so scatter/gather DMA is really exercised, and contiguous runs for BDLs
  and position buffers. It never hands out page 0, so a zero address is always a bug.
- :class:`Buffer`: a virtual buffer backed by a list of physical pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from portdrv.memory import Mdl
from portdrv.pages import PAGE_SIZE, PageAllocator

from .axi_slave import AxiMemorySlave

__all__ = ["HostMemory", "BusFault", "Injection", "FAULT_RESPONSES", "PageAllocator", "Buffer",
           "PAGE_SIZE", "DEFAULT_MEMORY_SIZE"]

DEFAULT_MEMORY_SIZE = 64 << 20


#: AXI responses an injected fault answers with
FAULT_RESPONSES = ("slverr", "decerr")


class BusFault(Exception):
    """Raised for an injected error; the AXI slave answers with :attr:`response` (``"slverr"``
    or ``"decerr"``)."""

    def __init__(self, message, response="slverr"):
        super().__init__(message)
        self.response = response


class Injection:
    """One :meth:`HostMemory.inject_errors` call: its ranges (``faults``, each a handle for
    :meth:`HostMemory.remove_error`), the accesses it may still fail (``left``, None: until
    removed) and those it has failed (``hits``)."""

    def __init__(self, left):
        self.faults = []
        self.left = left
        self.hits = 0


@dataclass(eq=False)
class _Fault:
    start: int
    end: int          # exclusive
    on: str           # "read", "write" or "both"
    response: str = "slverr"
    injection: Injection | None = None

    def hits(self, addr: int, length: int, kind: str) -> bool:
        return self.on in (kind, "both") and addr < self.end and addr + max(length, 1) > self.start


class HostMemory:
    """Physical memory of ``size`` bytes at physical address ``base``.

    ``HostMemory(dut=dut)`` (or :meth:`attach` later) connects it to the DUT's ``m_axi_*`` port;
    ``mem.axi`` is the :class:`cosim.axi_slave.AxiMemorySlave`. Back-pressure per channel with
    :meth:`set_pause`.
    """

    def __init__(self, size: int = DEFAULT_MEMORY_SIZE, base: int = 0, *, dut=None,
                 prefix: str = "m_axi"):
        if size <= 0:
            raise ValueError("memory size must be positive")
        self.size = int(size)
        self.base = int(base)
        self.mem = bytearray(self.size)
        self._faults: list[_Fault] = []
        self.axi = None
        #: bus accesses answered with SLVERR (injected or out of range)
        self.errors = 0
        if dut is not None:
            self.attach(dut, prefix=prefix)

    def attach(self, dut, *, prefix: str = "m_axi"):
        """Answer the DUT's AXI4 master port ``<prefix>_*``; returns the slave."""
        self.axi = AxiMemorySlave(dut, self, prefix=prefix)
        return self.axi

    def set_pause(self, channels: Iterable[str] | str, generator_factory=None) -> None:
        """Back-pressure: ``set_pause("r", lambda: itertools.cycle([1, 0]))``; a factory is
        called once per channel. ``None`` clears the pause generators."""
        if self.axi is None:
            raise RuntimeError("HostMemory is not attached to a DUT")
        for name in [channels] if isinstance(channels, str) else channels:
            self.axi.set_pause(name, None if generator_factory is None else generator_factory())

    # ---- bus side (called by the AXI slave) ---------------------------------------------------

    def bus_read(self, addr: int, n: int) -> bytes:
        off = self._check("read", addr, n)
        return bytes(self.mem[off:off + n])

    def bus_write(self, addr: int, data: bytes, enables) -> None:
        off = self._check("write", addr, len(data))
        for i, (byte, enabled) in enumerate(zip(data, enables)):
            if enabled:
                self.mem[off + i] = byte

    # ---- host side (no simulated time) ------------------------------------------------------

    def _offset(self, addr: int, length: int) -> int:
        off = addr - self.base
        if off < 0 or length < 0 or off + length > self.size:
            raise ValueError(f"access {addr:#x}+{length} outside host memory "
                             f"[{self.base:#x}, {self.base + self.size:#x})")
        return off

    def _check(self, kind: str, addr: int, length: int) -> int:
        for f in self._faults:
            if f.hits(addr, length, kind):
                self.errors += 1
                injection = f.injection
                injection.hits += 1
                if injection.left is not None:
                    injection.left -= 1
                    if not injection.left:
                        self._faults = [g for g in self._faults if g.injection is not injection]
                raise BusFault(f"injected {kind} error at {addr:#x}", f.response)
        try:
            return self._offset(addr, length)
        except ValueError:
            self.errors += 1
            raise

    def read(self, addr: int, n: int) -> bytes:
        off = self._offset(addr, n)
        return bytes(self.mem[off:off + n])

    def write(self, addr: int, data) -> None:
        data = bytes(data)
        off = self._offset(addr, len(data))
        self.mem[off:off + len(data)] = data

    def read32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def write32(self, addr: int, value: int) -> None:
        self.write(addr, int(value).to_bytes(4, "little"))

    def read64(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def write64(self, addr: int, value: int) -> None:
        self.write(addr, int(value).to_bytes(8, "little"))

    def fill(self, addr: int, n: int, byte: int = 0) -> None:
        self.write(addr, bytes([byte]) * n)

    # ---- fault injection --------------------------------------------------------------------

    def inject_error(self, addr: int, length: int, on: str = "both", *,
                     response: str = "slverr", times: int | None = None) -> _Fault:
        """Make bus accesses touching ``[addr, addr+length)`` answer SLVERR (or DECERR with
        ``response="decerr"``), the next ``times`` of them (None: until removed); returns a
        handle for :meth:`remove_error`."""
        return self.inject_errors([(addr, length)], on, response=response,
                                  times=times).faults[0]

    def inject_errors(self, ranges, on: str = "both", *, response: str = "slverr",
                      times: int | None = None) -> Injection:
        """:meth:`inject_error` over several ``(addr, length)`` ranges that share one count:
        the next ``times`` accesses touching any of them fail (then all are removed)."""
        if on not in ("read", "write", "both"):
            raise ValueError(f"on must be 'read', 'write' or 'both', got {on!r}")
        if response not in FAULT_RESPONSES:
            raise ValueError(f"response must be one of {FAULT_RESPONSES}, got {response!r}")
        if times is not None and times <= 0:
            raise ValueError("times must be positive")
        injection = Injection(times)
        for addr, length in ranges:
            if length <= 0:
                raise ValueError("fault length must be positive")
            injection.faults.append(_Fault(int(addr), int(addr) + int(length), on, response,
                                           injection))
        self._faults.extend(injection.faults)
        return injection

    def remove_error(self, fault: _Fault) -> None:
        if fault in self._faults:
            self._faults.remove(fault)

    def clear_errors(self) -> None:
        self._faults.clear()


# ------------------------------------------------------------------------------------------------


class Buffer:
    """A virtual buffer of ``size`` bytes backed by physical ``pages`` (in virtual order).

    Byte ``offset`` lives at ``pages[offset // page_size] + offset % page_size``.
    """

    def __init__(self, memory: HostMemory, pages: list[int], size: int,
                 page_size: int = PAGE_SIZE):
        if size > len(pages) * page_size:
            raise ValueError(f"{len(pages)} pages cannot hold {size} bytes")
        self.memory = memory
        self.pages = list(pages)
        self.size = int(size)
        self.page_size = page_size

    @classmethod
    def allocate(cls, memory: HostMemory, allocator: PageAllocator, size: int) -> "Buffer":
        pages = allocator.alloc_pages(-(-size // allocator.page_size))
        return cls(memory, pages, size, allocator.page_size)

    def free(self, allocator: PageAllocator) -> None:
        allocator.free_pages(self.pages)
        self.pages = []
        self.size = 0

    def phys(self, offset: int) -> int:
        """Physical address of byte ``offset``."""
        if not 0 <= offset < self.size:
            raise IndexError(f"offset {offset} outside buffer of {self.size} bytes")
        return self.pages[offset // self.page_size] + offset % self.page_size

    def segments(self, offset: int = 0, length: int | None = None) -> list[tuple[int, int]]:
        """``(phys_addr, len)`` runs covering ``[offset, offset+length)``; none crosses a page
        boundary (runs are never merged, even if pages happen to be adjacent)."""
        return Mdl(self.pages, self.size, self.page_size).segments(offset, length)

    def write(self, offset: int, data) -> None:
        data = memoryview(bytes(data))
        pos = 0
        for addr, n in self.segments(offset, len(data)):
            self.memory.write(addr, data[pos:pos + n])
            pos += n

    def read(self, offset: int, n: int) -> bytes:
        return b"".join(self.memory.read(addr, k) for addr, k in self.segments(offset, n))

    def __len__(self) -> int:
        return self.size
