"""portdrv's WaveRT path without a simulator: the pure-Python HAL (SimpleScheduler,
SoftPhysicalMemory), MDLs and mapped buffers, filters and the subdevice registry, the WaveRT port
with its audio engine, and the client API.

The miniport here is a FAKE (FakeMiniport / FakeStream) that models the hardware in virtual
time: after RUN a cyclic buffer is consumed at the format's byte rate; the render DMA fetches a
FIFO's worth ahead of the play position and hands what it fetched, read from the scattered
physical pages, to a "DAC" (``FakeStream.out``); the capture DMA stores bytes of a known
source into the pages. IOC at the buffer's mid-point/end sets the registered events (a timer
tick checks for crossings); ``mute_until`` drops those interrupts to make the engine late. Every
``set_state`` step the port asks for is recorded, jumps are refused like the real miniport.
"""

import asyncio
import random
from types import SimpleNamespace

import pytest

from portdrv.client import AudioClient
from portdrv.filter import (Communication, DataFlow, Filter, FilterDescriptor, PinDescriptor,
                            SubdeviceRegistry)
from portdrv.formats import AudioDataRange, Intersection, WaveFormat
from portdrv.hal import (BusError, RegisterAccess, ResourceList, SimpleScheduler,
                         SoftInterruptLine, SoftPhysicalMemory)
from portdrv.ksstate import KSSTATE
from portdrv.memory import CyclicBuffer, MappedBuffer, Mdl, allocate_mdl, free_mdl
from portdrv.status import NTSTATUS, StatusError
from portdrv.wavert import (AudioPosition, DeviceDescription, HwLatency, HwRegister, PortWaveRT,
                            PortWaveRTStream, RegisterMapping)

SUCCESS = NTSTATUS.SUCCESS
STOP, ACQUIRE, PAUSE, RUN = KSSTATE.STOP, KSSTATE.ACQUIRE, KSSTATE.PAUSE, KSSTATE.RUN

MS = 10_000                              # 100-ns units per millisecond
FMT = WaveFormat.pcm(2, 48000, 16)       # 4-byte frames, 192000 bytes/s
BUF = 9600                               # 50 ms: three (scattered) 4 KiB pages
TICK = 50 * MS // 16                     # hardware timer tick: 1/16 of the buffer period
FIFO = 64
PAGE = 4096

PIN_RENDER, PIN_CAPTURE, PIN_RENDER_BRIDGE, PIN_CAPTURE_BRIDGE = range(4)
RANGES = (AudioDataRange(2, 16, 16, 8000, 48000), AudioDataRange(2, 24, 24, 8000, 48000))
PINS = (
    PinDescriptor("render", DataFlow.IN, Communication.SINK, RANGES, 2),
    PinDescriptor("capture", DataFlow.OUT, Communication.SINK, RANGES, 1),
    PinDescriptor("render bridge", DataFlow.OUT, Communication.BRIDGE, (), 0),
    PinDescriptor("capture bridge", DataFlow.IN, Communication.BRIDGE, (), 0),
)


def run(body):
    """Run ``body(sched)`` under asyncio with a fresh virtual-time scheduler."""
    async def main():
        sched = SimpleScheduler()
        return await sched.run(body(sched))
    return asyncio.run(main())


def audio(nbytes, seed):
    """``nbytes`` (whole frames) of random audio; the first frame is never silent."""
    data = bytearray(random.Random(seed).randbytes(nbytes - nbytes % FMT.block_align))
    data[:4] = b"\x11\x22\x33\x44"
    return bytes(data)


def bytes_at(ms):
    return ms * FMT.avg_bytes_per_sec // 1000


async def within(sched, coro, limit_100ns, poll=MS):
    """Await ``coro`` but fail (instead of hanging) if it takes longer than ``limit_100ns``."""
    task = sched.spawn(coro)
    deadline = sched.now_100ns() + limit_100ns
    while not task.done():
        if sched.now_100ns() >= deadline:
            task.cancel()
            raise AssertionError(f"not done within {limit_100ns // MS} ms of virtual time")
        await sched.sleep_100ns(poll)
    return task.result()


def common_prefix(a, b):
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


# ---------------------------------------------------------------- fakes


class FakeRegisters(RegisterAccess):
    """A register window of 32-bit words (missing words read 0)."""

    def __init__(self):
        self.words = {}
        self.reads = []

    async def read32(self, offset):
        assert offset % 4 == 0
        self.reads.append(offset)
        return self.words.get(offset, 0)

    async def write(self, offset, data):
        raise AssertionError("the WaveRT port never writes registers")


class FakeStream:
    """A miniport stream plus the hardware behind it (see the module docstring)."""

    def __init__(self, miniport, port_stream, pin_id, capture, fmt):
        self.miniport = miniport
        self.sched = miniport.sched
        self.memory = miniport.memory
        self.port_stream = port_stream
        self.pin_id = pin_id
        self.capture = capture
        self.fmt = fmt
        self.formats = []
        self.state = STOP
        self.steps = []                  # every set_state the port asked for
        self.fail = {}                   # (from, to) -> status to answer instead
        self.events = []
        self.mdl = None
        self.size = 0
        self.base = 0                    # where the buffer starts inside the MDL
        self.count = 0
        self.freed = []                  # free_audio_buffer calls
        self.freed_with_notification = []    # free_buffer_with_notification calls
        self.closed = False
        self.mute_until = -1             # IOC interrupts before this time are lost
        self.ioc = 0                     # boundary crossings
        self.ioc_signalled = 0           # times the events were set
        self.out = bytearray()           # render: what the DMA fetched, in order (the "DAC")
        self._gen = 0
        self._reset_counters()

    def _reset_counters(self):
        self.base_frames = 0
        self.run_start = None
        self.started = False
        self.moved = 0                   # render: bytes fetched; capture: bytes stored

    # ---- the hardware model
    def frames(self):
        f = self.base_frames
        if self.run_start is not None:
            f += (self.sched.now_100ns() - self.run_start) * self.fmt.samples_per_sec // 10**7
        return f

    def consumed(self):
        """Linear bytes played (render) or sampled (capture) since the last STOP."""
        return self.frames() * self.fmt.block_align

    def _phys(self, off, n):
        return self.mdl.segments(self.base + off, n)

    def catch_up(self):
        """Move the DMA to where it is now, doing the memory accesses it did meanwhile."""
        if not self.started:
            return
        target = self.consumed() + (0 if self.capture else FIFO)
        old = self.moved
        while self.moved < target:
            off = self.moved % self.size
            n = min(target - self.moved, self.size - off)
            if self.capture:
                data = memoryview(self.miniport.source[self.moved:self.moved + n])
                pos = 0
                for addr, k in self._phys(off, n):
                    self.memory.write(addr, data[pos:pos + k])
                    pos += k
            else:
                self.out += b"".join(self.memory.read(a, k) for a, k in self._phys(off, n))
            self.moved += n
        if self.count:
            seg = self.size // self.count
            crossed = target // seg - old // seg
            if crossed > 0:
                self.ioc += crossed
                if self.sched.now_100ns() >= self.mute_until:
                    self.ioc_signalled += 1
                    for event in self.events:
                        event.set()

    async def _ticker(self, gen):
        while True:
            await self.sched.sleep_100ns(TICK)
            if self._gen != gen or self.state != RUN:
                return
            self.catch_up()

    # ---- IMiniportWaveRTStream
    async def set_format(self, fmt):
        self.formats.append(fmt)
        if self.state == RUN:
            return NTSTATUS.INVALID_PARAMETER     # IMiniportWaveRTStream::SetFormat
        if self.miniport.set_format_status == SUCCESS:
            self.fmt = fmt
        return self.miniport.set_format_status

    async def allocate_buffer_with_notification(self, count, size):
        if count not in (1, 2):
            return NTSTATUS.INVALID_PARAMETER, None, 0, 0, None
        return self._allocate(count, size)

    async def allocate_audio_buffer(self, size):
        return self._allocate(0, size)

    def _allocate(self, count, requested):
        if self.mdl is not None or self.state != STOP:
            return NTSTATUS.INVALID_DEVICE_STATE, None, 0, 0, None
        unit = self.fmt.block_align * max(count, 1)
        size = -(-requested // unit) * unit      # at least the request (AllocateAudioBuffer)
        if size <= 0:
            return NTSTATUS.INVALID_BUFFER_SIZE, None, 0, 0, None
        quirk = self.miniport.quirk
        base = 64 if quirk == "offset" else 0
        nbytes = size + PAGE // 2 if quirk == "larger" else size
        mdl = self.port_stream.allocate_pages_for_mdl(base + nbytes)
        if mdl is None:
            return NTSTATUS.INSUFFICIENT_RESOURCES, None, 0, 0, None
        self.mdl, self.size, self.count, self.base = mdl, size, count, base
        return SUCCESS, mdl, size, base, "cached"

    async def free_buffer_with_notification(self, mdl, size):
        self.freed_with_notification.append((mdl, size))
        await self._free(mdl)

    async def free_audio_buffer(self, mdl, size):
        self.freed.append((mdl, size))
        await self._free(mdl)

    async def _free(self, mdl):
        if mdl is self.mdl:
            self.port_stream.free_pages_from_mdl(mdl)
            self.mdl = None

    def register_notification_event(self, event):
        if self.miniport.register_status != SUCCESS:
            return self.miniport.register_status
        if any(e is event for e in self.events):
            return NTSTATUS.UNSUCCESSFUL
        self.events.append(event)
        return SUCCESS

    def unregister_notification_event(self, event):
        for i, e in enumerate(self.events):
            if e is event:
                del self.events[i]
                return SUCCESS
        return NTSTATUS.NOT_FOUND

    def get_hw_latency(self):
        return HwLatency(FIFO, 0, 1234)

    def get_position_register(self):
        return SUCCESS, HwRegister(0x84 + 0x20 * self.pin_id, 32, self.fmt.block_align)

    def get_clock_register(self):
        return NTSTATUS.NOT_IMPLEMENTED, None

    async def get_position(self):
        await self.sched.sleep_100ns(0)
        if self.state == STOP or self.mdl is None:
            return SUCCESS, AudioPosition(0, 0)
        self.catch_up()
        if self.capture:
            play = max(0, self.moved - FIFO)        # the play position trails what is stored
            return SUCCESS, AudioPosition(play % self.size, self.moved % self.size)
        return SUCCESS, AudioPosition(self.consumed() % self.size, self.moved % self.size)

    async def set_state(self, state):
        state = KSSTATE(state)
        self.steps.append(state)
        await self.sched.sleep_100ns(0)
        if abs(int(state) - int(self.state)) > 1:
            return NTSTATUS.INVALID_DEVICE_STATE           # the port must step
        failure = self.fail.get((self.state, state))
        if failure is not None:
            return failure
        if state == self.state:
            return SUCCESS
        if state == ACQUIRE and self.state == STOP and self.mdl is None:
            return NTSTATUS.INVALID_DEVICE_STATE
        self.catch_up()
        if state == RUN:
            self.started = True
            self.run_start = self.sched.now_100ns()
            self.state = RUN
            self._gen += 1
            self.catch_up()                                 # the DMA fills its FIFO at once
            self.sched.spawn(self._ticker(self._gen))
            return SUCCESS
        if self.state == RUN:
            self.base_frames = self.frames()
            self.run_start = None
        if state == STOP:
            self._reset_counters()
        self.state = state
        return SUCCESS

    async def close(self):
        self.closed = True
        self._gen += 1
        self.state = STOP


class FakeMiniport:
    """A WaveRT miniport whose streams are :class:`FakeStream`. Knobs: statuses to answer
    from init / new_stream / new_stream's format (``format_status``) / set_format /
    register_notification_event and a buffer ``quirk``
    ("larger": the MDL holds half a page more than the reported size;
    "offset": the buffer starts 64 bytes into the MDL)."""

    def __init__(self, init_status=SUCCESS, new_stream_status=SUCCESS, format_status=SUCCESS,
                 register_status=SUCCESS, quirk=None, set_format_status=SUCCESS):
        self.init_status = init_status
        self.new_stream_status = new_stream_status
        self.format_status = format_status
        self.set_format_status = set_format_status
        self.register_status = register_status
        self.quirk = quirk
        self.streams = []
        self.init_calls = 0
        self.source = random.Random(99).randbytes(4 * FMT.avg_bytes_per_sec)   # the "ADC"

    async def init(self, port, resources):
        self.init_calls += 1
        self.port = port
        self.sched = resources.scheduler
        self.memory = resources.memory
        return self.init_status

    def get_description(self):
        return FilterDescriptor(PINS)

    def get_device_description(self):
        return DeviceDescription(master=True, scatter_gather=True, dma32_bit_addresses=True)

    async def new_stream(self, port_stream, pin_id, capture, fmt):
        if self.new_stream_status != SUCCESS:
            return self.new_stream_status, None
        if self.format_status != SUCCESS:          # NewStream takes the initial format
            return self.format_status, None
        stream = FakeStream(self, port_stream, pin_id, capture, fmt)
        self.streams.append(stream)
        return SUCCESS, stream


async def make_system(sched, **knobs):
    memory = SoftPhysicalMemory(4 << 20)
    registers = FakeRegisters()
    resources = ResourceList(registers, SoftInterruptLine(), memory, sched)
    port = PortWaveRT()
    miniport = FakeMiniport(**knobs)
    assert await port.init(miniport, resources) == SUCCESS
    registry = SubdeviceRegistry()
    assert registry.register_subdevice("wave", port) == SUCCESS
    return SimpleNamespace(memory=memory, registers=registers, port=port, miniport=miniport,
                           registry=registry, filter=registry.filter("wave"),
                           client=AudioClient(registry), free=len(memory._free))


async def open_render(system, notifications=2, buffer_bytes=BUF):
    return await system.client.open("wave", PIN_RENDER, FMT, buffer_bytes=buffer_bytes,
                                    notifications=notifications)


async def open_capture(system, notifications=2):
    return await system.client.open("wave", PIN_CAPTURE, FMT, buffer_bytes=BUF,
                                    notifications=notifications)


async def drained(cs):
    """Wait until drained; the bytes the hardware had played at that moment."""
    await cs.wait_drained()
    return cs.pin.stream.consumed()


async def read_exactly(cs, n):
    got = bytearray()
    while len(got) < n:
        got += await cs.read(n - len(got))
    return bytes(got)


# ---------------------------------------------------------------- HAL: SoftPhysicalMemory


def test_soft_memory_scatters_pages_and_never_hands_out_page_zero():
    """allocate_pages gives distinct, page-aligned, non-adjacent pages, never page 0; a request
    beyond what is free answers None and takes nothing."""
    mem = SoftPhysicalMemory(64 * PAGE)
    pages = mem.allocate_pages(8)
    assert len(set(pages)) == 8 and 0 not in pages
    assert all(p % PAGE == 0 for p in pages)
    assert all(abs(b - a) != PAGE for a, b in zip(pages, pages[1:]))
    left = len(mem._free)
    assert mem.allocate_pages(left + 1) is None
    assert len(mem._free) == left
    assert len(mem.allocate_pages(left)) == left
    assert mem.allocate_pages(1) is None


def test_soft_memory_contiguous_runs_alignment_and_free():
    """allocate_contiguous returns an aligned run of free pages; free gives the whole run back;
    unknown and double frees raise."""
    mem = SoftPhysicalMemory(64 * PAGE)
    base = mem.allocate_contiguous(3 * PAGE, align=4 * PAGE)
    assert base is not None and base % (4 * PAGE) == 0
    assert all(p not in mem._free for p in range(base // PAGE, base // PAGE + 3))
    before = len(mem._free)
    mem.free(base)
    assert len(mem._free) == before + 3
    with pytest.raises(ValueError):
        mem.free(base)
    with pytest.raises(ValueError):
        mem.free(40 * PAGE)
    assert mem.allocate_contiguous(64 * PAGE) is None


def test_soft_memory_accesses_outside_raise_bus_error():
    """Reads and writes past either end of memory are bus errors; inside they round-trip."""
    mem = SoftPhysicalMemory(16 * PAGE)
    mem.write(16 * PAGE - 3, b"abc")
    assert mem.read(16 * PAGE - 3, 3) == b"abc"
    with pytest.raises(BusError):
        mem.read(16 * PAGE - 2, 3)
    with pytest.raises(BusError):
        mem.write(-1, b"x")
    with pytest.raises(BusError):
        mem.write(16 * PAGE, b"x")


def test_soft_memory_misaligned_free_keeps_the_allocation():
    """A refused free (address inside, not at the start of, an allocation) changes nothing:
    the allocation can still be freed properly afterwards."""
    mem = SoftPhysicalMemory(16 * PAGE)
    page = mem.allocate_pages(1)[0]
    with pytest.raises(ValueError):
        mem.free(page + 8)
    mem.free(page)


def test_scheduler_advance_runs_due_sleepers_in_order():
    """advance(n) wakes exactly the sleepers due by now + n, in deadline order, and leaves the
    clock at now + n; sleep(0) only yields; negative sleeps and advances are refused."""
    async def main():
        sched = SimpleScheduler()
        log = []

        async def sleeper(n):
            await sched.sleep_100ns(n)
            log.append((n, sched.now_100ns()))

        for n in (15, 5, 0, 30):
            sched.spawn(sleeper(n))
        await sched.advance(10)
        assert log == [(0, 0), (5, 5)] and sched.now_100ns() == 10
        await sched.advance(20)
        assert log[2:] == [(15, 15), (30, 30)] and sched.now_100ns() == 30
        with pytest.raises(ValueError):
            await sched.advance(-1)
        with pytest.raises(ValueError):
            await sched.sleep_100ns(-1)
    asyncio.run(main())


# ---------------------------------------------------------------- MDLs and mapped buffers


def test_mdl_is_scattered_and_segments_never_cross_a_page():
    """allocate_mdl on scattered memory gives non-adjacent pages; segments() covers a range
    with runs that stay inside one page and follow the MDL's page order."""
    mem = SoftPhysicalMemory(64 * PAGE)
    mdl = allocate_mdl(mem, 3 * PAGE - 100)
    assert mdl.page_count == 3 and mdl.byte_count == 3 * PAGE - 100 and not mdl.contiguous
    assert any(b != a + PAGE for a, b in zip(mdl.pages, mdl.pages[1:]))
    segs = mdl.segments(PAGE - 10, PAGE + 20)
    assert segs == [(mdl.pages[0] + PAGE - 10, 10), (mdl.pages[1], PAGE), (mdl.pages[2], 10)]
    assert sum(n for _, n in mdl.segments()) == mdl.byte_count
    with pytest.raises(IndexError):
        mdl.segments(mdl.byte_count - 4, 5)
    with pytest.raises(IndexError):
        mdl.segments(-1, 1)


def test_mdl_validation_and_exhaustion():
    """An MDL cannot describe more bytes than its pages hold; allocate_mdl answers None for
    size <= 0 and when memory runs out (taking nothing)."""
    with pytest.raises(ValueError):
        Mdl([PAGE], PAGE + 1, PAGE)
    mem = SoftPhysicalMemory(16 * PAGE)
    assert allocate_mdl(mem, 0) is None
    free = len(mem._free)
    assert allocate_mdl(mem, (free + 1) * PAGE) is None
    assert len(mem._free) == free


def test_contiguous_mdl_and_free_mdl_return_the_pages():
    """A contiguous MDL's pages are consecutive; free_mdl gives every page back, for both
    kinds, and empties the MDL."""
    mem = SoftPhysicalMemory(64 * PAGE)
    free = len(mem._free)
    cont = allocate_mdl(mem, 2 * PAGE + 1, contiguous=True)
    assert cont.contiguous and cont.pages == [cont.pages[0] + i * PAGE for i in range(3)]
    scat = allocate_mdl(mem, 5 * PAGE)
    assert len(mem._free) == free - 8
    free_mdl(mem, cont)
    free_mdl(mem, scat)
    assert len(mem._free) == free and not mem._allocs
    assert cont.pages == [] and cont.byte_count == 0


def test_mapped_buffer_writes_land_on_the_scattered_pages():
    """MappedBuffer reads/writes by virtual offset; the bytes sit at the MDL's physical pages."""
    mem = SoftPhysicalMemory(64 * PAGE)
    mdl = allocate_mdl(mem, 3 * PAGE)
    buf = MappedBuffer(mem, mdl)
    data = bytes(range(256)) * 4
    buf.write(PAGE - 300, data)
    assert buf.read(PAGE - 300, len(data)) == data
    assert mem.read(mdl.pages[0] + PAGE - 300, 300) == data[:300]
    assert mem.read(mdl.pages[1], len(data) - 300) == data[300:]
    assert len(buf) == 3 * PAGE


def test_cyclic_access_wraps_at_the_buffer_end():
    """A CyclicBuffer wraps positions modulo its size (from its offset in the mapping); more
    than the buffer in one go is refused."""
    mem = SoftPhysicalMemory(64 * PAGE)
    mapping = MappedBuffer(mem, allocate_mdl(mem, 2 * PAGE + 8))
    size = len(mapping) - 8
    buf = CyclicBuffer(mapping, 8, size)
    buf.write(size - 3, b"ABCDEFGH")
    assert mapping.read(8 + size - 3, 3) == b"ABC" and mapping.read(8, 5) == b"DEFGH"
    assert buf.read(2 * size - 3, 8) == b"ABCDEFGH"
    whole = bytes(random.Random(1).randbytes(size))
    buf.write(100, whole)
    assert buf.read(100, size) == whole
    assert mapping.read(8, size) == whole[size - 100:] + whole[:size - 100]
    with pytest.raises(ValueError):
        buf.write(0, bytes(size + 1))
    with pytest.raises(ValueError):
        buf.read(0, size + 1)
    with pytest.raises(ValueError):
        CyclicBuffer(mapping, 16, size)


def test_port_stream_contiguous_respects_the_high_bound():
    """A contiguous request that cannot lie below ``high`` answers None and keeps nothing."""
    mem = SoftPhysicalMemory(64 * PAGE)
    free = len(mem._free)
    ps = PortWaveRTStream(mem)
    mdl = ps.allocate_contiguous_pages_for_mdl(0, 64 * PAGE - 1, 2 * PAGE)
    assert mdl.contiguous and mdl.pages[-1] + PAGE <= 64 * PAGE
    ps.free_pages_from_mdl(mdl)
    assert ps.allocate_contiguous_pages_for_mdl(0, 2 * PAGE - 1, 2 * PAGE) is None
    assert len(mem._free) == free


def test_port_stream_contiguous_finds_memory_above_the_low_bound():
    """Contiguous pages between low and high are found when such memory is free."""
    mem = SoftPhysicalMemory(4 << 20)
    ps = PortWaveRTStream(mem)
    low, high = 2 << 20, (4 << 20) - 1
    mdl = ps.allocate_contiguous_pages_for_mdl(low, high, 2 * PAGE)
    assert mdl is not None and low <= mdl.pages[0] and mdl.pages[-1] + PAGE - 1 <= high


# ---------------------------------------------------------------- filters


class StubPort:
    """A port for Filter tests: ``new_pin`` answers ``answer`` or raises ``raises``."""

    def __init__(self, miniport=None, answer=SUCCESS, raises=None):
        self.descriptor = FilterDescriptor(PINS)
        self.miniport = miniport if miniport is not None else SimpleNamespace()
        self.answer = answer
        self.raises = raises
        self.calls = []

    async def new_pin(self, flt, pin_id, fmt, **options):
        self.calls.append((pin_id, fmt, options))
        if self.raises:
            raise self.raises
        return self.answer, (object() if self.answer == SUCCESS else None)


def test_filter_instance_limit_and_count_restored_after_close():
    """A pin factory allows max_instances open pins (then INSUFFICIENT_RESOURCES); closing one
    frees its slot; pin factories count separately."""
    async def body(sched):
        s = await make_system(sched)
        a = await open_render(s)
        b = await open_render(s)
        with pytest.raises(StatusError) as err:
            await open_render(s)
        assert err.value.status == NTSTATUS.INSUFFICIENT_RESOURCES
        assert s.filter.instances == [2, 0, 0, 0]
        c = await open_capture(s)
        assert s.filter.instances == [2, 1, 0, 0]
        await a.close()
        await a.close()                                   # closing twice counts once
        assert s.filter.instances == [1, 1, 0, 0]
        d = await open_render(s)
        for cs in (b, c, d):
            await cs.close()
        assert s.filter.instances == [0, 0, 0, 0]
        assert len(s.memory._free) == s.free
        assert len(s.miniport.streams) == 4 and all(st.closed for st in s.miniport.streams)
    run(body)


@pytest.mark.parametrize("pin_id, fmt, status", [
    (PIN_RENDER_BRIDGE, FMT, NTSTATUS.INVALID_DEVICE_REQUEST),
    (PIN_CAPTURE_BRIDGE, FMT, NTSTATUS.INVALID_DEVICE_REQUEST),
    (PIN_RENDER, WaveFormat.pcm(2, 96000, 16), NTSTATUS.NO_MATCH),
    (PIN_RENDER, WaveFormat.pcm(4, 48000, 16), NTSTATUS.NO_MATCH),
    (PIN_CAPTURE, WaveFormat.pcm(2, 48000, 8), NTSTATUS.NO_MATCH),
    (4, FMT, NTSTATUS.INVALID_PARAMETER),
    (-1, FMT, NTSTATUS.INVALID_PARAMETER),
    ("0", FMT, NTSTATUS.INVALID_PARAMETER),
    (PIN_RENDER, RANGES[0], NTSTATUS.INVALID_PARAMETER),      # a range is not a format
])
def test_create_pin_refusals(pin_id, fmt, status):
    """create_pin refuses bridge pins, formats outside every data range, unknown pin ids and
    non-formats without asking the port or taking an instance."""
    async def body(sched):
        port = StubPort()
        flt = Filter("wave", port)
        assert await flt.create_pin(pin_id, fmt) == (status, None)
        assert port.calls == [] and flt.instances == [0, 0, 0, 0]
    run(body)


def test_create_pin_accepts_a_format_of_the_second_range_and_passes_options():
    """A format only the second data range contains is accepted; options reach the port."""
    async def body(sched):
        port = StubPort()
        flt = Filter("wave", port)
        fmt24 = WaveFormat.pcm(2, 44100, 24, 32)
        status, pin = await flt.create_pin(PIN_RENDER, fmt24, buffer_bytes=1234)
        assert status == SUCCESS and pin is not None
        assert port.calls == [(PIN_RENDER, fmt24, {"buffer_bytes": 1234})]
        assert flt.instances == [1, 0, 0, 0]
    run(body)


def test_port_failure_or_exception_gives_the_instance_back():
    """When the port refuses or raises, the instance taken for the pin is released."""
    async def body(sched):
        flt = Filter("wave", StubPort(answer=NTSTATUS.DEVICE_NOT_READY))
        assert await flt.create_pin(PIN_CAPTURE, FMT) == (NTSTATUS.DEVICE_NOT_READY, None)
        assert flt.instances[PIN_CAPTURE] == 0
        flt = Filter("wave", StubPort(raises=RuntimeError("boom")))
        with pytest.raises(RuntimeError):
            await flt.create_pin(PIN_CAPTURE, FMT)
        assert flt.instances[PIN_CAPTURE] == 0
    run(body)


def test_data_intersection_size_query_too_small_and_success():
    """Through the filter (default intersection): output size 0 is a size query answered with
    BUFFER_OVERFLOW and the size; a short buffer BUFFER_TOO_SMALL with the size; enough room
    SUCCESS with the best common format."""
    flt = Filter("wave", StubPort())
    client = AudioDataRange(2, 16, 16, 44100, 48000)
    assert flt.data_intersection(PIN_RENDER, client, 0) == (NTSTATUS.BUFFER_OVERFLOW, None, 82)
    assert flt.data_intersection(PIN_RENDER, client, 81) == (NTSTATUS.BUFFER_TOO_SMALL, None, 82)
    assert flt.data_intersection(PIN_RENDER, client, 82) == (SUCCESS, FMT, 82)
    # a 24-bit request only matches the second range; the default handler answers a plain
    # WAVEFORMATEX, 24 bits in 24 (82 bytes), never WAVEFORMATEXTENSIBLE (was: EXTENSIBLE,
    # 104 bytes) - "Data-Intersection Handlers"
    status, fmt, size = flt.data_intersection(PIN_CAPTURE, AudioDataRange(2, 24, 32, 8000,
                                                                           48000), 200)
    assert status == SUCCESS and size == 82
    assert fmt == WaveFormat.pcm(2, 48000, 24, extensible=False)


def test_data_intersection_no_match_bridge_and_bad_pin():
    """No overlapping range: NO_MATCH; a bridge pin has no ranges: NO_MATCH; an unknown pin
    id: INVALID_PARAMETER."""
    flt = Filter("wave", StubPort())
    assert flt.data_intersection(PIN_RENDER, AudioDataRange(2, 16, 16, 96000, 192000),
                                 200).status == NTSTATUS.NO_MATCH
    assert flt.data_intersection(PIN_RENDER_BRIDGE, FMT, 200).status == NTSTATUS.NO_MATCH
    assert flt.data_intersection(9, FMT, 200)[0] == NTSTATUS.INVALID_PARAMETER


def test_data_intersection_not_implemented_falls_back_over_every_range():
    """A miniport answering NOT_IMPLEMENTED gets the port's default for each range in turn,
    so a format only the second range holds still matches; the handler sees the pin id."""
    asked = []

    def handler(pin_id, client, driver_range, size):
        asked.append((pin_id, driver_range))
        return NTSTATUS.NOT_IMPLEMENTED

    flt = Filter("wave", StubPort(miniport=SimpleNamespace(data_range_intersection=handler)))
    want = WaveFormat.pcm(2, 48000, 24)
    assert flt.data_intersection(PIN_CAPTURE, want, 200) == (SUCCESS, want, 104)
    assert asked == [(PIN_CAPTURE, RANGES[0]), (PIN_CAPTURE, RANGES[1])]
    asked.clear()
    assert flt.data_intersection(PIN_RENDER, WaveFormat.pcm(2, 48000, 8), 200).status \
        == NTSTATUS.NO_MATCH
    assert asked == [(PIN_RENDER, RANGES[0]), (PIN_RENDER, RANGES[1])]


def test_data_intersection_miniport_answer_is_final():
    """A miniport's own answer (other than NOT_IMPLEMENTED/NO_MATCH) is returned as is."""
    mine = WaveFormat.pcm(1, 8000, 16)

    def handler(pin_id, client, driver_range, size):
        if driver_range is RANGES[0]:
            return NTSTATUS.NO_MATCH
        return Intersection(SUCCESS, mine, 82)

    flt = Filter("wave", StubPort(miniport=SimpleNamespace(data_range_intersection=handler)))
    assert flt.data_intersection(PIN_RENDER, FMT, 200) == (SUCCESS, mine, 82)


# ---------------------------------------------------------------- subdevice registry


def test_register_subdevice_collision_and_uninitialised_port():
    """Names are unique (OBJECT_NAME_COLLISION, the first filter stays); a port without a
    descriptor (not initialised) is refused with INVALID_DEVICE_STATE."""
    reg = SubdeviceRegistry()
    first = StubPort()
    assert reg.register_subdevice("wave", first) == SUCCESS
    assert reg.register_subdevice("wave", StubPort()) == NTSTATUS.OBJECT_NAME_COLLISION
    assert reg.filter("wave").port is first
    assert reg.register_subdevice("raw", PortWaveRT()) == NTSTATUS.INVALID_DEVICE_STATE
    assert reg.filter("raw") is None and reg.filter("nope") is None


def test_physical_connections():
    """Connections need both filters (NOT_FOUND) and existing pin ids (INVALID_PARAMETER);
    a repeated connection is recorded once; connections_of lists both directions."""
    reg = SubdeviceRegistry()
    reg.register_subdevice("wave", StubPort())
    reg.register_subdevice("topo", StubPort())
    assert reg.register_physical_connection("wave", 2, "nope", 0) == NTSTATUS.NOT_FOUND
    assert reg.register_physical_connection("nope", 2, "topo", 0) == NTSTATUS.NOT_FOUND
    assert reg.register_physical_connection("wave", 7, "topo", 0) == NTSTATUS.INVALID_PARAMETER
    assert reg.register_physical_connection("wave", 2, "topo", 9) == NTSTATUS.INVALID_PARAMETER
    assert reg.connections == []
    assert reg.register_physical_connection("wave", 2, "topo", 0) == SUCCESS
    assert reg.register_physical_connection("wave", 2, "topo", 0) == SUCCESS
    assert reg.register_physical_connection("topo", 1, "wave", 3) == SUCCESS
    assert len(reg.connections) == 2
    conn = reg.connections[0]
    assert (conn.from_filter, conn.from_pin, conn.to_filter, conn.to_pin) == ("wave", 2, "topo", 0)
    assert reg.connections_of("wave") == reg.connections
    reg.register_subdevice("other", StubPort())
    assert reg.connections_of("other") == []


# ---------------------------------------------------------------- PortWaveRT


def test_port_init_statuses():
    """A failing miniport init is returned and leaves the port unbound (not registrable);
    a second init of a bound port is INVALID_DEVICE_STATE."""
    async def body(sched):
        res = ResourceList(FakeRegisters(), SoftInterruptLine(), SoftPhysicalMemory(), sched)
        port = PortWaveRT()
        assert await port.init(FakeMiniport(init_status=NTSTATUS.DEVICE_NOT_READY), res) \
            == NTSTATUS.DEVICE_NOT_READY
        assert port.miniport is None
        assert SubdeviceRegistry().register_subdevice("w", port) == NTSTATUS.INVALID_DEVICE_STATE
        mp = FakeMiniport()
        assert await port.init(mp, res) == SUCCESS
        assert port.descriptor.pins == PINS and port.device_description.scatter_gather
        other = FakeMiniport()
        assert await port.init(other, res) == NTSTATUS.INVALID_DEVICE_STATE
        assert port.miniport is mp and other.init_calls == 0
    run(body)


def test_new_pin_sets_format_buffer_and_notification():
    """Opening a pin gives the format to NewStream and never calls SetFormat (IMiniportWaveRT::
    NewStream, IMiniportWaveRTStream::SetFormat; was: SetFormat right after NewStream),
    allocates the buffer (at least the requested size, rounded up by the miniport:
    IMiniportWaveRTStream::AllocateAudioBuffer; 20 ms by default) with the asked notification
    count and registers one event (none for 0)."""
    async def body(sched):
        s = await make_system(sched)
        cs = await s.client.open("wave", PIN_RENDER, FMT, buffer_bytes=9606)
        st = cs.pin.stream
        assert st.formats == [] and st.fmt == FMT and cs.format == FMT
        assert (cs.pin.buffer_size, st.count, len(st.events)) == (9608, 2, 1)
        assert cs.state == STOP and st.steps == []
        dflt = await s.client.open("wave", PIN_RENDER, FMT, notifications=0)
        assert dflt.pin.buffer_size == FMT.avg_bytes_per_sec // 50
        assert dflt.pin.stream.count == 0 and dflt.pin.stream.events == []
        await cs.close()
        # a buffer with notification goes back through FreeBufferWithNotification
        # (IMiniportWaveRTStreamNotification::FreeBufferWithNotification), one without
        # through FreeAudioBuffer
        assert st.events == [] and st.freed_with_notification and not st.freed and st.closed
        await dflt.close()
        assert dflt.pin.stream.freed and not dflt.pin.stream.freed_with_notification
        assert len(s.memory._free) == s.free
    run(body)


def test_failed_pin_creation_returns_status_memory_and_instance():
    """A bad notification count, a refused stream, format or event registration: the status
    reaches the client, the memory and the instance are given back."""
    async def body(sched):
        for knobs, opts, status in [
                ({}, {"notifications": 3}, NTSTATUS.INVALID_PARAMETER),
                ({"new_stream_status": NTSTATUS.INSUFFICIENT_RESOURCES}, {},
                 NTSTATUS.INSUFFICIENT_RESOURCES),
                ({"format_status": NTSTATUS.INVALID_PARAMETER}, {}, NTSTATUS.INVALID_PARAMETER),
                ({"register_status": NTSTATUS.UNSUCCESSFUL}, {}, NTSTATUS.UNSUCCESSFUL),
                ({}, {"buffer_bytes": 0, "notifications": 2}, NTSTATUS.INVALID_BUFFER_SIZE)]:
            s = await make_system(sched, **knobs)
            with pytest.raises(StatusError) as err:
                await s.client.open("wave", PIN_RENDER, FMT, **opts)
            assert err.value.status == status
            assert s.filter.instances == [0, 0, 0, 0]
            assert len(s.memory._free) == s.free
            assert all(st.closed for st in s.miniport.streams)
    run(body)


def test_failed_event_registration_frees_the_audio_buffer_through_the_miniport():
    """If the buffer was allocated and a later set-up step fails, the port hands the buffer
    back through the miniport (FreeBufferWithNotification for a buffer with notification, so
    the miniport can release its BDL) before closing."""
    async def body(sched):
        s = await make_system(sched, register_status=NTSTATUS.UNSUCCESSFUL)
        with pytest.raises(StatusError):
            await open_render(s)
        st = s.miniport.streams[0]
        assert len(st.freed_with_notification) == 1 and not st.freed and st.mdl is None
    run(body)


def test_hw_latency_and_register_mappings():
    """KSRTAUDIO_HWLATENCY is the miniport's; the position register maps onto the register
    window (one bus read, bytes picked by offset and width); no clock register -> error."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_capture(s)
        assert cs.pin.get_hw_latency() == HwLatency(FIFO, 0, 1234)
        s.registers.words[0xA4] = 0x12345678
        status, reg = cs.pin.position_register()
        assert status == SUCCESS and reg.hw_register.register == 0xA4
        assert await reg.read() == 0x12345678 and s.registers.reads == [0xA4]
        assert cs.pin.clock_register() == (NTSTATUS.NOT_IMPLEMENTED, None)
        assert await RegisterMapping(s.registers, HwRegister(0xA7, 8, 1)).read() == 0x12
        assert await RegisterMapping(s.registers, HwRegister(0xA6, 16, 1)).read() == 0x1234
        await cs.close()
    run(body)


def test_register_mapping_reads_a_64_bit_register():
    """A 64-bit HWREGISTER (Width 64) reads as low word | high word << 32."""
    async def body(sched):
        regs = FakeRegisters()
        regs.words.update({0x10: 0x89ABCDEF, 0x14: 0x01234567})
        assert await RegisterMapping(regs, HwRegister(0x10, 64, 1)).read() == 0x0123456789ABCDEF
    run(body)


# ---------------------------------------------------------------- KSSTATE stepping


def test_client_jumps_are_stepped_at_the_miniport():
    """STOP->RUN reaches the miniport as ACQUIRE, PAUSE, RUN; RUN->STOP as PAUSE, ACQUIRE,
    STOP; PAUSE->RUN and RUN->PAUSE are single steps; setting the current state is a no-op."""
    async def body(sched):
        s = await make_system(sched)
        for opener in (open_render, open_capture):
            cs = await opener(s)
            st = cs.pin.stream
            await cs.set_state(RUN)
            assert st.steps == [ACQUIRE, PAUSE, RUN] and cs.state == RUN == st.state
            await cs.set_state(RUN)
            await cs.set_state(PAUSE)
            await cs.set_state(RUN)
            assert st.steps[3:] == [PAUSE, RUN]
            del st.steps[:]
            await cs.set_state(STOP)
            assert st.steps == [PAUSE, ACQUIRE, STOP] and cs.state == STOP == st.state
            await cs.close()
            assert st.steps == [PAUSE, ACQUIRE, STOP]          # close from STOP: no steps
    run(body)


def test_close_while_running_steps_down_and_returns_everything():
    """Closing a running pin walks it down to STOP at the miniport, unregisters the event,
    frees the buffer, closes the stream and gives memory and instance back."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        cs.write(audio(bytes_at(100), 1))
        await cs.set_state(RUN)
        await sched.sleep_100ns(30 * MS)
        await cs.close()
        assert st.steps == [ACQUIRE, PAUSE, RUN, PAUSE, ACQUIRE, STOP]
        assert st.events == [] and len(st.freed_with_notification) == 1 and st.closed
        assert len(s.memory._free) == s.free and s.filter.instances[PIN_RENDER] == 0
        assert await cs.pin.set_state(RUN) == NTSTATUS.INVALID_DEVICE_STATE
    run(body)


@pytest.mark.parametrize("failing, good", [
    ((STOP, ACQUIRE), STOP), ((ACQUIRE, PAUSE), ACQUIRE), ((PAUSE, RUN), PAUSE)])
def test_failing_step_up_leaves_the_last_good_state(failing, good):
    """A miniport refusing a step stops the walk there: the client gets that status and the
    pin stays at the last state the miniport accepted; a retry walks on from there."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        st.fail[failing] = NTSTATUS.DEVICE_NOT_READY
        with pytest.raises(StatusError) as err:
            await cs.set_state(RUN)
        assert err.value.status == NTSTATUS.DEVICE_NOT_READY
        assert cs.state == good == st.state
        assert st.steps == [s_ for s_ in (ACQUIRE, PAUSE, RUN) if s_ <= failing[1]]
        del st.fail[failing]
        del st.steps[:]
        assert await cs.pin.set_state(RUN) == SUCCESS
        assert st.steps == [s_ for s_ in (ACQUIRE, PAUSE, RUN) if s_ > good]
        await cs.close()
    run(body)


def test_failing_step_down_leaves_the_last_good_state():
    """RUN->STOP with ACQUIRE refused: DEVICE_NOT_READY, the pin stays in PAUSE."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_capture(s)
        st = cs.pin.stream
        await cs.set_state(RUN)
        st.fail[(PAUSE, ACQUIRE)] = NTSTATUS.DEVICE_NOT_READY
        assert await cs.pin.set_state(STOP) == NTSTATUS.DEVICE_NOT_READY
        assert cs.state == PAUSE == st.state
        assert st.steps[3:] == [PAUSE, ACQUIRE]
    run(body)


def test_set_state_rejects_non_states():
    """A value that is not a KSSTATE is INVALID_PARAMETER at the pin, ValueError at the client,
    and changes nothing."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        assert await cs.pin.set_state(7) == NTSTATUS.INVALID_PARAMETER
        with pytest.raises(ValueError):
            await cs.set_state(-1)
        assert cs.state == STOP and cs.pin.stream.steps == []
    run(body)


def test_refused_pause_keeps_the_engine_running():
    """If the miniport refuses RUN->PAUSE the pin is still in RUN and its engine keeps feeding
    the hardware: the rest of the audio plays and drains without glitches."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        data = audio(bytes_at(300), 2)
        cs.write(data)
        cs.end_of_stream()
        await cs.set_state(RUN)
        await sched.sleep_100ns(60 * MS)
        st.fail[(RUN, PAUSE)] = NTSTATUS.DEVICE_NOT_READY
        assert await cs.pin.set_state(STOP) == NTSTATUS.DEVICE_NOT_READY
        assert cs.state == RUN
        await within(sched, drained(cs), 1000 * MS)
        assert cs.pin.glitches == 0 and bytes(st.out[:len(data)]) == data
    run(body)


# ---------------------------------------------------------------- render


@pytest.mark.parametrize("notifications", [2, 1, 0])
def test_render_is_bit_exact_and_drains(notifications):
    """Audio written before and during RUN leaves the hardware in order, bit for bit, then
    silence; wait_drained returns once all of it has played (and within one engine period
    plus a hardware tick of that);
    no glitch; STOP and close give all memory back."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s, notifications)
        st = cs.pin.stream
        data = audio(bytes_at(300), 3)
        half = bytes_at(150)
        cs.write(data[:half])
        await cs.set_state(RUN)
        await sched.sleep_100ns(40 * MS)
        cs.write(data[half:])
        cs.end_of_stream()
        consumed = await within(sched, drained(cs), 1000 * MS)
        period = BUF // (2 if notifications == 2 else 4)  # how often the engine looks
        assert len(data) <= consumed <= len(data) + period + TICK * FMT.avg_bytes_per_sec // 10**7
        play, _ = await cs.get_position()
        assert play >= len(data)
        out = bytes(st.out)
        assert out[:len(data)] == data
        assert len(out) > len(data) and not any(out[len(data):])
        assert cs.pin.glitches == 0
        if notifications == 2:
            assert cs.pin.notifications_seen >= st.ioc_signalled > 0
        elif notifications == 1:   # timer-driven: the last IOC may come after the last look
            assert cs.pin.notifications_seen >= st.ioc_signalled - 1 > 0
        await cs.set_state(STOP)
        await cs.close()
        assert len(s.memory._free) == s.free
    run(body)


def test_wait_drained_with_nothing_written_returns_at_once():
    """end_of_stream without data: drained as soon as the stream runs."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        cs.end_of_stream()
        await cs.set_state(RUN)
        await within(sched, cs.wait_drained(), 5 * MS)
        assert cs.pin.glitches == 0
    run(body)


def test_render_pause_and_resume_is_seamless():
    """A long PAUSE mid-stream freezes the positions; after RUN the audio continues exactly
    where it stopped, with no glitch and no lost or repeated byte."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        data = audio(bytes_at(300), 4)
        cs.write(data)
        cs.end_of_stream()
        await cs.set_state(RUN)
        await sched.sleep_100ns(100 * MS)
        await cs.set_state(PAUSE)
        paused = await cs.get_position()
        assert paused[0] == st.consumed() > 0
        await sched.sleep_100ns(170 * MS)
        assert await cs.get_position() == paused
        await cs.set_state(RUN)
        await within(sched, drained(cs), 1000 * MS)
        out = bytes(st.out)
        assert out[:len(data)] == data and not any(out[len(data):])
        assert cs.pin.glitches == 0
    run(body)


def test_render_starvation_glitches_then_recovers():
    """A client that stops writing starves the stream: the hardware plays silence (not old
    data) and glitches are counted; audio written later plays whole, in order, and drains."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        first, second = audio(bytes_at(100), 5), audio(bytes_at(100), 6)
        cs.write(first)
        await cs.set_state(RUN)
        await sched.sleep_100ns(250 * MS)
        starved = cs.pin.glitches
        assert starved >= 1
        cs.write(second)
        cs.end_of_stream()
        await within(sched, drained(cs), 1000 * MS)
        assert cs.pin.glitches <= starved + 1
        out = bytes(st.out)
        assert out.startswith(first)
        rest = out[len(first):]
        gap = next(i for i, b in enumerate(rest) if b)
        assert gap >= bytes_at(100)                        # ~150 ms of silence, at least 100
        assert rest[gap:gap + len(second)] == second
        assert not any(rest[gap + len(second):])
    run(body)


def test_late_engine_counts_one_glitch_and_recovers():
    """With the notification interrupts lost for more than two buffers, the hardware runs past
    what the engine wrote: one glitch is counted, no client byte is lost or reordered (the
    rest follows the glitch), the stream drains and the positions are still exact."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        data = audio(bytes_at(400), 7)
        cs.write(data)
        cs.end_of_stream()
        await cs.set_state(RUN)
        await sched.sleep_100ns(60 * MS)
        st.mute_until = sched.now_100ns() + 115 * MS      # 2.3 buffers without interrupts
        await within(sched, drained(cs), 1000 * MS)
        assert cs.pin.glitches == 1
        out = bytes(st.out)
        good = common_prefix(out, data)
        assert BUF <= good < len(data)
        resumed = out.find(data[good:], good)
        assert resumed > good
        assert not any(out[resumed + len(data) - good:])
        play, write = await cs.get_position()
        assert (play, write) == (st.consumed(), st.moved)
    run(body)


def test_positions_are_linear_monotonic_and_exact():
    """get_position gives linear byte counts: never decreasing, play <= write, equal to the
    hardware's own counts across wraps and across a gap longer than two buffers without any
    position read or interrupt; PAUSE freezes them; STOP returns them to 0."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        cs.write(audio(bytes_at(600), 8))
        await cs.set_state(RUN)
        samples = []

        async def sample(n, every):
            for _ in range(n):
                await sched.sleep_100ns(every)
                pos = await cs.get_position()
                assert pos == (st.consumed(), st.moved)
                samples.append(pos)

        await sample(20, 7 * MS)
        st.mute_until = sched.now_100ns() + 140 * MS
        await sample(1, 130 * MS)                         # 2.6 buffers since the last update
        await sample(20, 9 * MS)
        plays = [p for p, _ in samples]
        assert plays == sorted(plays) and plays[-1] > 5 * BUF
        assert all(p <= w for p, w in samples)
        await cs.set_state(PAUSE)
        frozen = await cs.get_position()
        await sched.sleep_100ns(80 * MS)
        assert await cs.get_position() == frozen
        await cs.set_state(STOP)
        assert await cs.get_position() == (0, 0)
    run(body)


def test_client_write_and_read_errors():
    """Render pins take whole frames only and nothing after end_of_stream; a capture pin
    refuses writes; reading a render pin is an error."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        cap = await open_capture(s)
        for stream, data, status in [(cs, b"\x00" * 6, NTSTATUS.INVALID_PARAMETER),
                                     (cap, b"\x00" * 8, NTSTATUS.INVALID_DEVICE_REQUEST)]:
            with pytest.raises(StatusError) as err:
                stream.write(data)
            assert err.value.status == status
        cs.write(b"\x00" * 8)
        cs.end_of_stream()
        assert cs.pin.write(b"\x00" * 8)[0] == NTSTATUS.INVALID_DEVICE_STATE
        with pytest.raises(ValueError):
            await cs.read(8)
        assert cs.pin.available() == 0 and cap.pin.available() == 0
    run(body)


def test_audio_client_open_errors():
    """Opening an unknown filter raises NOT_FOUND; an unsupported format NO_MATCH."""
    async def body(sched):
        s = await make_system(sched)
        with pytest.raises(StatusError) as err:
            await s.client.open("nope", PIN_RENDER, FMT)
        assert err.value.status == NTSTATUS.NOT_FOUND
        with pytest.raises(StatusError) as err:
            await s.client.open("wave", PIN_RENDER, WaveFormat.pcm(2, 96000, 16))
        assert err.value.status == NTSTATUS.NO_MATCH
    run(body)


def test_render_can_restart_after_end_of_stream_and_stop():
    """After a stream has drained and been stopped, the pin plays new audio from the start."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        cs.write(audio(bytes_at(60), 9))
        cs.end_of_stream()
        await cs.set_state(RUN)
        await within(sched, drained(cs), 500 * MS)
        await cs.set_state(STOP)
        again = audio(bytes_at(60), 10)
        assert cs.pin.write(again)[0] == NTSTATUS.PENDING
        cs.end_of_stream()
        start = len(st.out)
        await cs.set_state(RUN)
        await within(sched, drained(cs), 500 * MS)
        assert bytes(st.out[start:start + len(again)]) == again
    run(body)


@pytest.mark.parametrize("quirk", ["larger", "offset"])
def test_render_uses_the_buffer_window_the_miniport_reports(quirk):
    """The cyclic buffer is the ``size`` bytes at ``offset`` in the MDL the miniport returned,
    even if the MDL is larger: audio written there plays bit-exact."""
    async def body(sched):
        s = await make_system(sched, quirk=quirk)
        cs = await open_render(s, buffer_bytes=BUF - 6)
        st = cs.pin.stream
        assert cs.pin.buffer_size == BUF          # rounded up to whole frames per half
        data = audio(bytes_at(200), 11)
        cs.write(data)
        cs.end_of_stream()
        await cs.set_state(RUN)
        await within(sched, drained(cs), 1000 * MS)
        assert bytes(st.out[:len(data)]) == data
    run(body)


def test_notifications_seen_counts_only_miniport_notifications():
    """notifications_seen equals the number of times the hardware signalled the event; the
    port's own wake-up of the engine on leaving RUN is not counted."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_render(s)
        st = cs.pin.stream
        cs.write(audio(bytes_at(400), 12))
        await cs.set_state(RUN)
        await sched.sleep_100ns(212 * MS)
        await cs.set_state(PAUSE)
        await sched.sleep_100ns(10 * MS)
        assert st.ioc_signalled == 8
        assert cs.pin.notifications_seen == st.ioc_signalled
    run(body)


# ---------------------------------------------------------------- capture


@pytest.mark.parametrize("notifications", [2, 0])
def test_capture_is_bit_exact(notifications):
    """What the hardware stores comes back from read() exactly, in order, across many wraps
    of the scattered buffer; no glitch; available() counts what is collected."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_capture(s, notifications)
        src = s.miniport.source
        await cs.set_state(RUN)
        want = bytes_at(300)
        got = await within(sched, read_exactly(cs, want), 1000 * MS)
        assert got == src[:want]
        assert cs.pin.glitches == 0
        await sched.sleep_100ns(60 * MS)
        assert cs.pin.available() > 0 and cs.pin.available() % FMT.block_align == 0
        more = await cs.read(cs.pin.available())
        assert more == src[want:want + len(more)]
        await cs.set_state(STOP)
        await cs.close()
        assert len(s.memory._free) == s.free
    run(body)


def test_capture_overrun_counts_one_glitch_and_keeps_newest_data():
    """With interrupts lost for more than two buffers the hardware overwrites unread data:
    one glitch is counted and capture goes on with a later, contiguous part of the source."""
    async def body(sched):
        s = await make_system(sched)
        cs = await open_capture(s)
        st = cs.pin.stream
        src = s.miniport.source
        await cs.set_state(RUN)
        first = await within(sched, read_exactly(cs, bytes_at(60)), 500 * MS)
        st.mute_until = sched.now_100ns() + 120 * MS
        rest = await within(sched, read_exactly(cs, bytes_at(200)), 1000 * MS)
        got = first + rest
        assert cs.pin.glitches == 1
        good = common_prefix(got, src)
        assert bytes_at(60) <= good < len(got)
        later = src.find(got[good:good + 64], good + 1)
        assert later > good
        assert got[good:] == src[later:later + len(got) - good]
        assert later - good >= bytes_at(100) - BUF       # about 120 ms minus half a buffer lost
    run(body)
