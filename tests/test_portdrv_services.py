"""portdrv's shared services on plain asyncio: the HAL's virtual-time scheduler, interrupt sync
objects (modes, ordering, connection statuses, serialisation, ISR latency) and service groups
(DPC coalescing, re-queue during a DPC, membership, DPC latency)."""

import asyncio

import pytest

from portdrv.hal import SimpleScheduler, SoftInterruptLine
from portdrv.interrupt_sync import InterruptSync, InterruptSyncMode
from portdrv.service_group import ServiceGroup
from portdrv.status import NTSTATUS

SUCCESS = NTSTATUS.SUCCESS
NOT_MINE = NTSTATUS.UNSUCCESSFUL


def run(body):
    """Run ``body(sched)`` under asyncio with a fresh virtual-time scheduler."""
    async def main():
        sched = SimpleScheduler()
        return await sched.run(body(sched))
    return asyncio.run(main())


def recording_isr(log, name, answer=SUCCESS):
    def isr(sync, context):
        log.append((name, context))
        return answer
    return isr


def counting_isr(log, name, claims):
    """Claims the interrupt ``claims`` times, then answers "not mine"."""
    left = [claims]

    def isr(sync, context):
        log.append(name)
        if left[0] > 0:
            left[0] -= 1
            return SUCCESS
        return NOT_MINE
    return isr


def connected_sync(sched, mode):
    line = SoftInterruptLine()
    sync = InterruptSync(sched, mode)
    assert sync.connect(line) == SUCCESS
    return sync, line


# ---------------------------------------------------------------- scheduler


def test_scheduler_virtual_time_and_events():
    async def body(sched):
        log = []
        ev = sched.new_event()

        async def sleeper(n):
            await sched.sleep_100ns(n)
            log.append((sched.now_100ns(), n))

        async def waiter():
            await ev.wait()
            log.append((sched.now_100ns(), "event"))

        sched.spawn(sleeper(30))
        sched.spawn(sleeper(10))
        sched.spawn(waiter())
        await sched.sleep_100ns(20)
        ev.set()
        await sched.sleep_100ns(20)
        assert ev.is_set()
        ev.clear()
        assert not ev.is_set()
        return log

    assert run(body) == [(10, 10), (20, "event"), (30, 30)]


def test_scheduler_reraises_task_errors_and_detects_deadlock():
    async def boom():
        raise RuntimeError("isr bug")

    async def body(sched):
        sched.spawn(boom())
        await sched.sleep_100ns(1)

    with pytest.raises(RuntimeError, match="isr bug"):
        run(body)

    async def stuck(sched):
        await sched.new_event().wait()

    with pytest.raises(RuntimeError, match="deadlock"):
        run(stuck)


# ---------------------------------------------------------------- interrupt sync modes


def test_normal_mode_stops_at_first_claim():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)
        sync.register_service_routine(recording_isr(log, "a", NOT_MINE), "ca")
        sync.register_service_routine(recording_isr(log, "b", SUCCESS), "cb")
        sync.register_service_routine(recording_isr(log, "c", SUCCESS), "cc")
        line.assert_line()
        await sched.sleep_100ns(0)
        return log, sync

    log, sync = run(body)
    assert log == [("a", "ca"), ("b", "cb")]
    assert sync.interrupts == 1 and sync.spurious_interrupts == 0


def test_all_mode_calls_every_isr():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.ALL)
        for name, answer in [("a", SUCCESS), ("b", NOT_MINE), ("c", SUCCESS)]:
            sync.register_service_routine(recording_isr(log, name, answer), name)
        line.assert_line()
        await sched.sleep_100ns(0)
        return log

    assert [name for name, _ in run(body)] == ["a", "b", "c"]


def test_repeat_mode_loops_until_a_pass_claims_nothing():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.REPEAT)
        sync.register_service_routine(counting_isr(log, "x", claims=3))
        sync.register_service_routine(counting_isr(log, "y", claims=1))
        line.assert_line()
        await sched.sleep_100ns(0)
        return log

    # passes 1..3 have a claim (x claims 3 times); pass 4 claims nothing and ends the dispatch
    assert run(body) == ["x", "y"] * 4


def test_unclaimed_interrupt_is_counted_spurious():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)
        sync.register_service_routine(recording_isr(log, "a", NOT_MINE))
        line.assert_line()
        await sched.sleep_100ns(0)
        return sync

    sync = run(body)
    assert sync.interrupts == 1 and sync.spurious_interrupts == 1


def test_first_puts_routine_at_head():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.ALL)
        sync.register_service_routine(recording_isr(log, "tail1", NOT_MINE))
        sync.register_service_routine(recording_isr(log, "head", NOT_MINE), first=True)
        sync.register_service_routine(recording_isr(log, "tail2", NOT_MINE))
        sync.register_service_routine(recording_isr(log, "newhead", NOT_MINE), first=True)
        line.assert_line()
        await sched.sleep_100ns(0)
        return log

    assert [name for name, _ in run(body)] == ["newhead", "head", "tail1", "tail2"]


def test_async_isr_is_awaited():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)

        async def isr(s, ctx):
            await sched.sleep_100ns(5)  # e.g. a status-register read over the bus
            log.append(sched.now_100ns())
            return SUCCESS

        sync.register_service_routine(isr)
        line.assert_line()
        await sched.sleep_100ns(10)
        return log

    assert run(body) == [5]


def test_bad_mode_and_non_callable_isr():
    with pytest.raises(ValueError):
        InterruptSync(SimpleScheduler(), 7)
    sync = InterruptSync(SimpleScheduler())
    assert sync.register_service_routine("not a function") == NTSTATUS.INVALID_PARAMETER


# ---------------------------------------------------------------- connection


def test_connect_disconnect_statuses():
    async def body(sched):
        log = []
        line, other = SoftInterruptLine(), SoftInterruptLine()
        sync = InterruptSync(sched)
        sync.register_service_routine(recording_isr(log, "a"))
        assert sync.disconnect() == NTSTATUS.INVALID_DEVICE_REQUEST
        assert sync.connect(line) == SUCCESS and sync.connected and line.connected
        assert sync.connect(other) == NTSTATUS.UNSUCCESSFUL
        assert not other.connected  # the refused connect left the other line alone
        line.assert_line()
        await sched.sleep_100ns(0)
        assert len(log) == 1
        assert sync.disconnect() == SUCCESS and not sync.connected and not line.connected
        assert sync.disconnect() == NTSTATUS.INVALID_DEVICE_REQUEST
        line.assert_line()
        await sched.sleep_100ns(0)
        assert len(log) == 1  # no ISR after disconnect
        assert sync.connect(other) == SUCCESS
        return log

    run(body)


def test_disconnect_drops_a_latched_dispatch():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)
        sync.isr_latency_100ns = 100
        sync.register_service_routine(recording_isr(log, "a"))
        line.assert_line()
        await sched.sleep_100ns(50)
        sync.disconnect()
        await sched.sleep_100ns(100)
        return log, sync

    log, sync = run(body)
    assert log == [] and sync.interrupts == 0


# ---------------------------------------------------------------- serialisation


def test_interrupt_during_synchronized_routine_waits_for_it():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)

        def isr(s, ctx):
            log.append(("isr", sched.now_100ns()))
            return SUCCESS

        async def routine(s, ctx):
            log.append(("routine start", sched.now_100ns()))
            line.assert_line()  # the device interrupts mid-routine
            await sched.sleep_100ns(40)  # e.g. register writes over the bus
            log.append(("routine end", sched.now_100ns()))
            return NTSTATUS.DEVICE_NOT_READY

        sync.register_service_routine(isr)
        status = await sync.call_synchronized_routine(routine, "ctx")
        await sched.sleep_100ns(0)
        return log, status

    log, status = run(body)
    assert status == NTSTATUS.DEVICE_NOT_READY  # the routine's own status comes back
    assert log == [("routine start", 0), ("routine end", 40), ("isr", 40)]


def test_synchronized_routine_waits_for_running_isr():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)

        async def isr(s, ctx):
            log.append("isr start")
            await sched.sleep_100ns(30)
            log.append("isr end")
            return SUCCESS

        def routine(s, ctx):
            log.append(("routine", sched.now_100ns(), ctx))
            return SUCCESS

        sync.register_service_routine(isr)
        line.assert_line()
        await sched.sleep_100ns(10)  # the ISR is running now
        assert await sync.call_synchronized_routine(routine, 7) == SUCCESS
        return log

    assert run(body) == ["isr start", "isr end", ("routine", 30, 7)]


def test_synchronized_routine_without_connection():
    async def body(sched):
        sync = InterruptSync(sched)
        return await sync.call_synchronized_routine(lambda s, c: c, NTSTATUS.NOT_FOUND)

    assert run(body) == NTSTATUS.NOT_FOUND


def test_assertions_before_dispatch_merge_and_during_dispatch_requeue():
    async def body(sched):
        log = []
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)
        sync.isr_latency_100ns = 10

        async def isr(s, ctx):
            log.append(sched.now_100ns())
            if len(log) == 1:
                line.assert_line()  # asserts again while this dispatch runs
            await sched.sleep_100ns(5)
            return SUCCESS

        sync.register_service_routine(isr)
        line.assert_line()
        line.assert_line()  # latched, merges with the first
        await sched.sleep_100ns(100)
        return log

    # first dispatch at 10 (runs until 15); the mid-ISR assertion at 10 dispatches at 20
    assert run(body) == [10, 20]


# ---------------------------------------------------------------- ISR latency


def test_isr_latency_delays_dispatch_and_is_settable_at_run_time():
    async def body(sched):
        times = []
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)

        def isr(s, ctx):
            times.append(sched.now_100ns())
            return SUCCESS

        sync.register_service_routine(isr)
        sync.isr_latency_100ns = 250
        line.assert_line()  # at 0
        await sched.sleep_100ns(1000)
        sync.isr_latency_100ns = 0
        line.assert_line()  # at 1000
        await sched.sleep_100ns(1000)
        return times

    assert run(body) == [250, 1000]
    with pytest.raises(ValueError):
        InterruptSync(SimpleScheduler(), isr_latency_100ns=-1)


# ---------------------------------------------------------------- service groups


class Sink:
    def __init__(self, sched, name, log, work_100ns=0, on_service=None):
        self.sched, self.name, self.log = sched, name, log
        self.work, self.on_service = work_100ns, on_service
        self.calls = 0

    async def service(self):
        self.calls += 1
        self.log.append((self.name, self.sched.now_100ns()))
        if self.on_service:
            self.on_service()
        if self.work:
            await self.sched.sleep_100ns(self.work)


def test_requests_coalesce_into_one_dpc():
    async def body(sched):
        log = []
        group = ServiceGroup(sched)
        sinks = [Sink(sched, n, log) for n in "abc"]
        for s in sinks:
            assert group.add_member(s) == SUCCESS
        group.request_service()
        group.request_service()
        group.request_service()
        assert group.dpc_queued
        await sched.sleep_100ns(10)
        return group, sinks, log

    group, sinks, log = run(body)
    assert group.dpc_count == 1
    assert [s.calls for s in sinks] == [1, 1, 1]
    assert [name for name, _ in log] == ["a", "b", "c"]


def test_request_during_dpc_queues_exactly_one_more():
    async def body(sched):
        log = []
        group = ServiceGroup(sched)
        requests = 3

        def again():
            nonlocal requests
            while requests:  # several requests while the DPC runs
                requests -= 1
                group.request_service()

        sink = Sink(sched, "a", log, work_100ns=5, on_service=again)
        group.add_member(sink)
        group.request_service()
        await sched.sleep_100ns(100)
        return group, log

    group, log = run(body)
    assert group.dpc_count == 2
    assert log == [("a", 0), ("a", 5)]  # the second DPC runs after the first finishes


def test_plain_sink_and_removal_during_dpc():
    async def body(sched):
        log = []
        group = ServiceGroup(sched)

        class PlainSink:
            calls = 0

            def service(self):
                self.calls += 1

        plain = PlainSink()
        c = Sink(sched, "c", log)
        a = Sink(sched, "a", log, on_service=lambda: group.remove_member(c))
        for s in (a, plain, c):
            group.add_member(s)
        group.add_member(a)  # a duplicate keeps one entry
        assert group.add_member(object()) == NTSTATUS.INVALID_PARAMETER
        assert group.members == (a, plain, c)
        group.request_service()
        await sched.sleep_100ns(1)
        group.remove_member(plain)
        group.remove_member(plain)  # not a member: nothing happens
        group.request_service()
        await sched.sleep_100ns(1)
        return log, plain

    log, plain = run(body)
    assert plain.calls == 1
    assert [name for name, _ in log] == ["a", "a"]  # c removed before its turn


def test_dpc_latency_and_nested_group():
    async def body(sched):
        log = []
        outer = ServiceGroup(sched, dpc_latency_100ns=300)
        inner = ServiceGroup(sched, dpc_latency_100ns=20)
        inner.add_member(Sink(sched, "inner", log))
        outer.add_member(Sink(sched, "outer", log))
        outer.add_member(inner)
        outer.request_service()  # at 0
        await sched.sleep_100ns(200)
        outer.request_service()  # at 200, still queued: coalesces
        await sched.sleep_100ns(800)
        outer.dpc_latency_100ns = 50
        outer.request_service()  # at 1000
        await sched.sleep_100ns(500)
        return log, outer

    log, outer = run(body)
    assert outer.dpc_count == 2
    assert log == [("outer", 300), ("inner", 320), ("outer", 1050), ("inner", 1070)]
    with pytest.raises(ValueError):
        outer.dpc_latency_100ns = -5


def test_isr_requests_service_from_dpc():
    """The usual split: the ISR claims and requests service; the DPC runs the port's work."""
    async def body(sched):
        log = []
        group = ServiceGroup(sched, dpc_latency_100ns=7)
        group.add_member(Sink(sched, "port", log))
        sync, line = connected_sync(sched, InterruptSyncMode.NORMAL)
        sync.isr_latency_100ns = 3

        def isr(s, ctx):
            ctx.request_service()
            return SUCCESS

        sync.register_service_routine(isr, group)
        line.assert_line()
        await sched.sleep_100ns(50)
        return log

    assert run(body) == [("port", 10)]
