"""amaranth.sim unit tests of the MIDI block's parts (rtl/midi_parts.py): which commands are
acknowledged, the data port's read against an acknowledge in the same cycle (the register
bank never issues both, the block's ports allow it), the timestamped queue's release time
and order, and the counters' saturation. test_midi_rtl.py tests them together."""

from amaranth.sim import Simulator

from rtl.midi import QUEUE_LEAD
from rtl.midi_parts import MpuCommands, MpuDataPort, SaturatingCounter, TimestampedQueue
from rtl.regmap import MPU_ACK, MPU_RESET, MPU_UART_MODE


def run_sim(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_commands_acknowledged_and_flush():
    """0xFF and 0x3F are always answered; other commands only outside UART mode; only 0xFF
    flushes."""
    dut = MpuCommands()
    seen = []

    async def bench(ctx):
        ctx.set(dut.cmd_w_stb, 1)
        for cmd in (0x12, MPU_UART_MODE, 0x12, MPU_RESET, 0x12):
            ctx.set(dut.cmd_w_data, cmd)
            seen.append((ctx.get(dut.uart), ctx.get(dut.acknowledge), ctx.get(dut.flush)))
            await ctx.tick()
        ctx.set(dut.cmd_w_stb, 0)
        assert not ctx.get(dut.acknowledge) and not ctx.get(dut.flush)

    run_sim(dut, bench)
    assert seen == [(0, 1, 0), (0, 1, 0), (1, 0, 0), (1, 1, 1), (0, 1, 0)]


def test_data_port_read_wins_over_an_acknowledge_in_the_same_cycle():
    dut = MpuDataPort()

    async def bench(ctx):
        ctx.set(dut.received.valid, 1)
        ctx.set(dut.received.payload, 0x90)
        # no acknowledge pending: the read pops the received byte, the new one is pending after
        ctx.set(dut.acknowledge, 1)
        ctx.set(dut.r_stb, 1)
        assert ctx.get(dut.r_data) == 0x90 and ctx.get(dut.received.ready)
        await ctx.tick()
        # pending: the read takes it, and a second acknowledge in the same cycle is lost
        assert ctx.get(dut.r_data) == MPU_ACK and not ctx.get(dut.received.ready)
        await ctx.tick()
        ctx.set(dut.acknowledge, 0)
        ctx.set(dut.r_stb, 0)
        assert ctx.get(dut.r_data) == 0x90 and ctx.get(dut.readable)
        ctx.set(dut.received.valid, 0)
        assert ctx.get(dut.r_data) == 0 and not ctx.get(dut.readable)

    run_sim(dut, bench)


def test_queue_offers_the_head_lead_clocks_ahead_and_in_order():
    """An entry is valid from wallclk == time - QUEUE_LEAD + 1 (taken then, its start bit
    begins as wallclk reaches the time); the entry behind waits though it is due."""
    dut = TimestampedQueue(4, QUEUE_LEAD)
    offered = []

    async def bench(ctx):
        assert ctx.get(dut.free) == 4
        ctx.set(dut.w_en, 1)
        for byte, time in ((0xA1, 40), (0xA2, 0)):
            ctx.set(dut.w_byte, byte)
            ctx.set(dut.w_time, time)
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        assert ctx.get(dut.free) == 2
        ctx.set(dut.out.ready, 1)
        for wallclk in range(60):
            ctx.set(dut.wallclk, wallclk)
            if ctx.get(dut.out.valid):
                offered.append((wallclk, ctx.get(dut.out.payload)))
            await ctx.tick()
        assert ctx.get(dut.free) == 4

    run_sim(dut, bench)
    assert offered[0] == (40 - QUEUE_LEAD + 1, 0xA1)
    assert [byte for _, byte in offered] == [0xA1, 0xA2]
    assert offered[1][0] > offered[0][0]


def test_counter_saturates():
    dut = SaturatingCounter(5)
    counts = []

    async def bench(ctx):
        ctx.set(dut.inc, 1)
        for _ in range(8):
            await ctx.tick()
            counts.append(ctx.get(dut.count))

    run_sim(dut, bench)
    assert len(dut.count) == 3
    assert counts == [1, 2, 3, 4, 5, 5, 5, 5]
