"""The host's physical memory, its page allocator and scatter/gather buffers.

- :class:`HostMemory`: a physical address space (default 64 MiB at 0) that answers the DUT's AXI4
  master port through :class:`cosim.axi_slave.AxiMemorySlave`; the host side reads and writes it
  directly (no simulated time). Address ranges can be made to fail: a bus access touching them
  gets SLVERR. Accesses outside the memory fail too.
- :class:`PageAllocator`: hands out pages that are deliberately not physically contiguous, so
  scatter/gather DMA is really exercised, and contiguous runs for BDLs and position buffers. It
  never hands out page 0, so a zero address is always a bug. Pure Python.
- :class:`Buffer`: a virtual buffer backed by a list of physical pages.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import Iterable

from portdrv.memory import Mdl

from .axi_slave import AxiMemorySlave

__all__ = ["HostMemory", "BusFault", "PageAllocator", "Buffer", "PAGE_SIZE",
           "DEFAULT_MEMORY_SIZE"]

PAGE_SIZE = 4096
DEFAULT_MEMORY_SIZE = 64 << 20


class BusFault(Exception):
    """Raised for an injected error; the AXI slave answers SLVERR."""


@dataclass(frozen=True)
class _Fault:
    start: int
    end: int          # exclusive
    on: str           # "read", "write" or "both"

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
                raise BusFault(f"injected {kind} error at {addr:#x}")
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

    def inject_error(self, addr: int, length: int, on: str = "both") -> _Fault:
        """Make bus accesses touching ``[addr, addr+length)`` answer SLVERR; returns a handle
        for :meth:`remove_error`."""
        if on not in ("read", "write", "both"):
            raise ValueError(f"on must be 'read', 'write' or 'both', got {on!r}")
        if length <= 0:
            raise ValueError("fault length must be positive")
        fault = _Fault(int(addr), int(addr) + int(length), on)
        self._faults.append(fault)
        return fault

    def remove_error(self, fault: _Fault) -> None:
        self._faults.remove(fault)

    def clear_errors(self) -> None:
        self._faults.clear()


# ------------------------------------------------------------------------------------------------


class PageAllocator:
    """Physical page allocator over ``[base, base + memory_size)``.

    :meth:`alloc_pages` returns pages in a pseudo-random order (deterministic for ``seed``) such
    that no two consecutive results are physically adjacent. :meth:`alloc_contiguous` returns a
    contiguous, aligned run of whole pages. Page 0 (the page at ``base``) is never handed out.
    """

    def __init__(self, memory_size: int = DEFAULT_MEMORY_SIZE, page_size: int = PAGE_SIZE,
                 seed: int = 0, base: int = 0):
        if page_size <= 0 or page_size & (page_size - 1):
            raise ValueError("page size must be a power of two")
        if memory_size < 2 * page_size:
            raise ValueError("memory must hold at least two pages")
        self.page_size = page_size
        self.base = base
        self.num_pages = memory_size // page_size
        self._free = list(range(1, self.num_pages))   # sorted free page indices
        self._allocs: dict[int, int] = {}            # first page index -> page count
        self._rng = random.Random(seed)

    @property
    def free_page_count(self) -> int:
        return len(self._free)

    def _addr(self, index: int) -> int:
        return self.base + index * self.page_size

    def _index(self, addr: int) -> int:
        off = addr - self.base
        if off % self.page_size:
            raise ValueError(f"{addr:#x} is not page aligned")
        return off // self.page_size

    def _take(self, index: int) -> None:
        i = bisect.bisect_left(self._free, index)
        assert i < len(self._free) and self._free[i] == index
        del self._free[i]

    def alloc_pages(self, n: int) -> list[int]:
        """``n`` page addresses, no two consecutive ones physically adjacent."""
        if n < 0:
            raise ValueError("page count must not be negative")
        if n > len(self._free):
            raise MemoryError(f"cannot allocate {n} pages: only {len(self._free)} of "
                              f"{self.num_pages - 1} pages are free")
        chosen: list[int] = []
        prev = None
        for k in range(n):
            pick = None
            for _ in range(16):
                cand = self._free[self._rng.randrange(len(self._free))]
                if prev is None or abs(cand - prev) != 1:
                    pick = cand
                    break
            if pick is None:   # crowded: scan from a random point for a non-adjacent page
                start = self._rng.randrange(len(self._free))
                for j in range(len(self._free)):
                    cand = self._free[(start + j) % len(self._free)]
                    if abs(cand - prev) != 1:
                        pick = cand
                        break
            if pick is None:
                for p in chosen:       # undo
                    bisect.insort(self._free, p)
                    del self._allocs[p]
                raise MemoryError(f"cannot allocate {n} non-contiguous pages: the free pages "
                                  f"left are all adjacent")
            self._take(pick)
            self._allocs[pick] = 1
            chosen.append(pick)
            prev = pick
        return [self._addr(p) for p in chosen]

    def alloc_contiguous(self, nbytes: int, align: int = 128) -> int:
        """Address of ``nbytes`` of physically contiguous memory aligned to ``align`` (whole
        pages are reserved; any ``align`` up to the page size is met by page alignment)."""
        if nbytes <= 0:
            raise ValueError("size must be positive")
        if align <= 0 or align & (align - 1):
            raise ValueError("alignment must be a power of two")
        npages = -(-nbytes // self.page_size)
        free = set(self._free)
        start = self._rng.randrange(self.num_pages)
        for j in range(self.num_pages):
            first = (start + j) % self.num_pages
            if first == 0 or first + npages > self.num_pages or self._addr(first) % align:
                continue
            if all(p in free for p in range(first, first + npages)):
                for p in range(first, first + npages):
                    self._take(p)
                self._allocs[first] = npages
                return self._addr(first)
        raise MemoryError(f"cannot allocate {nbytes} contiguous bytes (aligned {align}): "
                          f"{len(self._free)} pages free but no run of {npages} is")

    def free(self, addr: int) -> None:
        """Free one allocation (a page from alloc_pages or a run from alloc_contiguous)."""
        first = self._index(addr)
        npages = self._allocs.pop(first, None)
        if npages is None:
            raise ValueError(f"{addr:#x} is not an allocation of this allocator")
        for p in range(first, first + npages):
            bisect.insort(self._free, p)

    def free_pages(self, pages: Iterable[int]) -> None:
        for addr in pages:
            self.free(addr)


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
