"""The WavePci port without a simulator: mapping rules, and a property-based test (hypothesis)
over random packet sizes, page offsets and operation sequences with a fake miniport that
consumes mappings in order: every byte the client wrote comes out exactly once, in order, or
is accounted for by a cancelled packet (a prefix played, the rest revoked)."""

import asyncio
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from portdrv.filter import Communication, DataFlow, Filter, FilterDescriptor, PinDescriptor
from portdrv.formats import AudioDataRange, WaveFormat
from portdrv.hal import SimpleScheduler, SoftPhysicalMemory
from portdrv.ksstate import KSSTATE
from portdrv.service_group import ServiceGroup
from portdrv.status import NTSTATUS
from portdrv.wavepci import AllocatorFraming, PortWavePci

FMT = WaveFormat.pcm(2, 48000, 16)
PAGE = 4096


class FakeStream:
    """Takes mappings while there is room (like a BDL ring) and 'plays' them in order when
    told, releasing them; revokes a tag range on request."""

    def __init__(self, port_stream, memory, room, scheduler):
        self.port_stream, self.memory, self.room = port_stream, memory, room
        self.scheduler = scheduler
        self.queue = []          # (tag, address, length, flags)
        self.out = bytearray()
        self.next_tag = 0
        self.available_calls = 0
        self.state = KSSTATE.STOP

    def pull(self):
        while self.state != KSSTATE.STOP and len(self.queue) < self.room:
            status, address, length, flags = self.port_stream.get_mapping(self.next_tag)
            if status != NTSTATUS.SUCCESS:
                assert status == NTSTATUS.NOT_FOUND
                return
            assert 0 < length and address // PAGE == (address + length - 1) // PAGE
            self.queue.append((self.next_tag, address, length, flags))
            self.next_tag += 1

    def play(self, k):
        for tag, address, length, _ in self.queue[:k]:
            self.out += self.memory.read(address, length)
            assert self.port_stream.release_mapping(tag) == NTSTATUS.SUCCESS
        del self.queue[:k]
        self.pull()

    async def mapping_available(self):
        self.available_calls += 1
        self.pull()

    async def service(self):
        self.pull()

    async def revoke_mappings(self, first, last):
        tags = [q[0] for q in self.queue]
        lo, hi = tags.index(first), tags.index(last)
        count = hi - lo + 1
        del self.queue[lo:hi + 1]
        # no MappingAvailable follows a revoke: ask for mappings again from the DPC, as a
        # miniport's Service would
        self.scheduler.spawn(self.service())
        return NTSTATUS.SUCCESS, count

    async def set_state(self, state):
        self.state = KSSTATE(state)
        if self.state == KSSTATE.STOP:
            assert not self.queue, "STOP with mappings not revoked"
        self.pull()
        return NTSTATUS.SUCCESS

    async def set_format(self, fmt):
        return NTSTATUS.SUCCESS

    async def get_position(self):
        return NTSTATUS.SUCCESS, len(self.out)

    def get_allocator_framing(self):
        return NTSTATUS.SUCCESS, AllocatorFraming(8, 1920)

    async def close(self):
        pass


class FakeMiniport:
    def __init__(self, room):
        self.room = room
        self.streams = []

    async def init(self, port, resources):
        self.resources = resources
        self.group = ServiceGroup(resources.scheduler)
        self.service_calls = 0
        return NTSTATUS.SUCCESS, self.group

    def service(self):
        self.service_calls += 1

    def get_description(self):
        rng = (AudioDataRange(2, 16, 16, 48000, 48000),)
        return FilterDescriptor((PinDescriptor("render", DataFlow.IN, Communication.SINK,
                                               rng, 1),))

    async def new_stream(self, port_stream, pin_id, capture, fmt):
        stream = FakeStream(port_stream, self.resources.memory, self.room,
                            self.resources.scheduler)
        self.streams.append(stream)
        return NTSTATUS.SUCCESS, stream, self.group


async def make_pin(sched, room=5):
    memory = SoftPhysicalMemory(8 << 20)
    resources = SimpleNamespace(memory=memory, scheduler=sched)
    port = PortWavePci()
    assert await port.init(FakeMiniport(room), resources) == NTSTATUS.SUCCESS
    status, pin = await Filter("wave", port).create_pin(0, FMT)
    assert status == NTSTATUS.SUCCESS
    return pin, port.miniport.streams[0]


def run(body):
    async def main():
        sched = SimpleScheduler()
        await sched.run(body(sched))
    asyncio.run(main())


def test_mappings_split_at_pages_and_packets_and_flag_packet_ends():
    async def body(sched):
        pin, fake = await make_pin(sched, room=100)
        _, a = pin.write(bytes(range(256)) * 5, page_offset=PAGE - 100)   # 1280 bytes
        _, b = pin.write(b"\x01" * 8)
        await pin.set_state(KSSTATE.RUN)
        lengths = [(q[2], q[3]) for q in fake.queue]
        assert lengths == [(100, 0), (1180, 1), (8, 1)]
        assert a.physical_address(0) == fake.queue[0][1]
        fake.play(3)
        assert a.status == b.status == NTSTATUS.SUCCESS
        assert bytes(fake.out) == bytes(range(256)) * 5 + b"\x01" * 8
    run(body)


def test_refused_mapping_then_exactly_one_mapping_available():
    async def body(sched):
        pin, fake = await make_pin(sched)
        await pin.set_state(KSSTATE.RUN)             # nothing yet: GetMapping refused
        pin.write(b"\0" * 16)
        pin.write(b"\0" * 16)
        await sched.sleep_100ns(0)
        assert fake.available_calls == 1
        assert len(fake.queue) == 2
    run(body)


def test_terminate_packet_ends_the_packet_being_mapped():
    async def body(sched):
        pin, fake = await make_pin(sched, room=1)
        _, a = pin.write(b"\x02" * (3 * PAGE))
        await pin.set_state(KSSTATE.RUN)
        assert len(fake.queue) == 1
        assert pin.port_stream.terminate_packet() == NTSTATUS.SUCCESS
        fake.play(1)
        assert a.status == NTSTATUS.SUCCESS and len(fake.out) == PAGE
    run(body)


OPS = st.lists(st.one_of(
    st.tuples(st.just("write"), st.integers(1, 3000), st.integers(0, PAGE - 1)),
    st.tuples(st.just("play"), st.integers(1, 6), st.just(0)),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0)),
    st.tuples(st.just("stop"), st.just(0), st.just(0)),
    st.tuples(st.just("terminate"), st.just(0), st.just(0)),
), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(OPS, st.integers(1, 8))
def test_every_byte_once_in_order_or_revoked(ops, room):
    async def body(sched):
        pin, fake = await make_pin(sched, room)
        await pin.set_state(KSSTATE.RUN)
        packets = []                    # (packet, data) in submission order
        counter = 0
        for op, a, b in ops:
            if op == "write":
                counter += 1
                data = bytes((counter * 7 + i) & 0xFF for i in range(4 * a))
                status, packet = pin.write(data, page_offset=b)
                assert status == NTSTATUS.PENDING
                packets.append((packet, data))
                await sched.sleep_100ns(0)
            elif op == "play":
                fake.play(a)
            elif op == "cancel":
                pending = [p for p, _ in packets if not p.completed]
                if pending:
                    await pin.cancel(pending[a % len(pending)])
            elif op == "stop":
                await pin.set_state(KSSTATE.STOP)
                assert not pin._mappings
                await pin.set_state(KSSTATE.RUN)
            elif op == "terminate":
                pin.port_stream.terminate_packet()
        await sched.sleep_100ns(0)          # the fake's DPC after a revoke
        while fake.queue:
            fake.play(len(fake.queue))
        # what came out is, packet by packet in order, each packet's data (all of it for a
        # completed packet, a prefix for a cancelled or terminated one); nothing else
        out, pos = bytes(fake.out), 0
        for packet, data in packets:
            played = packet.done if packet.status != NTSTATUS.SUCCESS else \
                packet.limit
            assert out[pos:pos + played] == data[:played]
            pos += played
        assert pos == len(out)
        assert all(packet.completed for packet, _ in packets)
        position, mapped = await pin.get_position()
        assert position == len(out) and mapped >= len(out)
    run(body)
