"""amaranth.sim tests of the UARTBone bridge (rtl/uartbone.py) and the board RAM
(rtl/board_ram.py) against a byte-level model written from the wire protocol's description:
reads, writes, fixed/incrementing bursts, the byte-strobe window, unknown commands, truncated
frames (timeout, then recovery on the next frame) and the RAM's AXI4 DMA port."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from rtl.axi import RESP_DECERR, RESP_OKAY
from rtl.board_ram import BoardRam
from rtl.bridge_map import RAM_BASE, STRB_BASE
from rtl.uartbone import UartBone

RAM_BYTES = 4096
TIMEOUT = 64


class BridgeModel:
    """What a UARTBone bridge does with a byte stream, from the protocol description: frames of
    cmd, length, big-endian word address, then big-endian data words; reads answer their words.
    Registers are 16 bits of byte address, written with a strobe (0xF outside the strobe
    window); the RAM sits at RAM_BASE."""

    def __init__(self):
        self.regs = {}              # byte offset of a word -> value
        self.ram = bytearray(RAM_BYTES)
        self.out = bytearray()
        self.pending = bytearray()  # bytes of an unfinished frame

    def feed(self, data):
        for b in data:
            self.pending.append(b)
            self._try_frame()

    def gap(self):
        """The line went quiet for longer than the timeout: an unfinished frame is dropped."""
        self.pending.clear()

    def _try_frame(self):
        """Act on what the pending bytes complete: a write word as soon as its four bytes are
        in (the bridge does not wait for the whole frame), reads once the header is in."""
        p = self.pending
        if len(p) < 6:
            return
        cmd, length, word = p[0], p[1], int.from_bytes(p[2:6], "big")
        step = 1 if cmd in (1, 2) else 0
        if cmd in (1, 3):
            done = (len(p) - 6) // 4
            if len(p) > 6 and (len(p) - 6) % 4 == 0:
                i = done - 1
                self._write((word + step * i) * 4 & 0xFFFFFFFF,
                            int.from_bytes(p[6 + 4 * i:10 + 4 * i], "big"))
            if done < length:
                return
        elif cmd in (2, 4):
            for i in range(length):
                self.out += self._read((word + step * i) * 4 & 0xFFFFFFFF).to_bytes(4, "big")
        p.clear()

    def _write(self, address, value):
        if address >> 16 == 0:
            self._reg_write(address, value, 0xF)
        elif address >> 20 == STRB_BASE >> 20:
            self._reg_write(address & 0xFFFF, value, (address >> 16) & 0xF)
        elif address >> 28 == RAM_BASE >> 28:
            at = address % RAM_BYTES
            self.ram[at:at + 4] = value.to_bytes(4, "little")

    def _reg_write(self, offset, value, strobe):
        old = self.regs.get(offset, 0)
        mask = sum(0xFF << (8 * i) for i in range(4) if strobe >> i & 1)
        self.regs[offset] = (old & ~mask) | (value & mask)

    def _read(self, address):
        if address >> 16 == 0 or address >> 20 == STRB_BASE >> 20:
            return self.regs.get(address & 0xFFFF, 0)
        if address >> 28 == RAM_BASE >> 28:
            at = address % RAM_BYTES
            return int.from_bytes(self.ram[at:at + 4], "little")
        return 0


def frame(cmd, address, words=(), length=None):
    """Bytes of a frame for byte ``address`` (sent as a word address)."""
    n = len(words) if length is None else length
    return (bytes([cmd, n]) + (address // 4).to_bytes(4, "big")
            + b"".join(w.to_bytes(4, "big") for w in words))


class Harness(wiring.Component):
    def __init__(self):
        self.bridge = UartBone(ram_words=RAM_BYTES // 4, timeout_clocks=TIMEOUT)
        self.ram = BoardRam(RAM_BYTES)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.bridge, m.submodules.ram = self.bridge, self.ram
        wiring.connect(m, self.bridge.ram, self.ram.host)
        return m


async def pause(ctx, clocks):
    for _ in range(clocks):
        await ctx.tick()


def run_bridge(chunks, seed=0, dma=None):
    """Send ``chunks`` (bytes, or None for a quiet gap past the timeout) through the RTL with a
    register slave that answers after random delays; returns (tx bytes, regs, ram, dma
    results)."""
    rng = random.Random(seed)
    dut = Harness()
    b, axil, axi = dut.bridge, dut.bridge.axil, dut.ram.axi
    regs, out, dma_out = {}, bytearray(), []

    async def host(ctx):
        for chunk in chunks:
            if chunk is None:
                await ctx.tick().repeat(TIMEOUT + 8)
                continue
            for byte in chunk:
                ctx.set(b.rx.payload, byte)
                ctx.set(b.rx.valid, 1)
                await ctx.tick().until(b.rx.ready)
                ctx.set(b.rx.valid, 0)
                await pause(ctx, rng.randint(0, 3))
        for _ in range(400):            # let the last frame finish and its answer go out
            await ctx.tick()

    async def sink(ctx):
        while True:
            ctx.set(b.tx.ready, rng.random() < 0.6)
            await ctx.tick()

    async def tx_monitor(ctx):
        async for clk_edge, rst, valid, ready, payload in ctx.tick().sample(
                b.tx.valid, b.tx.ready, b.tx.payload):
            if valid and ready:
                out.append(payload)

    async def reg_slave(ctx):
        while True:
            await ctx.tick()
            if ctx.get(axil.awvalid) and ctx.get(axil.wvalid):
                await pause(ctx, rng.randint(0, 2))
                ctx.set(axil.awready, 1)
                ctx.set(axil.wready, 1)
                addr, data, strb = ctx.get(axil.awaddr), ctx.get(axil.wdata), ctx.get(axil.wstrb)
                await ctx.tick()
                ctx.set(axil.awready, 0)
                ctx.set(axil.wready, 0)
                mask = sum(0xFF << (8 * i) for i in range(4) if strb >> i & 1)
                regs[addr] = (regs.get(addr, 0) & ~mask) | (data & mask)
                ctx.set(axil.bvalid, 1)
                ctx.set(axil.bresp, RESP_OKAY)
                await ctx.tick().until(axil.bready)
                ctx.set(axil.bvalid, 0)
            elif ctx.get(axil.arvalid):
                ctx.set(axil.arready, 1)
                addr = ctx.get(axil.araddr)
                await ctx.tick()
                ctx.set(axil.arready, 0)
                await pause(ctx, rng.randint(0, 2))
                ctx.set(axil.rdata, regs.get(addr, 0))
                ctx.set(axil.rvalid, 1)
                await ctx.tick().until(axil.rready)
                ctx.set(axil.rvalid, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(host)
    sim.add_process(sink)
    sim.add_process(tx_monitor)
    sim.add_testbench(reg_slave, background=True)
    if dma is not None:
        async def dma_master(ctx):
            await dma(ctx, axi, dma_out)
        sim.add_testbench(dma_master, background=True)
    sim.run()
    return bytes(out), regs, dut, dma_out


def expected(chunks):
    model = BridgeModel()
    for chunk in chunks:
        model.gap() if chunk is None else model.feed(chunk)
    return model


def random_frames(rng, count):
    frames = []
    for _ in range(count):
        kind = rng.choice(["wreg", "rreg", "wstrb", "wram", "rram", "fixed", "rfixed", "bad"])
        reg = rng.randrange(0, 0x40) * 4
        ram = RAM_BASE + rng.randrange(0, RAM_BYTES // 4 - 8) * 4
        words = [rng.getrandbits(32) for _ in range(rng.randint(1, 6))]
        frames.append({
            "wreg": lambda: frame(1, reg, words),
            "rreg": lambda: frame(2, reg, length=len(words)),
            "wstrb": lambda: frame(1, STRB_BASE | rng.randint(0, 15) << 16 | reg, words[:1]),
            "wram": lambda: frame(1, ram, words),
            "rram": lambda: frame(2, ram, length=len(words)),
            "fixed": lambda: frame(3, ram, words),
            "rfixed": lambda: frame(4, reg, length=len(words)),
            "bad": lambda: frame(rng.choice([0, 5, 0x7F, 0xFF]), reg, length=len(words)),
        }[kind]())
    return frames


@pytest.mark.parametrize("seed", [1, 2])
def test_random_frames_match_the_model(seed):
    """Random mixes of every command, including unknown ones, give the model's answers and
    leave registers and RAM as the model does."""
    rng = random.Random(seed)
    chunks = random_frames(rng, 30)
    out, regs, dut, _ = run_bridge(chunks, seed)
    model = expected(chunks)
    assert out == bytes(model.out)
    assert {k: v for k, v in regs.items()} == model.regs


def test_truncated_frames_time_out_and_the_next_frame_works():
    """A frame cut anywhere (in the header, the address or a data word) is dropped after the
    quiet timeout: no bus write happens for its partial word, and the next frame is served."""
    whole = frame(1, 0x20, [0x11223344, 0x55667788])
    chunks = []
    for cut in (1, 2, 4, 6, 8, 11, 13):
        chunks += [whole[:cut], None, frame(1, 0x40 + 4 * cut, [cut]),
                   frame(2, 0x40 + 4 * cut, length=1)]
    out, regs, _, _ = run_bridge(chunks, seed=3)
    model = expected(chunks)
    assert out == bytes(model.out)
    assert regs == model.regs
    # the cuts at 13 bytes delivered the first word of `whole` only
    assert regs[0x20] == 0x11223344 and 0x24 not in regs


def test_without_a_gap_a_short_frame_swallows_the_next():
    """The protocol has no framing: a frame missing bytes takes the next frame's bytes as its
    own (the reason for the timeout). The model and the RTL agree on what follows."""
    chunks = [frame(1, 0x10, [1, 2], length=3), frame(2, 0x10, length=2), None,
              frame(2, 0x10, length=2)]
    out, regs, _, _ = run_bridge(chunks, seed=4)
    assert out == bytes(expected(chunks).out)


def test_ram_serves_the_dma_port():
    """Words the host wrote through the bridge are read by an AXI4 burst on the DMA port; a
    burst write with strobes lands in the RAM the host reads back; addresses outside the RAM
    answer DECERR."""
    host_words = [0x01020304 * (i + 1) & 0xFFFFFFFF for i in range(8)]
    chunks = [frame(1, RAM_BASE + 0x100, host_words), *[None] * 8,
              frame(2, RAM_BASE + 0x200, length=4)]

    async def dma(ctx, axi, results):
        await ctx.tick().repeat(400)    # after the host's write
        ctx.set(axi.araddr, RAM_BASE + 0x100)
        ctx.set(axi.arlen, 7)
        ctx.set(axi.arvalid, 1)
        await ctx.tick().until(axi.arready)
        ctx.set(axi.arvalid, 0)
        ctx.set(axi.rready, 1)
        beats = []
        while len(beats) < 8:
            _, _, valid, data, last, resp = await ctx.tick().sample(
                axi.rvalid, axi.rdata, axi.rlast, axi.rresp)
            if valid:
                beats.append((data, last, resp))
        ctx.set(axi.rready, 0)
        results.append(("read", beats))
        ctx.set(axi.awaddr, RAM_BASE + 0x200)
        ctx.set(axi.awlen, 3)
        ctx.set(axi.awvalid, 1)
        await ctx.tick().until(axi.awready)
        ctx.set(axi.awvalid, 0)
        for i in range(4):
            ctx.set(axi.wdata, 0xA0B0C0D0 + i)
            ctx.set(axi.wstrb, 0b0101 if i == 1 else 0b1111)
            ctx.set(axi.wlast, i == 3)
            ctx.set(axi.wvalid, 1)
            await ctx.tick().until(axi.wready)
        ctx.set(axi.wvalid, 0)
        ctx.set(axi.bready, 1)
        (resp,) = await ctx.tick().sample(axi.bresp).until(axi.bvalid)
        ctx.set(axi.bready, 0)
        results.append(("write", resp))
        ctx.set(axi.araddr, RAM_BASE + RAM_BYTES)
        ctx.set(axi.arlen, 0)
        ctx.set(axi.arvalid, 1)
        await ctx.tick().until(axi.arready)
        ctx.set(axi.arvalid, 0)
        ctx.set(axi.rready, 1)
        resp, last = await ctx.tick().sample(axi.rresp, axi.rlast).until(axi.rvalid)
        ctx.set(axi.rready, 0)
        results.append(("outside", resp, last))

    out, _, _, results = run_bridge(chunks, seed=5, dma=dma)
    assert results[0] == ("read", [(w, i == 7, RESP_OKAY) for i, w in enumerate(host_words)])
    assert results[1] == ("write", RESP_OKAY)
    assert results[2] == ("outside", RESP_DECERR, 1)
    got = [int.from_bytes(out[i:i + 4], "big") for i in range(0, 16, 4)]
    assert got == [0xA0B0C0D0, 0x00B000D1, 0xA0B0C0D2, 0xA0B0C0D3]
