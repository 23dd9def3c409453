"""Physical pages: :class:`PageAllocator` hands out the pages of a physical range, and
:class:`PagedPhysicalMemory` makes a memory and its allocator the HAL's
:class:`~portdrv.hal.PhysicalMemory` (the simulated host's memory, a board's RAM). Pure Python.
"""

from __future__ import annotations

import bisect
import random
from typing import Iterable

from .hal import PhysicalMemory

__all__ = ["PageAllocator", "PagedPhysicalMemory", "PAGE_SIZE"]

PAGE_SIZE = 4096


class PageAllocator:
    """Physical page allocator over ``[base, base + memory_size)``.

    :meth:`alloc_pages` returns pages in a pseudo-random order (deterministic for ``seed``) such
    that no two consecutive results are physically adjacent. :meth:`alloc_contiguous` returns a
    contiguous, aligned run of whole pages. Page 0 (the page at ``base``) is never handed out.
    """

    def __init__(self, memory_size: int, page_size: int = PAGE_SIZE,
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


class PagedPhysicalMemory(PhysicalMemory):
    """A memory (anything with ``read(address, n)`` and ``write(address, data)``) and a
    :class:`PageAllocator` over it as the HAL's :class:`~portdrv.hal.PhysicalMemory`."""

    def __init__(self, memory, allocator):
        self.memory = memory
        self.allocator = allocator
        self.page_size = allocator.page_size

    def allocate_pages(self, count):
        try:
            return self.allocator.alloc_pages(count)
        except MemoryError:
            return None

    def allocate_contiguous(self, nbytes, align=128):
        try:
            return self.allocator.alloc_contiguous(nbytes, align)
        except MemoryError:
            return None

    def free(self, address):
        self.allocator.free(address)

    def read(self, address, n):
        return self.memory.read(address, n)

    def write(self, address, data):
        self.memory.write(address, data)
