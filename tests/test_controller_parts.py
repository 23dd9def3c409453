"""amaranth.sim unit tests of the controller's parts (rtl/controller_parts.py): the CRST exit
timing and SDIWAKE pulse, the immediate command handshake (ICB, IRV, IRII) and its abandon on
reset, the unsolicited response queue's pop and back-pressure, and the interrupt gating and
its registered line. test_soc.py and test_interrupt.py test them together, through the
register bank."""

from amaranth.sim import Simulator

from rtl.controller import CRST_EXIT_CLOCKS, UNSOL_DEPTH
from rtl.controller_parts import (STREAM_INTERRUPT_CAUSES, ImmediateCommand, InterruptLogic,
                                  ResetHandshake, UnsolicitedQueue)


def run_sim(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


async def write_crst(ctx, dut, value):
    """One write of CRST, taken at the next clock edge."""
    ctx.set(dut.crst_w_stb, 1)
    ctx.set(dut.crst_w_data, value)
    await ctx.tick()
    ctx.set(dut.crst_w_stb, 0)


def test_crst_exit_takes_exit_clocks_and_wakes_the_codec_once():
    """CRST reads 1 exactly CRST_EXIT_CLOCKS clocks after the edge that takes the write of 1;
    codec_wake is high in that first cycle only; a write of 0 enters reset at the next edge."""
    dut = ResetHandshake(CRST_EXIT_CLOCKS)

    async def bench(ctx):
        assert ctx.get(dut.in_reset) and not ctx.get(dut.out_of_reset)
        await write_crst(ctx, dut, 1)
        for _ in range(CRST_EXIT_CLOCKS):
            assert ctx.get(dut.in_reset) and not ctx.get(dut.codec_wake)
            await ctx.tick()
        assert ctx.get(dut.out_of_reset) and not ctx.get(dut.in_reset)
        assert ctx.get(dut.codec_wake)
        await ctx.tick()
        assert ctx.get(dut.out_of_reset) and not ctx.get(dut.codec_wake)
        await write_crst(ctx, dut, 1)               # already out of reset: nothing happens
        assert ctx.get(dut.out_of_reset) and not ctx.get(dut.codec_wake)
        await write_crst(ctx, dut, 0)
        assert ctx.get(dut.in_reset)

    run_sim(dut, bench)


def test_crst_zero_cancels_an_exit_and_one_starts_it_over():
    dut = ResetHandshake(CRST_EXIT_CLOCKS)

    async def bench(ctx):
        await write_crst(ctx, dut, 1)
        await ctx.tick().repeat(CRST_EXIT_CLOCKS // 2)
        await write_crst(ctx, dut, 0)               # cancelled: never leaves reset
        await ctx.tick().repeat(2 * CRST_EXIT_CLOCKS)
        assert ctx.get(dut.in_reset)
        await write_crst(ctx, dut, 1)
        await ctx.tick().repeat(CRST_EXIT_CLOCKS // 2)
        await write_crst(ctx, dut, 1)               # again during the exit: counts anew
        await ctx.tick().repeat(CRST_EXIT_CLOCKS - 1)
        assert ctx.get(dut.in_reset)
        await ctx.tick()
        assert ctx.get(dut.out_of_reset) and ctx.get(dut.codec_wake)

    run_sim(dut, bench)


async def start_command(ctx, dut, verb):
    ctx.set(dut.verb, verb)
    ctx.set(dut.icb_w_stb, 1)
    ctx.set(dut.icb_w_data, 1)
    await ctx.tick()
    ctx.set(dut.icb_w_stb, 0)


def test_immediate_command_handshake():
    """ICB rises with the write; the verb is offered until the codec takes it, the response is
    accepted only after that; IRV is set in the response's cycle and IRII holds it as ICB
    falls."""
    dut = ImmediateCommand()

    async def bench(ctx):
        assert not ctx.get(dut.busy) and not ctx.get(dut.cmd.valid)
        assert ctx.get(dut.cmd.payload) == 0            # nothing on the stream while idle
        await start_command(ctx, dut, 0x00F0_0000)
        assert ctx.get(dut.busy)
        ctx.set(dut.resp.valid, 1)                      # an early response is not taken
        ctx.set(dut.resp.payload, 0xDEAD)
        for _ in range(3):                              # the codec is not ready yet
            assert ctx.get(dut.cmd.valid) and ctx.get(dut.cmd.payload) == 0x00F0_0000
            assert not ctx.get(dut.resp.ready) and not ctx.get(dut.irv_set)
            await ctx.tick()
        ctx.set(dut.resp.valid, 0)
        ctx.set(dut.cmd.ready, 1)
        await ctx.tick()
        ctx.set(dut.cmd.ready, 0)
        assert not ctx.get(dut.cmd.valid) and ctx.get(dut.resp.ready)
        await start_command(ctx, dut, 0x1234)           # ICB written while busy: ignored
        assert ctx.get(dut.busy) and not ctx.get(dut.cmd.valid)
        ctx.set(dut.resp.valid, 1)
        ctx.set(dut.resp.payload, 0x8765_4321)
        assert ctx.get(dut.irv_set)
        await ctx.tick()
        ctx.set(dut.resp.valid, 0)
        assert not ctx.get(dut.busy) and not ctx.get(dut.irv_set)
        assert ctx.get(dut.response) == 0x8765_4321

    run_sim(dut, bench)


def test_immediate_command_abandoned_in_reset_keeps_the_response():
    dut = ImmediateCommand()

    async def bench(ctx):
        await start_command(ctx, dut, 1)
        ctx.set(dut.cmd.ready, 1)
        await ctx.tick()
        ctx.set(dut.resp.valid, 1)
        ctx.set(dut.resp.payload, 0x42)
        await ctx.tick()
        ctx.set(dut.resp.valid, 0)
        await start_command(ctx, dut, 2)
        ctx.set(dut.in_reset, 1)
        # reset wins in its first cycle: the verb is no longer offered, no response taken
        assert ctx.get(dut.busy) and not ctx.get(dut.cmd.valid)
        ctx.set(dut.resp.valid, 1)
        assert not ctx.get(dut.resp.ready) and not ctx.get(dut.irv_set)
        await ctx.tick()
        ctx.set(dut.resp.valid, 0)
        assert not ctx.get(dut.busy) and ctx.get(dut.response) == 0x42
        await start_command(ctx, dut, 3)                # ignored while in reset
        assert not ctx.get(dut.busy)

    run_sim(dut, bench)


def test_unsolicited_queue_pops_in_order_and_holds_the_codec_off_when_full():
    dut = UnsolicitedQueue(UNSOL_DEPTH)

    async def bench(ctx):
        assert ctx.get(dut.head) == 0 and not ctx.get(dut.pending)
        ctx.set(dut.unsol.valid, 1)
        taken = 0
        for word in range(100, 100 + UNSOL_DEPTH + 2):
            ctx.set(dut.unsol.payload, word)
            taken += ctx.get(dut.unsol.ready)
            await ctx.tick()
        ctx.set(dut.unsol.valid, 0)
        assert taken == UNSOL_DEPTH and not ctx.get(dut.unsol.ready)
        for word in range(100, 100 + UNSOL_DEPTH):
            assert ctx.get(dut.pending) and ctx.get(dut.head) == word
            ctx.set(dut.pop, 1)                         # a read returns head, then pops
            await ctx.tick()
            ctx.set(dut.pop, 0)
            await ctx.tick()
        assert not ctx.get(dut.pending) and ctx.get(dut.head) == 0

    run_sim(dut, bench)


def test_interrupt_gating_and_registered_irq():
    """Each stream cause counts only with its own enable; GIS needs SIE/MIE/CIE; irq follows
    GIS & GIE one clock later."""
    dut = InterruptLogic(3)
    all_causes = (1 << len(STREAM_INTERRUPT_CAUSES)) - 1

    async def bench(ctx):
        ctx.set(dut.gie, 1)
        for bit in range(len(STREAM_INTERRUPT_CAUSES)):
            ctx.set(dut.causes[1], 1 << bit)
            ctx.set(dut.enables[1], all_causes & ~(1 << bit))
            assert ctx.get(dut.sis) == 0
            ctx.set(dut.enables[1], 1 << bit)
            assert ctx.get(dut.sis) == 0b010
        ctx.set(dut.sie, 0b101)
        assert not ctx.get(dut.gis)                     # stream 1 is not enabled
        ctx.set(dut.sie, 0b010)
        assert ctx.get(dut.gis) and not ctx.get(dut.irq)
        await ctx.tick()
        assert ctx.get(dut.irq)
        ctx.set(dut.gie, 0)
        assert ctx.get(dut.irq)                         # registered: still high this cycle
        await ctx.tick()
        assert not ctx.get(dut.irq) and ctx.get(dut.gis)
        ctx.set(dut.sie, 0)
        ctx.set(dut.gie, 1)
        for cause, enable in ((dut.mis, dut.mie), (dut.cis, dut.cie)):
            ctx.set(cause, 1)
            assert not ctx.get(dut.gis)
            ctx.set(enable, 1)
            assert ctx.get(dut.gis)
            ctx.set(cause, 0)
            ctx.set(enable, 0)

    run_sim(dut, bench)
