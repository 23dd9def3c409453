"""amaranth.sim unit tests of small RTL blocks: byte realigner, register bank + AXI4-Lite
slave, and the register-map definition."""

import random

import pytest
from amaranth.sim import Simulator

from rtl.axil_slave import AXI4LiteToCSR
from rtl.csr_bank import RegisterBank
from rtl.realigner import ByteRealigner
from rtl.regmap import REGMAP, Field, Register, RegisterMap, format_supported, frame_bytes
from amaranth.hdl import Module
from amaranth.lib import wiring


def run_sim(dut, bench, cycles_limit=None):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("take_size", [2, 4, 8])
def test_realigner_preserves_byte_order(take_size):
    """Random pushes of 0-4 bytes and takes of a fixed frame size keep every byte in order."""
    rng = random.Random(take_size)
    dut = ByteRealigner()
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
                out.extend(ctx.get(dut.o_data).to_bytes(8, "little")[:take])
            pushed = ctx.get(dut.i_valid) and ctx.get(dut.i_ready)
            await ctx.tick()
            if pushed:
                pos += count
    run_sim(dut, bench)
    assert bytes(out) == stream[:len(out)]


def test_realigner_rejects_small_capacity():
    with pytest.raises(ValueError, match="capacity 4"):
        ByteRealigner(capacity=4)


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
