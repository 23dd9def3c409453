"""Memory descriptor lists: buffers of physical pages as the port layer hands them out.

An :class:`Mdl` lists the physical pages behind a buffer (MmAllocatePagesForMdl and its
contiguous variant); :class:`MappedBuffer` is its "system address" mapping
(MmMapLockedPagesSpecifyCache), through which the CPU reads and writes the buffer by virtual
offset while the device sees the scattered pages.
"""

from __future__ import annotations

__all__ = ["Mdl", "MappedBuffer", "CyclicBuffer", "allocate_mdl", "free_mdl"]


class Mdl:
    """``byte_count`` bytes on ``pages`` (physical page addresses in virtual order)."""

    def __init__(self, pages, byte_count, page_size, contiguous=False):
        if byte_count > len(pages) * page_size:
            raise ValueError(f"{len(pages)} pages cannot hold {byte_count} bytes")
        self.pages = list(pages)
        self.byte_count = int(byte_count)
        self.page_size = page_size
        self.contiguous = contiguous

    @property
    def page_count(self):
        return len(self.pages)

    def segments(self, offset=0, length=None):
        """``(physical address, length)`` runs covering ``[offset, offset + length)``; none
        crosses a page boundary."""
        if length is None:
            length = self.byte_count - offset
        if offset < 0 or length < 0 or offset + length > self.byte_count:
            raise IndexError(f"range {offset}+{length} outside a buffer of {self.byte_count}"
                             f" bytes")
        out = []
        while length:
            in_page = offset % self.page_size
            n = min(length, self.page_size - in_page)
            out.append((self.pages[offset // self.page_size] + in_page, n))
            offset += n
            length -= n
        return out


def allocate_mdl(memory, size, contiguous=False):
    """An :class:`Mdl` of ``size`` bytes from a :class:`portdrv.hal.PhysicalMemory`, or None."""
    if size <= 0:
        return None
    npages = -(-size // memory.page_size)
    if contiguous:
        base = memory.allocate_contiguous(npages * memory.page_size, align=memory.page_size)
        if base is None:
            return None
        pages = [base + i * memory.page_size for i in range(npages)]
    else:
        pages = memory.allocate_pages(npages)
        if pages is None:
            return None
    return Mdl(pages, size, memory.page_size, contiguous)


def free_mdl(memory, mdl):
    """Give an :func:`allocate_mdl` buffer's pages back."""
    if mdl.contiguous:
        if mdl.pages:
            memory.free(mdl.pages[0])
    else:
        for page in mdl.pages:
            memory.free(page)
    mdl.pages = []
    mdl.byte_count = 0


class MappedBuffer:
    """CPU access to an :class:`Mdl` by offset (the mapped system address)."""

    def __init__(self, memory, mdl):
        self.memory = memory
        self.mdl = mdl

    def __len__(self):
        return self.mdl.byte_count

    def write(self, offset, data):
        data = memoryview(bytes(data))
        pos = 0
        for addr, n in self.mdl.segments(offset, len(data)):
            self.memory.write(addr, data[pos:pos + n])
            pos += n

    def read(self, offset, n):
        return b"".join(self.memory.read(a, k) for a, k in self.mdl.segments(offset, n))


class CyclicBuffer:
    """``size`` bytes from ``offset`` of a :class:`MappedBuffer`, addressed by a position that
    wraps at ``size`` (a WaveRT cyclic buffer inside its MDL)."""

    def __init__(self, mapping, offset, size):
        if offset < 0 or size <= 0 or offset + size > len(mapping):
            raise ValueError(f"cyclic buffer {offset}+{size} outside a mapping of "
                             f"{len(mapping)} bytes")
        self.mapping = mapping
        self.offset = offset
        self.size = size

    def __len__(self):
        return self.size

    def _runs(self, position, n):
        if n > self.size:
            raise ValueError(f"{n} bytes do not fit a cyclic buffer of {self.size}")
        position %= self.size
        first = min(n, self.size - position)
        yield self.offset + position, first
        if first < n:
            yield self.offset, n - first

    def write(self, position, data):
        data = bytes(data)
        done = 0
        for at, n in self._runs(position, len(data)):
            self.mapping.write(at, data[done:done + n])
            done += n

    def read(self, position, n):
        return b"".join(self.mapping.read(at, k) for at, k in self._runs(position, n))

