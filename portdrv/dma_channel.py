"""The DMA channel a WaveCyclic miniport streams through (IDmaChannel, NewMasterDmaChannel).

A master DMA channel owns one physically contiguous *common buffer* that both the CPU and the
device see: the miniport points the hardware at :attr:`DmaChannel.physical_address`, the port
copies audio in and out through :meth:`DmaChannel.copy_to` / :meth:`DmaChannel.copy_from`.
:attr:`DmaChannel.buffer_size` is the part in use; it can be set below the allocated size.
"""

from __future__ import annotations

from .memory import MappedBuffer, Mdl
from .status import NTSTATUS

__all__ = ["DmaChannel", "new_master_dma_channel"]


class DmaChannel:
    """A bus-master channel of at most ``maximum_length`` bytes over a PhysicalMemory."""

    def __init__(self, memory, maximum_length):
        self._memory = memory
        self.maximum_buffer_size = int(maximum_length)
        self.physical_address = None
        self.allocated_buffer_size = 0
        self._buffer_size = 0
        self.system_address = None     # the CPU's mapping of the common buffer

    def allocate_buffer(self, size, max_address=None) -> int:
        """AllocateBuffer: ``size`` contiguous bytes (below ``max_address`` if given)."""
        if self.physical_address is not None:
            return NTSTATUS.INVALID_DEVICE_STATE
        if not 0 < size <= self.maximum_buffer_size:
            return NTSTATUS.INVALID_PARAMETER
        address = self._memory.allocate_contiguous(size, align=self._memory.page_size)
        if address is None:
            return NTSTATUS.INSUFFICIENT_RESOURCES
        if max_address is not None and address + size - 1 > max_address:
            self._memory.free(address)
            return NTSTATUS.INSUFFICIENT_RESOURCES
        pages = [address + i for i in range(0, size, self._memory.page_size)]
        self.physical_address = address
        self.allocated_buffer_size = self._buffer_size = size
        self.system_address = MappedBuffer(self._memory,
                                           Mdl(pages, size, self._memory.page_size, True))
        return NTSTATUS.SUCCESS

    def free_buffer(self):
        if self.physical_address is not None:
            self._memory.free(self.physical_address)
        self.physical_address = None
        self.allocated_buffer_size = self._buffer_size = 0
        self.system_address = None

    @property
    def buffer_size(self):
        return self._buffer_size

    def set_buffer_size(self, size):
        """Use the first ``size`` bytes of the allocation (SetBufferSize)."""
        if not 0 < size <= self.allocated_buffer_size:
            raise ValueError(f"buffer size {size} outside 1..{self.allocated_buffer_size}")
        self._buffer_size = int(size)

    def copy_to(self, offset, data):
        """CopyTo: write ``data`` into the common buffer at ``offset``."""
        if offset < 0 or offset + len(data) > self._buffer_size:
            raise ValueError(f"copy of {len(data)} bytes at {offset} outside the buffer")
        self.system_address.write(offset, data)

    def copy_from(self, offset, n):
        """CopyFrom: ``n`` bytes of the common buffer at ``offset``."""
        if offset < 0 or offset + n > self._buffer_size:
            raise ValueError(f"copy of {n} bytes at {offset} outside the buffer")
        return self.system_address.read(offset, n)


def new_master_dma_channel(memory, maximum_length):
    """PcNewMasterDmaChannel / IPortWaveCyclic::NewMasterDmaChannel: ``(status, channel)``."""
    if maximum_length <= 0:
        return NTSTATUS.INVALID_PARAMETER, None
    return NTSTATUS.SUCCESS, DmaChannel(memory, maximum_length)
