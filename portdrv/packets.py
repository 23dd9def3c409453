"""Client packets (IRPs with their KSSTREAM_HEADER) and the queue a pin keeps them in.

A :class:`Packet` holds ``size`` bytes in virtual memory backed by physical pages that need not
be contiguous (the locked-down client buffer). Render packets arrive full and are consumed;
capture packets arrive empty and are filled. A packet completes (its event is set) when all of
it has been consumed or filled, when it is cancelled, or when the stream stops. Both the
cyclic-buffer pins (render data copied out of packets through a :class:`PacketQueue`) and the
WavePci pin (which hands out mappings of the packets' pages) use :class:`Packet`.
"""

from __future__ import annotations

from .memory import MappedBuffer, allocate_mdl, free_mdl
from .status import NTSTATUS

__all__ = ["Packet", "PacketQueue"]


class Packet:
    """One client packet. ``end_of_stream`` marks the last render packet of a stream."""

    def __init__(self, memory, scheduler, size, data=None, end_of_stream=False, page_offset=0):
        if data is not None:
            size = len(data)
        if not 0 <= page_offset < memory.page_size:
            raise ValueError(f"page offset {page_offset} outside a page")
        self.memory = memory
        self.size = int(size)
        #: where the data starts in its first page (a client buffer need not be page aligned)
        self.page_offset = page_offset if self.size else 0
        self.mdl = allocate_mdl(memory, self.size + self.page_offset) if self.size else None
        if self.size and self.mdl is None:
            raise MemoryError(f"no memory for a {self.size}-byte packet")
        self.buffer = _Window(MappedBuffer(memory, self.mdl), self.page_offset) \
            if self.mdl else None
        if data:
            self.buffer.write(0, data)
        self.end_of_stream = end_of_stream
        self.done = 0                      # bytes consumed (render) or filled (capture)
        # scatter/gather (WavePci): bytes handed out in mappings, where mapping ends (the size,
        # or less after TerminatePacket), and mappings handed out but not released
        self.mapped = 0
        self.limit = self.size
        self.outstanding = 0
        self.status = NTSTATUS.PENDING
        self.event = scheduler.new_event()

    def physical_address(self, offset):
        """The physical address of byte ``offset`` of the packet's data."""
        at = self.page_offset + offset
        page = self.memory.page_size
        return self.mdl.pages[at // page] + at % page

    def page_run(self, offset):
        """Bytes from ``offset`` to the end of that page (or of the packet)."""
        at = self.page_offset + offset
        return min(self.size - offset, self.memory.page_size - at % self.memory.page_size)

    @property
    def remaining(self):
        return self.size - self.done

    @property
    def completed(self):
        return self.status != NTSTATUS.PENDING

    def data(self):
        """The bytes filled so far (capture) or the whole packet (render)."""
        return self.buffer.read(0, self.done) if self.buffer and self.done else b""

    def complete(self, status=NTSTATUS.SUCCESS):
        if not self.completed:
            self.status = status
            self.event.set()

    async def wait(self):
        """Wait for completion; returns the final status."""
        await self.event.wait()
        return self.status

    def release(self):
        """Give the packet's pages back (after completion)."""
        if self.mdl is not None:
            free_mdl(self.memory, self.mdl)
            self.mdl = None
            self.buffer = None


class _Window:
    """A MappedBuffer seen from ``offset`` on."""

    def __init__(self, mapping, offset):
        self.mapping, self.offset = mapping, offset

    def read(self, at, n):
        return self.mapping.read(self.offset + at, n)

    def write(self, at, data):
        self.mapping.write(self.offset + at, data)


class PacketQueue:
    """Pending packets of one pin, oldest first."""

    def __init__(self):
        self.packets = []
        self.end_of_stream = False      # the EOS packet has been fully consumed
        self.eos_queued = False         # an EOS packet was submitted

    def submit(self, packet):
        if self.eos_queued:
            return NTSTATUS.INVALID_DEVICE_STATE
        self.packets.append(packet)
        if packet.end_of_stream:
            self.eos_queued = True
        if packet.size == 0:
            self._retire_empty()
        return NTSTATUS.PENDING

    @property
    def pending_bytes(self):
        return sum(p.remaining for p in self.packets)

    def _retire_empty(self):
        while self.packets and self.packets[0].remaining == 0:
            done = self.packets.pop(0)
            if done.end_of_stream:
                self.end_of_stream = True
            done.complete()
            done.release()

    def take(self, n):
        """Consume up to ``n`` bytes of render data; packets used up complete."""
        out = bytearray()
        while n > 0 and self.packets:
            head = self.packets[0]
            k = min(n, head.remaining)
            if k:
                out += head.buffer.read(head.done, k)
                head.done += k
                n -= k
            self._retire_empty()
        return bytes(out)

    def cancel(self, packet):
        """Cancel one pending packet (IoCancelIrp); NOT_FOUND if it is not queued."""
        if packet not in self.packets:
            return NTSTATUS.NOT_FOUND
        self.packets.remove(packet)
        if packet.end_of_stream:
            self.eos_queued = False
        packet.complete(NTSTATUS.CANCELLED)
        return NTSTATUS.SUCCESS

    def cancel_all(self):
        """Complete every pending packet as cancelled (STOP) and forget end of stream."""
        packets, self.packets = self.packets, []
        for packet in packets:
            packet.complete(NTSTATUS.CANCELLED)
        self.end_of_stream = self.eos_queued = False
        return len(packets)
