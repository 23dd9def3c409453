"""Amaranth-sim unit tests of the controller <-> codec link (rtl/i2s_link.py)."""

import random

import pytest
from amaranth.hdl import Elaboratable, Module
from amaranth.sim import Simulator

from rtl.i2s_link import (LinkMaster, LinkSlave, pack_frame, unpack_frame, slot_word,
                          unpack_slot)


LATENCY = 259   # frame_tick -> rx_valid, both directions (documented in rtl/i2s_link.py)


class Pair(Elaboratable):
    def __init__(self, frame_clocks):
        self.master = LinkMaster(frame_clocks)
        self.slave = LinkSlave()

    def elaborate(self, platform):
        m = Module()
        m.submodules.master = master = self.master
        m.submodules.slave = slave = self.slave
        m.d.comb += [
            slave.bclk.eq(master.bclk),
            slave.lrclk.eq(master.lrclk),
            slave.sdo.eq(master.dout),
            master.din.eq(slave.sdi),
        ]
        return m


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


async def exchange(ctx, dut, cycles, rng, log, enable_at=lambda cyc: True):
    """Clock the pair, feeding new random frames at every frame start; record everything."""
    master, slave = dut.master, dut.slave
    for cyc in range(cycles):
        ctx.set(master.enable, enable_at(cyc))
        if ctx.get(master.frame_tick):
            value = rng.getrandbits(128)
            ctx.set(master.tx_slots, value)     # latched at the coming edge
            log["m_sent"].append((cyc, value))
        if ctx.get(slave.frame_start):
            value = rng.getrandbits(128)
            ctx.set(slave.tx_slots, value)
            log["s_sent"].append((cyc, value))
        if ctx.get(slave.rx_valid):
            log["s_rcvd"].append((cyc, ctx.get(slave.rx_slots)))
        if ctx.get(slave.rx_slot_valid):
            index = ctx.get(slave.rx_slot.index)
            assert ctx.get(slave.rx_valid) == (index == 3), cyc    # the last slot: rx_valid
            log["s_slots"].append((cyc, index, ctx.get(slave.rx_slot.word)))
        else:
            assert not ctx.get(slave.rx_valid), cyc
        if ctx.get(master.rx_valid):
            log["m_rcvd"].append((cyc, ctx.get(master.rx_slots)))
        await ctx.tick()


def new_log():
    return {"m_sent": [], "s_sent": [], "s_rcvd": [], "m_rcvd": [], "s_slots": []}


def check_slot_events(log):
    """Every frame the slave delivers came as its four slots, in order, one every 32 bit
    periods, the last in the ``rx_valid`` cycle."""
    events = log["s_slots"]
    for cyc, value in log["s_rcvd"]:
        k = events.index((cyc, 3, value & 0xFFFF_FFFF))
        assert k >= 3
        assert [e[1:] for e in events[k - 3:k + 1]] == list(enumerate(unpack_frame(value)))
        assert [e[0] for e in events[k - 3:k + 1]] == [cyc - 64 * j for j in (3, 2, 1, 0)]


@pytest.mark.parametrize("frame_clocks", [256, 258, 384, 1000])
def test_frames_both_directions(frame_clocks):
    dut = Pair(frame_clocks)
    rng = random.Random(frame_clocks)
    log = new_log()
    frames = 6

    async def bench(ctx):
        await exchange(ctx, dut, frames * frame_clocks + LATENCY + 2, rng, log)

    run(dut, bench)

    ticks = [c for c, _ in log["m_sent"]]
    assert len(ticks) >= frames
    # master -> slave: every frame intact, fixed latency
    assert [v for _, v in log["s_rcvd"]] == [v for _, v in log["m_sent"]][:len(log["s_rcvd"])]
    assert len(log["s_rcvd"]) >= frames
    for (ct, _), (cr, _) in zip(log["m_sent"], log["s_rcvd"]):
        assert cr - ct == LATENCY
    check_slot_events(log)
    assert len(log["s_slots"]) >= 4 * frames
    # slave -> master: the slave latches one clock after frame_tick
    assert [c for c, _ in log["s_sent"]] == [t + 1 for t in ticks][:len(log["s_sent"])]
    assert [v for _, v in log["m_rcvd"]] == [v for _, v in log["s_sent"]][:len(log["m_rcvd"])]
    assert len(log["m_rcvd"]) >= frames
    for (ct, _), (cr, _) in zip(log["s_sent"], log["m_rcvd"]):
        assert cr - ct == LATENCY - 1


@pytest.mark.parametrize("frame_clocks", [256, 384])
def test_frame_tick_period_and_pins(frame_clocks):
    dut = Pair(frame_clocks)
    m = dut.master
    ticks, pins = [], []

    async def bench(ctx):
        # held idle while disabled
        for _ in range(10):
            assert not ctx.get(m.frame_tick)
            assert (ctx.get(m.bclk), ctx.get(m.lrclk), ctx.get(m.dout)) == (0, 1, 0)
            await ctx.tick()
        ctx.set(m.enable, 1)
        ctx.set(m.tx_slots, (1 << 128) - 1)          # all ones: dout high on data bits
        for cyc in range(4 * frame_clocks + 1):
            if ctx.get(m.frame_tick):
                ticks.append(cyc)
            pins.append((ctx.get(m.bclk), ctx.get(m.lrclk), ctx.get(m.dout)))
            await ctx.tick()

    run(dut, bench)
    assert ticks[0] == 0
    assert all(b - a == frame_clocks for a, b in zip(ticks, ticks[1:]))
    assert len(ticks) == 5
    # one full frame of pins, q = 0 is the cycle after the tick
    t = ticks[1]
    frame = pins[t + 1:t + 1 + frame_clocks]
    for q, (bclk, lrclk, dout) in enumerate(frame):
        if q < 258 or frame_clocks == 256:
            assert bclk == q % 2, q
            assert lrclk == (128 <= q < 256 or q >= 256 and frame_clocks > 256), q
            if 2 <= q < 258:
                assert dout == 1, q
        else:
            assert (bclk, lrclk, dout) == (0, 1, 0), q


def test_disable_reenable_no_garbage():
    # Disabling the link at any point, including right at a frame boundary, must not make the
    # slave deliver a half-old, half-junk frame when the link comes back.
    for stop in (255, 256, 300, 511, 512, 513):
        dut = Pair(256)
        rng = random.Random(stop)
        log = new_log()

        async def bench(ctx):
            await exchange(ctx, dut, 5 * 256 + LATENCY, rng, log,
                           enable_at=lambda c: not (stop <= c < stop + 100))

        run(dut, bench)
        end = 5 * 256 + LATENCY
        sent = [v for _, v in log["m_sent"]]
        got = [v for _, v in log["s_rcvd"]]
        assert set(got) <= set(sent), stop
        # ... and nothing arrives late: a frame is either on time or lost
        assert set(log["s_rcvd"]) <= {(c + LATENCY, v) for c, v in log["m_sent"]}, stop
        assert set(log["m_rcvd"]) <= {(c + LATENCY - 1, v) for c, v in log["s_sent"]}, stop
        # every frame started after the link came back arrives, in order
        after = [v for c, v in log["m_sent"] if stop + 100 <= c < end - LATENCY]
        assert len(after) >= 2
        assert got[-len(after):] == after, stop
        check_slot_events(log)
        got_m = [v for _, v in log["m_rcvd"]]
        assert set(got_m) <= {v for _, v in log["s_sent"]}, stop


@pytest.mark.parametrize("bad", [0, 100, 255, 257])
def test_bad_frame_clocks(bad):
    with pytest.raises(ValueError, match=str(bad)):
        LinkMaster(bad)


def test_bad_frame_clocks_type():
    with pytest.raises(ValueError, match="256.5"):
        LinkMaster(256.5)


def test_slot_helpers():
    w = slot_word(5, 1, -2)
    assert w == 0x5800_0000 | 0xFF_FFFE
    assert unpack_slot(w) == (5, 1, -2)
    f = pack_frame([1, 2, 3, 4])
    assert f >> 96 == 1 and f & 0xFFFF_FFFF == 4
    assert unpack_frame(f) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="16"):
        slot_word(16, 0, 0)


def test_verilog_export():
    from amaranth.back import verilog
    assert "module" in verilog.convert(LinkMaster(384), name="link_master")
    assert "module" in verilog.convert(LinkSlave(), name="link_slave")
