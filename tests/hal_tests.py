"""cocotb tests of the portdrv services on the simulated machine: InterruptSync and ServiceGroup
serving the device's real IOC interrupts through the cosim HAL (ISR at device level, DPC later),
and an interrupt that comes after the device lost power."""

import cocotb
from cocotb.simtime import get_sim_time

from cosim.hal import SimScheduler, SimInterruptSource
from cosim.hda import fmt_value
from cosim.regwindow import UNANSWERED_ACCESS_NS
from cosim.soc_env import SocEnv
from cosim.system import AudioSystem
from portdrv.interrupt_sync import InterruptSync, InterruptSyncMode
from portdrv.power import DevicePowerState
from portdrv.service_group import ServiceGroup
from portdrv.status import NTSTATUS
from rtl.regmap import REGMAP

ENTRY_BYTES = 256       # 64 frames of 16-bit stereo per IOC


class Recorder:
    """A service-group member that records when its DPC ran and what LPIB said then."""

    def __init__(self, env, sched):
        self.env, self.sched, self.calls = env, sched, []

    async def service(self):
        self.calls.append((self.sched.now_100ns(), await self.env.regs.read("SD1LPIB")))


async def setup_render(env):
    pages = env.alloc.alloc_pages(3)
    for p in pages:
        env.mem.write(p, env.rng.randbytes(ENTRY_BYTES))
    buf = env.hda.build_buffer([(p, ENTRY_BYTES, True) for p in pages])
    fmt = fmt_value(2, 16)
    await env.hda.route_dac(0x02, 1, fmt)
    await env.hda.setup_stream(1, buf, fmt, tag=1)
    await env.hda.enable_interrupts(1)


@cocotb.test()
async def isr_dpc_split(dut):
    """An ISR registered with InterruptSync acknowledges each IOC at interrupt time and requests
    service; the ServiceGroup runs the DPC afterwards, after the injected DPC latency, once per
    interrupt; the 100-ns timebase follows simulated time."""
    env = SocEnv(dut)
    await env.start()
    sched = SimScheduler()
    t0 = sched.now_100ns()
    await sched.sleep_100ns(50)
    assert sched.now_100ns() == t0 + 50
    group = ServiceGroup(sched, dpc_latency_100ns=2000)       # 200 us
    sink = Recorder(env, sched)
    assert group.add_member(sink) == NTSTATUS.SUCCESS
    isr_times = []

    async def isr(sync, context):
        intsts = REGMAP["INTSTS"].decode(await env.regs.read("INTSTS"))
        if not intsts["SIS1"]:
            return NTSTATUS.UNSUCCESSFUL                     # not ours
        await env.hda.clear_status(1, BCIS=1)
        isr_times.append(sched.now_100ns())
        context.request_service()
        return NTSTATUS.SUCCESS

    sync = InterruptSync(sched, InterruptSyncMode.NORMAL)
    assert sync.register_service_routine(isr, group) == NTSTATUS.SUCCESS
    source = SimInterruptSource(env.irq)
    assert sync.connect(source) == NTSTATUS.SUCCESS
    assert sync.connect(source) == NTSTATUS.UNSUCCESSFUL      # already connected

    await setup_render(env)
    await env.hda.start(1)
    await env.frames(4 * ENTRY_BYTES // 4 + 100)
    await env.hda.stop(1)
    assert len(isr_times) >= 4, isr_times
    assert len(sink.calls) == len(isr_times), (sink.calls, isr_times)
    for isr_t, (dpc_t, _) in zip(isr_times, sink.calls):
        assert dpc_t >= isr_t + 2000, (isr_t, dpc_t)
    assert sync.disconnect() == NTSTATUS.SUCCESS
    assert sync.disconnect() == NTSTATUS.INVALID_DEVICE_REQUEST


@cocotb.test()
async def synchronized_routine_excludes_isr(dut):
    """A routine run with CallSynchronizedRoutine holds off the ISR: an interrupt raised while it
    runs is serviced only after it returns."""
    env = SocEnv(dut)
    await env.start()
    sched = SimScheduler()
    log = []

    async def isr(sync, context):
        log.append(("isr", sched.now_100ns()))
        await env.hda.clear_status(1, BCIS=1)
        return NTSTATUS.SUCCESS

    async def routine(sync, context):
        log.append(("sync-start", sched.now_100ns()))
        await env.frames(ENTRY_BYTES // 4 + 40)              # the first IOC fires in here
        assert env.irq.is_asserted()
        log.append(("sync-end", sched.now_100ns()))
        return NTSTATUS.SUCCESS

    sync = InterruptSync(sched)
    sync.register_service_routine(isr)
    sync.connect(SimInterruptSource(env.irq))
    await setup_render(env)
    await env.hda.start(1)
    assert await sync.call_synchronized_routine(routine) == NTSTATUS.SUCCESS
    await env.frames(10)
    await env.hda.stop(1)
    kinds = [k for k, _ in log]
    assert kinds[:3] == ["sync-start", "sync-end", "isr"], log
    assert log[2][1] >= log[1][1]


@cocotb.test()
async def isr_while_powered_off(dut):
    """An interrupt serviced after the device lost power (D3 holds it in reset, where its
    register port never answers): the register window does not hang, reads answer all ones
    after the bus's time-out, and the miniports' ISR declines the interrupt as not its own."""
    system = AudioSystem(dut)
    await system.start()
    bus = system.regs.bus
    await system.resources.power.set_device_state(DevicePowerState.D3)
    t0 = get_sim_time("ns")
    assert await system.adapter.controller.isr() == NTSTATUS.UNSUCCESSFUL
    assert get_sim_time("ns") - t0 == UNANSWERED_ACCESS_NS
    assert (bus.reads_while_off, bus.writes_while_off) == (1, 0)
    await system.regs.write("INTCTL", 0)                     # lost, and counted
    assert bus.writes_while_off == 1
    await system.resources.power.set_device_state(DevicePowerState.D0)
    assert await system.regs.read("INTCTL") == 0             # out of reset, answering again
    assert bus.reads_while_off == 1
