"""The WavePci port driver: IPortWavePci, IPortWavePciStream (mappings) and its pins.

A WavePci miniport's hardware does scatter/gather straight from the client's packets: the port
hands out *mappings* (physical address, length, tag, flags) that never cross a page boundary and
never cover more than one packet; flags 1 marks a packet's last mapping. The miniport queues
them to its DMA engine and releases them, in order, as the hardware finishes them; a packet
completes when it has been mapped to its end (or terminated) and all its mappings are released.

- GetMapping answers NOT_FOUND when nothing is ready; the port then calls the stream's
  MappingAvailable once, when the client's next packet arrives - and only then: a cancel or a
  revoke does not call it (IMiniportWavePciStream::MappingAvailable). A miniport that revoked
  mappings asks for more itself (from its Service).
- ReleaseMapping must come in the order the mappings were handed out (IPortWavePciStream::
  ReleaseMapping); an out-of-order release is refused with INVALID_PARAMETER.
- TerminatePacket ends the packet being mapped where the mapping has got to.
- On STOP, and when the client cancels a packet with mappings out, the port calls
  RevokeMappings(first, last) (tags inclusive) and expects the number of mappings revoked that
  had not been released. STOP cancels pending packets, except a capture packet the hardware
  had partly filled: it is terminated there and completes with what it holds.
- Position: a 64-bit byte count since the stream started, from the miniport;
  NormalizePhysicalPosition turns bytes into 100-ns units.
- Service groups: the miniport's Init answers ``(status, group or None)``; the port joins that
  group and its service calls the miniport's Service (IMiniportWavePci::Service). NewStream
  answers a group per stream; the pin joins it and its service calls the stream's Service
  (IMiniportWavePciStream::Service). A stream without a group (NULL) is serviced on the
  port's own timer every :data:`WAVEPCI_SERVICE_PERIOD_100NS` while it is not stopped.

Miniport contract (duck-typed, statuses as values): ``async init(port, resources) -> (status,
service_group)``, ``service()``, ``get_description()``, ``async new_stream(port_stream,
pin_id, capture, fmt) -> (status, stream, service_group)`` (the stream starts with ``fmt``);
stream: ``async set_format(fmt)`` (only for a later change on a stopped pin),
``async set_state(state)``, ``get_allocator_framing() -> (status, AllocatorFraming)``,
``async mapping_available()``, ``async service()``, ``async revoke_mappings(first_tag,
last_tag) -> (status, count)``, ``async get_position() -> (status, bytes)``,
``normalize_physical_position(bytes) -> (status, 100-ns units)``, ``async close()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ksstate import KSSTATE
from .packets import Packet
from .port import Pin, ServiceGroupPort
from .service_group import ServiceTimer
from .status import NTSTATUS, nt_success

__all__ = ["PortWavePci", "PortWavePciStream", "WavePciPin", "Mapping", "AllocatorFraming",
           "WAVEPCI_SERVICE_PERIOD_100NS"]

#: the port's own service period for a stream whose NewStream gave no service group (10 ms,
#: the WaveCyclic port's notification interval)
WAVEPCI_SERVICE_PERIOD_100NS = 100_000


@dataclass(frozen=True)
class AllocatorFraming:
    """KSALLOCATOR_FRAMING: how many packets of what size the client should keep queued."""
    frames: int
    frame_size: int


@dataclass
class Mapping:
    """One mapping handed to the miniport."""
    tag: object
    packet: Packet
    offset: int
    physical_address: int
    length: int
    flags: int
    released: bool = False


class PortWavePciStream:
    """IPortWavePciStream: what the miniport stream calls back (GetMapping, ReleaseMapping,
    TerminatePacket)."""

    def __init__(self, pin):
        self._pin = pin

    def get_mapping(self, tag):
        """``(status, physical_address, length, flags)``; NOT_FOUND if nothing is ready."""
        return self._pin._get_mapping(tag)

    def release_mapping(self, tag):
        return self._pin._release_mapping(tag)

    def terminate_packet(self):
        return self._pin._terminate_packet()


class PortWavePci(ServiceGroupPort):
    """IPortWavePci: binds a WavePci miniport (joining the service group its Init hands back)
    and makes its pins."""

    #: the period of a pin's own service timer when NewStream gave no service group
    service_period_100ns = WAVEPCI_SERVICE_PERIOD_100NS

    async def new_pin(self, filter, pin_id, fmt):
        capture = filter.pins[pin_id].capture
        pin = WavePciPin(self, filter, pin_id, capture, fmt)
        # the initial format goes to NewStream; no SetFormat follows (IMiniportWavePci::
        # NewStream, IMiniportWavePciStream::SetFormat)
        status, stream, group = await self.miniport.new_stream(pin.port_stream, pin_id,
                                                               capture, fmt)
        if not nt_success(status):
            return status, None
        pin.stream, pin.service_group = stream, group
        if group is not None:
            group.add_member(pin)
        else:
            pin.service_timer = ServiceTimer(self.resources.scheduler, pin,
                                             self.service_period_100ns)
        return NTSTATUS.SUCCESS, pin


class WavePciPin(Pin):
    """One open WavePci pin: client packets, the mappings out of them, KSSTATE stepping."""

    def __init__(self, port, filter, pin_id, capture, fmt):
        super().__init__(port, filter, pin_id, capture, fmt)
        self.service_group = None
        self.service_timer = None     # the port's own timer when NewStream gave no group
        self.port_stream = PortWavePciStream(self)
        self._packets = []            # not yet completed, in order
        self._map_index = 0           # index in _packets of the packet being mapped
        self._mappings = {}           # tag -> Mapping, handed out and not released/revoked
        self._refused = False         # a GetMapping was refused: MappingAvailable owed
        self._stopping = False        # the pin is on its way to STOP
        self._eos_queued = False
        self._reading = []            # capture packets queued by read()
        self._read_backlog = bytearray()
        self._changed = self._scheduler.new_event()   # a packet completed
        #: bytes handed out in mappings since the stream started (revoked ones included)
        self.mapped_bytes = 0
        self.mappings_revoked = 0

    @property
    def glitches(self):
        """Times the hardware ran out of mappings while running (the client was late)."""
        return getattr(self.stream, "starvations", 0)

    @property
    def notifications_seen(self):
        """Buffer-completion interrupts the miniport serviced."""
        return getattr(self.stream, "ioc_count", 0)

    # ---- client side --------------------------------------------------------------------------

    def submit(self, packet):
        """Queue a client packet (render: full; capture: to be filled); PENDING. If a
        GetMapping was refused, the miniport hears MappingAvailable (once)."""
        if self._closed:
            return NTSTATUS.INVALID_DEVICE_STATE
        if self._eos_queued and not self.capture:
            return NTSTATUS.INVALID_DEVICE_STATE
        self._packets.append(packet)
        self._eos_queued |= packet.end_of_stream
        if packet.size == 0:
            self._complete_ready()
        if self._refused and self.stream is not None:
            self._refused = False
            self._scheduler.spawn(self.stream.mapping_available())
        return NTSTATUS.PENDING

    def write(self, data, end_of_stream=False, page_offset=0):
        """Queue a render packet of whole frames: ``(status, packet)``. ``page_offset``
        places it that far into its first page, as a client buffer may be."""
        if self.capture:
            return NTSTATUS.INVALID_DEVICE_REQUEST, None
        if len(data) % self.format.block_align:
            return NTSTATUS.INVALID_PARAMETER, None
        return self._new_packet(len(data), data, end_of_stream, page_offset)

    def end_of_stream(self):
        if not self.capture and not self._eos_queued:
            self.write(b"", end_of_stream=True)

    def read_packet(self, size, page_offset=0):
        """Queue an empty capture packet of ``size`` bytes: ``(status, packet)``."""
        if not self.capture:
            return NTSTATUS.INVALID_DEVICE_REQUEST, None
        if size <= 0 or size % self.format.block_align:
            return NTSTATUS.INVALID_PARAMETER, None
        return self._new_packet(size, None, False, page_offset)

    def queue_reads(self):
        """Keep the allocator framing's number of capture packets queued. A client that calls
        this before RUN gives the hardware somewhere to store from the first frame on."""
        if not self.capture:
            return
        status, framing = self.get_allocator_framing()
        if not nt_success(status):
            raise MemoryError("the miniport gave no allocator framing")
        while len(self._reading) < framing.frames:
            status, packet = self.read_packet(framing.frame_size)
            if status != NTSTATUS.PENDING:
                raise MemoryError("no memory for capture packets")
            self._reading.append(packet)

    async def read(self, n):
        """Up to ``n`` bytes of captured audio. Keeps the allocator framing's number of
        capture packets queued (the hardware halts when it has none) and returns the oldest
        once it is full."""
        if not self.capture:
            raise ValueError("read on a render pin")
        while not self._read_backlog:
            self.queue_reads()
            packet = self._reading.pop(0)
            await packet.wait()
            self._read_backlog += packet.data()
            packet.release()
        n = min(n, len(self._read_backlog))
        n -= n % self.format.block_align
        data = bytes(self._read_backlog[:n])
        del self._read_backlog[:n]
        return data

    def _new_packet(self, size, data, eos, page_offset=0):
        try:
            packet = Packet(self._memory, self._scheduler, size, data, eos, page_offset)
        except MemoryError:
            return NTSTATUS.INSUFFICIENT_RESOURCES, None
        return self.submit(packet), packet

    async def cancel(self, packet):
        """Cancel a pending packet; its mappings still out are revoked first."""
        if packet not in self._packets:
            return NTSTATUS.NOT_FOUND
        out = [m for m in self._mappings.values() if m.packet is packet]
        if out:
            await self._revoke(out)
        index = self._packets.index(packet)
        self._packets.remove(packet)
        if index < self._map_index:
            self._map_index -= 1
        if packet.end_of_stream:
            self._eos_queued = False
        packet.complete(NTSTATUS.CANCELLED)
        self._changed.set()
        self._complete_ready()          # packets behind it may have been waiting on it
        # no MappingAvailable here: only a refused GetMapping earns one (IMiniportWavePci
        # Stream::MappingAvailable); a miniport that revoked mappings asks again itself
        return NTSTATUS.SUCCESS

    @property
    def drained(self):
        """Render: every packet up to the end of stream has completed."""
        return self._eos_queued and not self._packets

    async def wait_drained(self):
        while not self.drained:
            self._changed.clear()
            await self._changed.wait()

    async def get_position(self):
        """``(play, mapped)``: bytes played since the stream started (the miniport's 64-bit
        position) and bytes handed out in mappings."""
        status, position = await self.stream.get_position()
        return (position if nt_success(status) else 0), self.mapped_bytes

    def normalize_physical_position(self, position):
        """``(status, 100-ns units)`` (IMiniportWavePciStream::NormalizePhysicalPosition)."""
        return self.stream.normalize_physical_position(position)

    def get_allocator_framing(self):
        """``(status, AllocatorFraming)`` (IMiniportWavePciStream::GetAllocatorFraming)."""
        return self.stream.get_allocator_framing()

    # ---- state ----------------------------------------------------------------------------------

    async def _step(self, state):
        # from here until the stream is stopped no mapping is handed out (a DPC the revoke
        # requested would otherwise map packets STOP is about to cancel)
        self._stopping = state == KSSTATE.STOP
        try:
            if self._stopping and self._mappings:
                await self._revoke(list(self._mappings.values()))
            status = await self.stream.set_state(state)
        finally:
            self._stopping = False
        if not nt_success(status):
            return status
        if state == KSSTATE.STOP:
            self._flush()
        if self.service_timer is not None:
            if state == KSSTATE.STOP:
                self.service_timer.stop()
            else:
                self.service_timer.start()
        return status

    def _flush(self):
        """STOP: pending packets complete as cancelled, but a capture packet the hardware had
        partly filled is terminated there and completes with its data (TerminatePacket, as
        the port does on RUN -> STOP); the mapping cursor restarts."""
        self._reading.clear()
        self._read_backlog.clear()
        for packet in self._packets:
            if self.capture and packet.done:
                packet.limit = packet.done
                packet.complete(NTSTATUS.SUCCESS)
                continue
            packet.complete(NTSTATUS.CANCELLED)
            if not self.capture:
                packet.release()
        self._packets.clear()
        self._map_index = 0
        self._eos_queued = False
        self._changed.set()

    async def close(self):
        if self._closed:
            return
        await self.set_state(KSSTATE.STOP)
        self._closed = True
        if self.service_group is not None:
            self.service_group.remove_member(self)
        if self.service_timer is not None:
            self.service_timer.stop()
        await self.stream.close()
        self.filter.pin_closed(self)

    # ---- the service routine (DPC) --------------------------------------------------------------

    async def service(self):
        """From the miniport's service group: the miniport stream's Service."""
        if not self._closed and self.stream is not None:
            await self.stream.service()

    # ---- IPortWavePciStream ---------------------------------------------------------------------

    def _get_mapping(self, tag):
        if self._stopping:
            return NTSTATUS.NOT_FOUND, 0, 0, 0
        while self._map_index < len(self._packets):
            packet = self._packets[self._map_index]
            mapped, limit = packet.mapped, packet.limit
            if mapped >= limit:
                self._map_index += 1
                continue
            address = packet.physical_address(mapped)
            length = min(limit - mapped, packet.page_run(mapped))
            last = mapped + length == limit
            mapping = Mapping(tag, packet, mapped, address, length, 1 if last else 0)
            if tag in self._mappings:
                return NTSTATUS.INVALID_PARAMETER, 0, 0, 0
            self._mappings[tag] = mapping
            packet.mapped = mapped + length
            packet.outstanding = packet.outstanding + 1
            self.mapped_bytes += length
            if last:
                self._map_index += 1
            return NTSTATUS.SUCCESS, address, length, mapping.flags
        self._refused = True
        return NTSTATUS.NOT_FOUND, 0, 0, 0

    def _release_mapping(self, tag):
        # mappings are released in the order they were handed out (IPortWavePciStream::
        # ReleaseMapping): only the oldest outstanding tag may go
        if not self._mappings or next(iter(self._mappings)) != tag:
            return NTSTATUS.INVALID_PARAMETER
        mapping = self._mappings.pop(tag)
        mapping.released = True
        packet = mapping.packet
        packet.outstanding -= 1
        packet.done = max(packet.done, mapping.offset + mapping.length)
        self._complete_ready()
        return NTSTATUS.SUCCESS

    def _terminate_packet(self):
        if self._map_index >= len(self._packets):
            return NTSTATUS.NOT_FOUND
        packet = self._packets[self._map_index]
        packet.limit = packet.mapped
        self._map_index += 1
        self._complete_ready()
        return NTSTATUS.SUCCESS

    def _complete_ready(self):
        """Complete, in order, the packets mapped to their end with nothing outstanding."""
        while self._packets:
            packet = self._packets[0]
            limit = packet.limit
            if packet.mapped < limit or packet.outstanding:
                break
            self._packets.pop(0)
            self._map_index = max(0, self._map_index - 1)
            packet.complete(NTSTATUS.SUCCESS)
            if not self.capture:
                packet.release()
            self._changed.set()

    async def _revoke(self, mappings):
        """RevokeMappings over the tag range of ``mappings`` (in hand-out order)."""
        order = list(self._mappings)
        tags = sorted((m.tag for m in mappings), key=order.index)
        status, count = await self.stream.revoke_mappings(tags[0], tags[-1])
        first, last = order.index(tags[0]), order.index(tags[-1])
        revoked = order[first:last + 1]
        for tag in revoked:
            mapping = self._mappings.pop(tag, None)
            if mapping is not None:
                mapping.packet.outstanding -= 1
                # the bytes of a revoked mapping are mapped again if the packet lives on
                mapping.packet.mapped = min(mapping.packet.mapped, mapping.offset)
        self.mappings_revoked += count if nt_success(status) else 0
        for index, packet in enumerate(self._packets):
            if packet.mapped < packet.limit:
                self._map_index = index
                break
        else:
            self._map_index = len(self._packets)
        return status, count
