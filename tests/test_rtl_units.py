"""amaranth.sim unit tests of small RTL blocks: byte realigner, register bank + AXI4-Lite
slave, the register-map definition and the stream engine's parts (planner, positions, cadence,
entry cursor, burst reader and writer)."""

import gc
import random
import warnings

import pytest
from amaranth.hdl import Fragment, UnusedElaboratable
from amaranth.sim import Simulator

from rtl.axil_slave import AXI4LiteToCSR
from rtl.codec import Codec
from rtl.csr_bank import RegisterBank
from rtl.i2s_link import LinkMaster
from rtl.midi import MidiUart
from rtl.realigner import ByteRealigner
from rtl.stream_link import RENDER_REALIGNER_BYTES, RenderLink
from rtl.axi import RESP_DECERR, RESP_OKAY, RESP_SLVERR
from rtl.axi_burst import BurstReader, BurstWriter
from rtl.stream_parts import (MAX_BURST, BdlEntry, BufferPosition, BurstPlanner, Cadence,
                              EntryCursor)
from rtl.regmap import REGMAP, Field, Register, RegisterMap, format_supported, frame_bytes
from amaranth.hdl import Module
from amaranth.lib import wiring


def run_sim(dut, bench, cycles_limit=None):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("take_size,takes", [
    *((size, range(9)) for size in (2, 4, 8)),              # built for any take
    *((size, (0, 2, 4, 8)) for size in (2, 4, 8)),          # as a render engine builds it
    *((size, (0, 1, 2, 3, 4)) for size in (2, 4)),          # as a capture engine builds it
])
def test_realigner_preserves_byte_order(take_size, takes):
    """Random pushes of 0-4 bytes and takes of a fixed frame size keep every byte in order,
    with the realigner built for any take size or only for some (o_data as wide as the
    largest)."""
    rng = random.Random(take_size)
    dut = ByteRealigner(takes=takes)
    stream = bytes(rng.getrandbits(8) for _ in range(400))
    out = bytearray()

    async def bench(ctx):
        pos = 0
        while len(out) < len(stream) - 12:
            count = min(rng.randint(0, 4), len(stream) - pos)
            chunk = stream[pos:pos + count]
            ctx.set(dut.i_data, int.from_bytes(chunk.ljust(4, b"\0"), "little")
                    | (rng.getrandbits(32) & ~((1 << (8 * count)) - 1) & 0xFFFFFFFF))
            ctx.set(dut.i_count, count)
            ctx.set(dut.i_valid, rng.random() < 0.8)
            level = ctx.get(dut.o_level)
            take = take_size if level >= take_size and rng.random() < 0.7 else 0
            ctx.set(dut.o_take, take)
            if take:
                out.extend(ctx.get(dut.o_data).to_bytes(dut.max_take, "little")[:take])
            pushed = ctx.get(dut.i_valid) and ctx.get(dut.i_ready)
            await ctx.tick()
            if pushed:
                pos += count
    run_sim(dut, bench)
    assert bytes(out) == stream[:len(out)]


def test_realigner_rejects_small_capacity():
    with pytest.raises(ValueError, match="capacity 4"):
        ByteRealigner(capacity=4)


@pytest.mark.parametrize("make,error", [
    (lambda: ByteRealigner(capacity=4), ValueError),
    (lambda: Codec(frame_clocks=3), ValueError),
    (lambda: Codec(unsol_depth=0), ValueError),
    (lambda: LinkMaster(frame_clocks=257), ValueError),
    (lambda: MidiUart(rx_depth=1), ValueError),
    (lambda: RegisterBank(resets={("GCTL", "CRST"): 1}), ValueError),
    (lambda: RegisterBank(resets={("NO_SUCH", "X"): 1}), KeyError),
])
def test_refused_parameters_leave_no_unused_warning(make, error):
    """A component that refuses its parameters raises, and nothing else: no "created but
    never used" warning follows (it is refused before it exists). A built one still warns."""
    # Amaranth keeps the warning silent until the process first elaborates something
    Fragment.get(ByteRealigner(), None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(error):
            make()
        gc.collect()
        assert not [w for w in caught if issubclass(w.category, UnusedElaboratable)]
        ByteRealigner()           # built and dropped: Amaranth's own check still works
        gc.collect()
        assert [w for w in caught if issubclass(w.category, UnusedElaboratable)]


def _bank_harness():
    m = Module()
    m.submodules.axil = axil = AXI4LiteToCSR(16)
    m.submodules.bank = bank = RegisterBank(REGMAP, addr_width=14)
    wiring.connect(m, axil.csr, bank.bus)
    return m, axil, bank


async def axil_write(ctx, axil, addr, data, strb=0xF):
    ctx.set(axil.axil.awaddr, addr)
    ctx.set(axil.axil.wdata, data)
    ctx.set(axil.axil.wstrb, strb)
    ctx.set(axil.axil.awvalid, 1)
    ctx.set(axil.axil.wvalid, 1)
    ctx.set(axil.axil.bready, 1)
    await ctx.tick().until(axil.axil.awready)
    ctx.set(axil.axil.awvalid, 0)
    ctx.set(axil.axil.wvalid, 0)
    await ctx.tick().until(axil.axil.bvalid)
    await ctx.tick()


async def axil_read(ctx, axil, addr):
    ctx.set(axil.axil.araddr, addr)
    ctx.set(axil.axil.arvalid, 1)
    ctx.set(axil.axil.rready, 1)
    await ctx.tick().until(axil.axil.arready)
    ctx.set(axil.axil.arvalid, 0)
    await ctx.tick().until(axil.axil.rvalid)
    value = ctx.get(axil.axil.rdata)
    await ctx.tick()
    return value


def test_bank_rw_rw1c_byte_strobes_and_unmapped():
    m, axil, bank = _bank_harness()
    sts = bank.reg("SD1STS")
    results = {}

    async def bench(ctx):
        await axil_write(ctx, axil, 0x20, 0x8000_0003)              # INTCTL
        results["intctl"] = await axil_read(ctx, axil, 0x20)
        await axil_write(ctx, axil, 0x20, 0xFFFF_FF04, strb=0b0001)  # one byte only
        results["intctl_byte"] = await axil_read(ctx, axil, 0x20)
        await axil_write(ctx, axil, 0x20, 0xFFFF_FFFF, strb=0b1000)
        results["intctl_top"] = await axil_read(ctx, axil, 0x20)
        # hardware sets BCIS and FIFOE; a byte write of BCIS clears only BCIS
        ctx.set(sts.BCIS.set, 1)
        ctx.set(sts.FIFOE.set, 1)
        await ctx.tick()
        ctx.set(sts.BCIS.set, 0)
        ctx.set(sts.FIFOE.set, 0)
        results["sts_before"] = (await axil_read(ctx, axil, 0xA0)) >> 24
        await axil_write(ctx, axil, 0xA0, 0x04 << 24, strb=0b1000)
        results["sts_after"] = (await axil_read(ctx, axil, 0xA0)) >> 24
        # a write to CTL's bytes does not touch STS in the same word
        await axil_write(ctx, axil, 0xA0, 0x0010_0004, strb=0b0111)
        results["ctl_sts"] = await axil_read(ctx, axil, 0xA0)
        results["unmapped"] = await axil_read(ctx, axil, 0x500)
        await axil_write(ctx, axil, 0x500, 0xFFFF_FFFF)
        results["unmapped2"] = await axil_read(ctx, axil, 0x500)
        results["gcap"] = await axil_read(ctx, axil, 0x00)
    run_sim(m, bench)
    assert results["intctl"] == 0x8000_0003
    assert results["intctl_byte"] == 0x8000_0004
    assert results["intctl_top"] == 0xE000_0004
    assert results["sts_before"] == 0x0C
    assert results["sts_after"] == 0x08
    assert results["ctl_sts"] == 0x0810_0004
    assert results["unmapped"] == 0 and results["unmapped2"] == 0
    assert results["gcap"] & 0xFFFF == 0   # R fields read what hardware drives (0 here)


def test_regmap_consistency():
    assert REGMAP["SD1CTL"].offset == 0xA0 and REGMAP["SD1STS"].offset == 0xA3
    assert REGMAP["SD2LPIB_A"].offset == 0x20C4 and REGMAP["SD2LPIB_A"].alias_of == "SD2LPIB"
    assert REGMAP["SD1CTL"].encode(RUN=1, STRM=5) == 0x50_0002
    assert REGMAP["SD0FMT"].decode(0x0011) == {"CHAN": 1, "BITS": 1, "DIV": 0, "MULT": 0,
                                               "BASE": 0}
    with pytest.raises(ValueError, match="does not fit"):
        REGMAP["SD1CTL"].encode(STRM=16)
    with pytest.raises(ValueError, match="overlaps"):
        RegisterMap([Register("A", 0, 4), Register("B", 2, 2)])
    with pytest.raises(ValueError, match="crosses"):
        Register("C", 3, 2)
    with pytest.raises(ValueError, match="access type"):
        Field("X", 0, 1, "RO")
    header = REGMAP.to_c_header()
    assert "#define PCSIM_SD1CTL 0x00a0u" in header
    assert "#define PCSIM_SD1CTL_RUN_MASK 0x00000002u" in header


@pytest.mark.parametrize("fmt,ok,size", [
    (0x0011, True, 4),       # 48 kHz 16-bit stereo
    (0x0030, True, 4),       # 48 kHz 24-bit mono
    (0x0231, True, 8),       # 16 kHz 24-bit stereo
    (0x0041, False, None),   # 32-bit
    (0x0811, False, None),   # 96 kHz
    (0x4011, False, None),   # 44.1 kHz family
    (0x0012, False, None),   # 3 channels
])
def test_format_support(fmt, ok, size):
    assert format_supported(fmt) == ok
    if ok:
        assert frame_bytes(fmt) == size


# ---- stream engine parts ---------------------------------------------------------------------

def test_burst_planner_against_model():
    """beats = min(16, words to the 4 KiB boundary, words the entry needs); bytes = what those
    beats carry of the entry, from the address's byte lane; registered (a clock later)."""
    rng = random.Random(17)
    cases = [(4096 - 4, 100), (4095, 1), (0, 0), (2, 3), (1, 64), (4093, 2000)]
    cases += [(rng.randrange(1 << 32), rng.choice([rng.randrange(1, 80), rng.randrange(1 << 32)]))
              for _ in range(300)]
    dut = BurstPlanner()

    async def bench(ctx):
        for addr, remaining in cases:
            ctx.set(dut.addr, addr)
            ctx.set(dut.remaining, remaining)
            await ctx.tick()
            offset = addr & 3
            words = min(MAX_BURST, (4096 - (addr & 0xFFC)) // 4, (remaining + offset + 3) // 4)
            assert ctx.get(dut.offset) == offset
            assert ctx.get(dut.beats) == words, (addr, remaining)
            assert ctx.get(dut.bytes) == min(remaining, 4 * words - offset), (addr, remaining)

    run_sim(dut, bench)


@pytest.mark.parametrize("queue", [0, 1])
def test_buffer_position_wraps_at_cbl(queue):
    """The position moves by ``step`` on ``add`` and wraps at CBL, except in queue mode or with
    CBL 0."""
    dut = BufferPosition(7)

    async def bench(ctx):
        ctx.set(dut.queue, queue)
        for cbl in (100, 0):
            ctx.set(dut.cbl, cbl)
            want = ctx.get(dut.value)
            for step in (64, 30, 7, 0, 64, 1):
                ctx.set(dut.step, step)
                ctx.set(dut.add, 1)
                await ctx.tick()
                want += step
                if not queue and cbl and want >= cbl:
                    want -= cbl
                assert ctx.get(dut.value) == want, (cbl, step)
            ctx.set(dut.add, 0)
            await ctx.tick()
            assert ctx.get(dut.value) == want

    run_sim(dut, bench)


@pytest.mark.parametrize("mult,div", [(0, 0), (0, 1), (0, 5), (1, 2), (2, 5), (3, 3)])
def test_cadence_sends_mult_frames_every_div(mult, div):
    """MULT+1 due ticks in every DIV+1 frame ticks, evenly from the start; none while idle."""
    dut = Cadence()

    async def bench(ctx):
        ctx.set(dut.mult, mult)
        ctx.set(dut.div, div)
        ctx.set(dut.tick, 1)
        await ctx.tick()
        assert not ctx.get(dut.due)                  # not active
        ctx.set(dut.active, 1)
        dues = []
        for _ in range(4 * (div + 1)):
            dues.append(ctx.get(dut.due))
            await ctx.tick()
        for k in range(4):
            assert sum(dues[k * (div + 1):(k + 1) * (div + 1)]) == mult + 1, dues
        # evenly spread: a frame is due once the accumulated MULT+1 reach DIV+1
        assert dues == [(i + 1) * (mult + 1) // (div + 1) - i * (mult + 1) // (div + 1)
                        for i in range(len(dues))]

    run_sim(dut, bench)


def test_render_link_samples_are_zero_while_it_sends_nothing():
    """The controller's link slots gate only the channel and tag bits with ``tx_valid``
    (rtl/controller.py): RenderLink's ``tx_l``/``tx_r`` must be 0 whenever it is low, under
    random formats, levels, ticks, run/halt/zero changes and data."""
    dut = RenderLink(fifo_depth=64)
    rng = random.Random(17)
    # (wide, stereo, frame_bytes) of every format the engine plays
    formats = [(0, 0, 2), (0, 1, 4), (1, 0, 4), (1, 1, 8)]

    async def bench(ctx):
        sent = 0
        for cycle in range(20_000):
            if cycle % 500 == 0:
                wide, stereo, frame_bytes = rng.choice(formats)
                div = rng.randrange(4)
                ctx.set(dut.format, {"wide": wide, "stereo": stereo, "frame_bytes": frame_bytes,
                                     "mult": rng.randrange(div + 1), "div": div})
            ctx.set(dut.run, rng.random() < 0.95)
            ctx.set(dut.halted, rng.random() < 0.05)
            ctx.set(dut.zero, rng.random() < 0.3)
            ctx.set(dut.frame_tick, cycle % 8 == 0)
            ctx.set(dut.source, rng.getrandbits(64))
            ctx.set(dut.level, rng.randrange(RENDER_REALIGNER_BYTES + 1))
            ctx.set(dut.fifo_level, rng.randrange(65))
            ctx.set(dut.fifo_readable, rng.random() < 0.5)
            samples = (ctx.get(dut.tx_l), ctx.get(dut.tx_r))
            if ctx.get(dut.tx_valid):
                sent += any(samples)
            else:
                assert samples == (0, 0), f"cycle {cycle}: {samples} with tx_valid low"
            await ctx.tick()
        assert sent > 1000          # frames with audio in them were sent

    run_sim(dut, bench)


@pytest.mark.parametrize("queue", [0, 1])
def test_entry_cursor_wraps_or_halts_at_lvi(queue):
    """Entries follow each other up to LVI; then entry 0 again, or in queue mode a halt (with
    one LVBCI pulse) that a poll ends once LVI has moved on."""
    dut = EntryCursor()

    async def step(ctx, **inputs):
        for name, value in inputs.items():
            ctx.set(getattr(dut, name), value)
        pulse = ctx.get(dut.lvbci)
        await ctx.tick()
        for name in inputs:
            ctx.set(getattr(dut, name), 0)
        return pulse

    async def bench(ctx):
        ctx.set(dut.lvi, 1)
        ctx.set(dut.queue, queue)
        seen = []
        for _ in range(2):
            await step(ctx, load=1)
            seen.append(ctx.get(dut.civ))
            seen.append(await step(ctx, finish=1))
        assert seen == [0, 0, 1, queue]
        if queue:
            assert ctx.get(dut.halted)
            await step(ctx, poll=1)                  # LVI still 1: stays halted
            assert ctx.get(dut.halted)
            ctx.set(dut.lvi, 2)
            await step(ctx, poll=1)
            assert not ctx.get(dut.halted) and ctx.get(dut.next) == 2
        else:
            assert not ctx.get(dut.halted) and ctx.get(dut.next) == 0

    run_sim(dut, bench)


#: (byte address, bytes, beats, byte lanes) of bursts: unaligned ones (a start and end
#: mid-word, one beat) on an engine with byte lanes; whole words on both kinds
BURSTS = [(0x1002, 9, 3, True), (0x2003, 6, 3, True), (0x3001, 2, 1, True),
          (0x4000, 8, 2, True), (0x4000, 8, 2, False)]


def lanes_of(addr, nbytes, beats):
    """(first lane, byte count) of each beat of a burst, as AXI moves it."""
    out, left = [], nbytes
    for beat in range(beats):
        lane = addr % 4 if beat == 0 else 0
        count = min(left, 4 - lane)
        out.append((lane, count))
        left -= count
    return out


async def start_request(ctx, ctl, addr, nbytes, beats):
    ctx.set(ctl.start, 1)
    ctx.set(ctl.request, {"addr": addr, "bytes": nbytes, "beats": beats})
    await ctx.tick()
    ctx.set(ctl.start, 0)


@pytest.mark.parametrize("addr,nbytes,beats,byte_lanes", BURSTS)
@pytest.mark.parametrize("bad_beat", [None, 0, 1])
def test_burst_reader_moves_bytes_to_lane_0(addr, nbytes, beats, byte_lanes, bad_beat):
    """AR carries the word address and beats - 1; each beat's bytes come out from lane 0; a
    beat answered SLVERR and every later one carry nothing, and the burst ends in error."""
    dut = BurstReader(byte_lanes=byte_lanes)
    words = [random.Random(addr + k).randrange(1 << 32) for k in range(beats)]
    if bad_beat is not None and bad_beat >= beats:
        bad_beat = None

    async def bench(ctx):
        await start_request(ctx, dut.ctl, addr, nbytes, beats)
        assert ctx.get(dut.bus.arvalid)
        assert (ctx.get(dut.bus.araddr), ctx.get(dut.bus.arlen)) == (addr & ~3, beats - 1)
        ctx.set(dut.bus.arready, 1)
        await ctx.tick()
        ctx.set(dut.bus.arready, 0)
        assert not ctx.get(dut.bus.arvalid) and ctx.get(dut.bus.rready)
        got, done = [], []
        for k, (lane, count) in enumerate(lanes_of(addr, nbytes, beats)):
            failed = bad_beat is not None and k >= bad_beat
            ctx.set(dut.bus.rvalid, 1)
            ctx.set(dut.bus.rdata, words[k])
            ctx.set(dut.bus.rresp, RESP_SLVERR if k == bad_beat else RESP_OKAY)
            ctx.set(dut.bus.rlast, k == beats - 1)
            beat = ctx.get(dut.beat.payload)
            assert ctx.get(dut.beat.valid) == (not failed)
            if not failed:
                got.append((beat["data"] & ((1 << 8 * count) - 1), beat["count"], beat["index"]))
                assert got[-1] == ((words[k] >> 8 * lane) & ((1 << 8 * count) - 1), count, k)
            done.append((ctx.get(dut.ctl.done), ctx.get(dut.ctl.error)))
            await ctx.tick()
        ctx.set(dut.bus.rvalid, 0)
        assert done[-1] == (1, bad_beat is not None)
        assert all(d == 0 for d, _ in done[:-1])
        assert ctx.get(dut.ctl.error) == (bad_beat is not None)      # held after the burst

    run_sim(dut, bench)


@pytest.mark.parametrize("addr,nbytes,beats,byte_lanes", BURSTS)
@pytest.mark.parametrize("bresp", [RESP_OKAY, RESP_DECERR])
def test_burst_writer_places_bytes_on_their_lanes(addr, nbytes, beats, byte_lanes, bresp):
    """AW, then one W beat per cycle the source holds enough bytes, each on its lanes with
    their strobes and the source's oldest bytes, WLAST on the last; B ends the burst."""
    dut = BurstWriter(byte_lanes=byte_lanes)
    source = random.Random(nbytes).randrange(1 << 32)

    async def bench(ctx):
        await start_request(ctx, dut.ctl, addr, nbytes, beats)
        assert (ctx.get(dut.bus.awaddr), ctx.get(dut.bus.awlen)) == (addr & ~3, beats - 1)
        ctx.set(dut.bus.awready, 1)
        await ctx.tick()
        ctx.set(dut.bus.awready, 0)
        ctx.set(dut.bus.wready, 1)
        ctx.set(dut.source, source)
        for k, (lane, count) in enumerate(lanes_of(addr, nbytes, beats)):
            ctx.set(dut.level, count - 1)                 # one byte short: no beat
            if count:
                assert not ctx.get(dut.bus.wvalid) and ctx.get(dut.take) == 0
            ctx.set(dut.level, count)
            assert ctx.get(dut.bus.wvalid)
            assert ctx.get(dut.bus.wstrb) == ((1 << count) - 1) << lane
            mask = ((1 << 8 * count) - 1) << 8 * lane
            assert ctx.get(dut.bus.wdata) & mask == (source << 8 * lane) & mask
            assert ctx.get(dut.bus.wlast) == (k == beats - 1)
            assert ctx.get(dut.take) == count
            await ctx.tick()
        ctx.set(dut.bus.wready, 0)
        assert ctx.get(dut.bus.bready) and not ctx.get(dut.ctl.done)
        ctx.set(dut.bus.bvalid, 1)
        ctx.set(dut.bus.bresp, bresp)
        assert ctx.get(dut.ctl.done) and ctx.get(dut.ctl.error) == (bresp != RESP_OKAY)
        await ctx.tick()
        ctx.set(dut.bus.bvalid, 0)
        assert not ctx.get(dut.ctl.done) and ctx.get(dut.ctl.error) == (bresp != RESP_OKAY)

    run_sim(dut, bench)


def test_bdl_entry_loads_a_descriptor_and_moves_on():
    """The fetched words become the entry at ``load`` (address, length, IOC of the last word);
    each burst takes its bytes off; the plan is not ready in the cycle after either; ``finish``
    leaves it invalid."""
    dut = BdlEntry()
    words = [0x0001_2346, 0, 100, 1]               # address, high address, length, IOC

    async def bench(ctx):
        for index, value in enumerate(words):
            ctx.set(dut.words.valid, 1)
            ctx.set(dut.words.payload, {"data": value, "count": 4, "index": index})
            ctx.set(dut.load, index == len(words) - 1)
            await ctx.tick()
        ctx.set(dut.words.valid, 0)
        ctx.set(dut.load, 0)
        assert (ctx.get(dut.valid), ctx.get(dut.addr), ctx.get(dut.remaining),
                ctx.get(dut.ioc)) == (1, 0x0001_2346, 100, 1)
        assert not ctx.get(dut.plan_ready)
        await ctx.tick()
        assert ctx.get(dut.plan_ready)
        assert (ctx.get(dut.next_beats), ctx.get(dut.next_bytes)) == (16, 62)  # lane 2: 64 - 2
        ctx.set(dut.moved, 1)
        ctx.set(dut.moved_bytes, 62)
        await ctx.tick()
        ctx.set(dut.moved, 0)
        assert (ctx.get(dut.addr), ctx.get(dut.remaining)) == (0x0001_2346 + 62, 38)
        assert not ctx.get(dut.plan_ready)
        await ctx.tick()
        assert (ctx.get(dut.next_beats), ctx.get(dut.next_bytes)) == (10, 38)
        ctx.set(dut.finish, 1)
        await ctx.tick()
        assert not ctx.get(dut.valid)

    run_sim(dut, bench)
