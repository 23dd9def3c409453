"""Pure-Python tests of the topology and power plumbing: property routing and events through a
filter, graph walks, the miniport's dB <-> step mapping, the power manager's PortCls order, and
BDL rotation for streams that resume after D3."""

import asyncio
from types import SimpleNamespace

import pytest

from miniports.topology import AmpCaps
from miniports.wavestream import rotate_entries
from portdrv.filter import (FILTER_PIN, Communication, DataFlow, FilterDescriptor,
                            NodeConnection, NodeDescriptor, NodeType, PinDescriptor,
                            SubdeviceRegistry)
from portdrv.hal import ResourceList, SimpleScheduler
from portdrv.ksstate import KSSTATE
from portdrv.power import DevicePowerState, PowerManager
from portdrv.properties import (AudioProperty, AutomationTable, EventItem, KsEvent,
                                PropertyItem, PropertyVerb)
from portdrv.status import NTSTATUS
from portdrv.topology import PortTopology, path_from_pin, path_to_pin

GET, SET, BASIC = PropertyVerb.GET, PropertyVerb.SET, PropertyVerb.BASIC_SUPPORT


def run(body):
    async def main():
        sched = SimpleScheduler()
        return await sched.run(body(sched))
    return asyncio.run(main())


class FakeTopologyMiniport:
    """Pin 0 in -> volume (node 0) -> mute (node 1) -> pin 1 out; node 2 a sum fed by both."""

    def __init__(self):
        self.levels = {}
        self.port = None
        change = (EventItem(KsEvent.CONTROL_CHANGE),)
        self.descriptor = FilterDescriptor(
            (PinDescriptor("in", DataFlow.IN, Communication.BRIDGE, (), 0),
             PinDescriptor("out", DataFlow.OUT, Communication.BRIDGE, (), 0, "headphones")),
            (NodeDescriptor(NodeType.VOLUME, "vol", AutomationTable((
                PropertyItem(AudioProperty.VOLUMELEVEL, GET | SET, self.volume),), change)),
             NodeDescriptor(NodeType.MUTE, "mute"),
             NodeDescriptor(NodeType.SUM, "sum")),
            (NodeConnection(FILTER_PIN, 0, 0, 0), NodeConnection(0, 0, 1, 0),
             NodeConnection(1, 0, 2, 0), NodeConnection(FILTER_PIN, 0, 2, 1),
             NodeConnection(2, 0, FILTER_PIN, 1)))

    async def init(self, port, resources):
        self.port = port
        return NTSTATUS.SUCCESS

    def get_description(self):
        return self.descriptor

    async def volume(self, request):
        if request.verb == SET:
            self.levels[request.channel] = request.value
            self.port.generate_event_list(KsEvent.CONTROL_CHANGE, node=request.node)
            return NTSTATUS.SUCCESS, request.value
        return NTSTATUS.SUCCESS, self.levels.get(request.channel, 0)


def topology_filter(sched):
    resources = ResourceList(None, None, None, sched)
    port = PortTopology()

    async def setup():
        assert await port.init(FakeTopologyMiniport(), resources) == NTSTATUS.SUCCESS
        registry = SubdeviceRegistry()
        assert registry.register_subdevice("topology", port) == NTSTATUS.SUCCESS
        return registry.filter("topology")
    return setup()


def test_property_routing_and_statuses():
    async def body(sched):
        flt = await topology_filter(sched)
        vol = AudioProperty.VOLUMELEVEL
        assert await flt.property(vol, SET, node=0, channel=1, value=-5) == \
            (NTSTATUS.SUCCESS, -5)
        assert await flt.property(vol, node=0, channel=1) == (NTSTATUS.SUCCESS, -5)
        # the verbs the item lists, when the handler does not answer BASIC_SUPPORT itself
        assert await flt.property(vol, BASIC, node=0) == (NTSTATUS.SUCCESS, GET | SET)
        assert (await flt.property(AudioProperty.MUTE, node=0))[0] == NTSTATUS.NOT_FOUND
        assert (await flt.property(vol, node=1))[0] == NTSTATUS.NOT_FOUND
        for target in ({"node": 7}, {"pin": 9}, {}, {"node": 0, "pin": 0}):
            assert (await flt.property(vol, **target))[0] == NTSTATUS.INVALID_PARAMETER
        status, _ = await flt.create_pin(1, None)
        assert status == NTSTATUS.INVALID_PARAMETER
    run(body)


def test_events_reach_only_matching_clients():
    async def body(sched):
        flt = await topology_filter(sched)
        status, entry = flt.enable_event(KsEvent.CONTROL_CHANGE, node=0)
        assert status == NTSTATUS.SUCCESS and not entry.event.is_set()
        assert flt.enable_event(KsEvent.CONTROL_CHANGE, node=1)[0] == NTSTATUS.NOT_FOUND
        assert flt.enable_event(KsEvent.JACK_INFO_CHANGE, pin=1)[0] == NTSTATUS.NOT_FOUND
        await flt.property(AudioProperty.VOLUMELEVEL, SET, node=0, value=3)
        assert entry.count == 1 and entry.event.is_set()
        assert flt.port.generate_event_list(KsEvent.CONTROL_CHANGE, node=2) == 0
        assert flt.port.generate_event_list(KsEvent.JACK_INFO_CHANGE) == 0
        assert flt.disable_event(entry) == NTSTATUS.SUCCESS
        assert flt.disable_event(entry) == NTSTATUS.NOT_FOUND
        await flt.property(AudioProperty.VOLUMELEVEL, SET, node=0, value=4)
        assert entry.count == 1
    run(body)


def test_graph_walks():
    d = FakeTopologyMiniport().descriptor
    assert path_to_pin(d, 1) == [2, 1, 0]
    assert path_from_pin(d, 0) == [0, 2, 1]
    assert path_to_pin(d, 0) == [] and path_from_pin(d, 1) == []


def test_amp_steps_round_to_nearest_and_clamp():
    caps = AmpCaps.decode(0x80027F5F)           # our codec: 0.75 dB steps, 0 dB at 0x5F
    assert (caps.offset, caps.num_steps, caps.step_quarter_db, caps.mute) == (0x5F, 0x7F, 3, True)
    u = caps.step_units
    assert u == 49152 and caps.range.minimum == -0x5F * u and caps.range.maximum == 32 * u
    assert caps.index(0) == 0x5F and caps.level(0x5F) == 0
    assert caps.index(u // 2) == 0x5F                  # a half step up: toward lower gain
    assert caps.index(u // 2 + 1) == 0x60
    assert caps.index(-u // 2) == 0x5E                 # a half step down: the lower one
    assert caps.index(-u // 2 + 1) == 0x5F
    assert caps.index(-6 * 65536) == 0x5F - 8
    assert caps.index(10**9) == 0x7F and caps.index(-10**9) == 0
    for index in range(128):
        assert caps.index(caps.level(index)) == index


class Recorder:
    """A fake adapter, miniports and pins that log the order of power calls."""

    def __init__(self, veto=NTSTATUS.SUCCESS):
        self.log, self.veto = [], veto

    async def query_power_change_state(self, state):
        self.log.append(("query", state))
        return self.veto

    async def power_change_state(self, state):
        self.log.append(("adapter", state))


class FakePin:
    def __init__(self, log, name, state):
        self.log, self.name, self.state, self.closed = log, name, state, False
        self.stream = FakeMiniport(log, f"{name} stream")

    async def set_state(self, state):
        self.log.append((self.name, state))
        self.state = state
        return NTSTATUS.SUCCESS

    async def resync_after_restart(self):
        self.log.append((self.name, "resync"))


class FakeMiniport:
    def __init__(self, log, name):
        self.log, self.name = log, name

    async def power_change_notify(self, state):
        self.log.append((self.name, state))


def power_setup(veto=NTSTATUS.SUCCESS):
    adapter = Recorder(veto)
    log = adapter.log
    running = FakePin(log, "running", KSSTATE.RUN)
    paused = FakePin(log, "paused", KSSTATE.PAUSE)
    registry = SimpleNamespace(filters={
        "wave": SimpleNamespace(port=SimpleNamespace(miniport=FakeMiniport(log, "wave")),
                                open_pins=[running, paused]),
        "topology": SimpleNamespace(port=SimpleNamespace(miniport=object()), open_pins=[])})
    return PowerManager(adapter, registry), log, running


def test_power_down_and_up_in_portcls_order():
    """IPowerNotify ("Implementing IPowerNotify"): running streams paused, then every miniport
    and stream object with IPowerNotify told (streams before their miniport going down, the
    miniport before its streams coming up; was: miniports only), then PowerChangeState;
    coming up PowerChangeState first, the notifications, then the streams run again."""
    async def body(sched):
        pm, log, running = power_setup()
        D0, D3 = DevicePowerState.D0, DevicePowerState.D3
        assert await pm.set_power_state(D3) == NTSTATUS.SUCCESS
        assert log == [("query", D3), ("running", KSSTATE.PAUSE), ("paused stream", D3),
                       ("running stream", D3), ("wave", D3), ("adapter", D3)]
        log.clear()
        assert await pm.set_power_state(D0) == NTSTATUS.SUCCESS
        assert log == [("query", D0), ("adapter", D0), ("wave", D0), ("running stream", D0),
                       ("paused stream", D0), ("running", "resync"), ("paused", "resync"),
                       ("running", KSSTATE.RUN)]
        assert pm.state == D0 and running.state == KSSTATE.RUN
        log.clear()
        assert await pm.set_power_state(D0) == NTSTATUS.SUCCESS and log == []
        assert await pm.set_power_state(9) == NTSTATUS.INVALID_PARAMETER
    run(body)


def test_power_veto_changes_nothing():
    async def body(sched):
        pm, log, running = power_setup(veto=NTSTATUS.DEVICE_NOT_READY)
        assert await pm.set_power_state(DevicePowerState.D3) == NTSTATUS.DEVICE_NOT_READY
        assert log == [("query", DevicePowerState.D3)]
        assert pm.state == DevicePowerState.D0 and running.state == KSSTATE.RUN
    run(body)


@pytest.mark.parametrize("offset", [0, 100, 4096, 5000, 12287])
def test_rotated_bdl_covers_the_buffer_from_the_offset(offset):
    entries = [(0x10000, 4096, False), (0x30000, 2048, True), (0x20000, 6144, True)]
    rotated = rotate_entries(entries, offset)
    total = sum(e[1] for e in entries)
    assert sum(e[1] for e in rotated) == total

    def byte_address(entries_, position):
        for address, length, _ in entries_:
            if position < length:
                return address + position
            position -= length
    for p in range(0, total, 97):
        assert byte_address(rotated, p) == byte_address(entries, (p + offset) % total)
    # IOC stays at the same buffer offsets (the end of entries 1 and 2)
    ends, pos = set(), offset
    for _, length, ioc in rotated:
        pos += length
        if ioc:
            ends.add(pos % total)
    assert ends == {6144, 0}
