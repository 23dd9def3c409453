"""The port/miniport contract as the WDK reference pages give it, one test per documented
behaviour, each naming its page. The miniports are the virtual ones written from the docs
(:mod:`virtual_miniports`: SetFormat not supported, no service groups, buffers rounded up),
small fakes, and our own stream classes where a behaviour needs no hardware."""

import asyncio
from types import SimpleNamespace

import pytest

from miniports.wavecyclic import MiniportWaveCyclicStream
from miniports.wavepci import MiniportWavePciStream
from miniports.wavert import MAX_BUFFER_BYTES, MiniportWaveRTStream
from miniports.wavestream import DATA_RANGES as HDA_RANGES, HdaWaveMiniport, \
    wave_filter_descriptor
from portdrv.dma_channel import new_master_dma_channel
from portdrv.filter import (Communication, DataFlow, Filter, FilterDescriptor, NodeDescriptor,
                            NodeType, PinDescriptor, SubdeviceRegistry)
from portdrv.formats import AudioDataRange, WaveFormat
from portdrv.hal import SimpleScheduler, SoftPhysicalMemory
from portdrv.ksstate import KSSTATE
from portdrv.midi import MidiClient, PortMidi
from portdrv.properties import AutomationTable, EventItem, EventList, EventVerb, KsEvent
from portdrv.status import NTSTATUS
from portdrv.wavert import PortWaveRTStream

from test_portdrv_midi import PIN_IN, FakeMidiMiniport, midi_setup
from test_portdrv_wavepci import make_pin
from virtual_miniports import PAGE, PIN_CAPTURE, PIN_RENDER, make_virtual_system

SUCCESS = NTSTATUS.SUCCESS
FMT = WaveFormat.pcm(2, 48000, 16)
MS = 10_000
KINDS = ["wavert", "wavecyclic", "wavepci"]
WAVERT_OPTIONS = {"buffer_bytes": 3840}


def run(body):
    async def main():
        sched = SimpleScheduler()
        return await sched.run(body(sched))
    return asyncio.run(main())


def options(kind):
    return WAVERT_OPTIONS if kind == "wavert" else {}


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("kind", KINDS)
def test_initial_format_goes_to_new_stream_and_set_format_is_not_called(kind):
    """IMiniportWaveRT::NewStream / IMiniportWaveCyclic::NewStream / IMiniportWavePci::
    NewStream: the stream's initial format is NewStream's DataFormat; SetFormat
    (IMiniportWaveRTStream::SetFormat etc.) is for a later change only. A miniport whose
    SetFormat answers STATUS_NOT_SUPPORTED (SysVAD) opens and streams."""
    async def body(sched):
        system = await make_virtual_system(sched, kind)
        cs = await system.client.open("wave", PIN_RENDER, FMT, **options(kind))
        stream = cs.pin.stream
        assert stream.fmt == FMT and stream.format_calls == [] and cs.format == FMT
        pcm = bytes(range(256)) * 40
        cs.write(pcm)
        cs.end_of_stream()
        await cs.set_state(KSSTATE.RUN)
        await cs.wait_drained()
        assert pcm in bytes(stream.dac)
        await cs.close()
    run(body)


@pytest.mark.parametrize("kind", KINDS)
def test_connection_dataformat_calls_set_format_on_a_stopped_pin_only(kind):
    """KSPROPERTY_CONNECTION_DATAFORMAT: a format change on a stopped pin goes to the stream's
    SetFormat and its status comes back (here NOT_SUPPORTED: the pin keeps its format); a
    running pin refuses (INVALID_DEVICE_STATE), a format outside the pin's data ranges is
    NO_MATCH without asking the miniport."""
    async def body(sched):
        system = await make_virtual_system(sched, kind)
        cs = await system.client.open("wave", PIN_RENDER, FMT, **options(kind))
        pin, stream = cs.pin, cs.pin.stream
        mono = WaveFormat.pcm(1, 48000, 16)
        assert await pin.set_data_format(mono) == NTSTATUS.NOT_SUPPORTED
        assert stream.format_calls == [mono] and pin.format == FMT
        assert await pin.set_data_format(WaveFormat.pcm(2, 96000, 16)) == NTSTATUS.NO_MATCH
        await cs.set_state(KSSTATE.RUN)
        assert await pin.set_data_format(mono) == NTSTATUS.INVALID_DEVICE_STATE
        assert stream.format_calls == [mono]
        await cs.close()
    run(body)


def test_default_intersection_answers_waveformatex_never_extensible():
    """Data-Intersection Handlers (the port's default handler): a 24-bit request gets a plain
    WAVEFORMATEX with 24-bit samples in 24-bit containers, not WAVEFORMATEXTENSIBLE."""
    flt = Filter("wave", SimpleNamespace(descriptor=FilterDescriptor((PinDescriptor(
        "render", DataFlow.IN, Communication.SINK, (AudioDataRange(2, 16, 24, 8000, 48000),),
        1),)), miniport=None))
    status, fmt, size = flt.data_intersection(0, AudioDataRange(2, 24, 24, 48000, 48000), 200)
    assert status == SUCCESS and not fmt.is_extensible
    assert (fmt.bits_per_sample, size) == (24, 82)


def test_our_intersection_recommends_only_formats_the_controller_runs():
    """Data-Intersection Handlers: our wave miniport's handler answers 24-bit requests with
    24 bits in a 32-bit WAVEFORMATEXTENSIBLE container (what the controller carries; the
    default's 24-in-24 would fail NewStream), 16-bit ones with plain PCM, and a client
    format the controller cannot run (24 in 24) with NO_MATCH."""
    miniport = HdaWaveMiniport(controller=None)
    flt = Filter("wave", SimpleNamespace(descriptor=wave_filter_descriptor(),
                                         miniport=miniport))
    status, fmt, size = flt.data_intersection(0, AudioDataRange(2, 16, 32, 8000, 48000), 200)
    assert status == SUCCESS and size == 104
    assert fmt == WaveFormat.pcm(2, 48000, 24, 32) and fmt.is_extensible
    status, fmt, _ = flt.data_intersection(1, AudioDataRange(1, 16, 16, 8000, 32000), 200)
    assert status == SUCCESS and fmt == WaveFormat.pcm(1, 32000, 16)
    assert flt.data_intersection(0, AudioDataRange(2, 16, 32, 8000, 48000), 0) == \
        (NTSTATUS.BUFFER_OVERFLOW, None, 104)
    assert flt.data_intersection(0, WaveFormat.pcm(2, 48000, 24, extensible=False),
                                 200).status == NTSTATUS.NO_MATCH
    assert all(r.max_bits_per_sample in (16, 24) for r in HDA_RANGES)


def test_our_set_format_answers_invalid_parameter_only():
    """IMiniportWaveRTStream::SetFormat documents one failure status, INVALID_PARAMETER (a
    format not valid or not supported, or a change while the stream runs); our streams of
    all three kinds share that SetFormat (was: NOT_SUPPORTED and INVALID_DEVICE_STATE)."""
    async def body(sched):
        stream = MiniportWaveRTStream(SimpleNamespace(controller=None), None, False)
        assert await stream.set_format(WaveFormat.pcm(2, 44100, 16)) == \
            NTSTATUS.INVALID_PARAMETER
        stream.state = KSSTATE.RUN
        assert await stream.set_format(FMT) == NTSTATUS.INVALID_PARAMETER
    run(body)


# ---------------------------------------------------------------- service groups


@pytest.mark.parametrize("kind", ["wavecyclic", "wavepci"])
def test_no_service_group_the_port_services_the_stream_on_its_own_timer(kind):
    """IMiniportWaveCyclic::NewStream / IMiniportWavePci::NewStream with no ServiceGroup: the
    port services the stream on its own periodic timer (10 ms) while it is not stopped;
    capture data arrives bit-exact without any interrupt."""
    async def body(sched):
        system = await make_virtual_system(sched, kind)
        cs = await system.client.open("wave", PIN_CAPTURE, FMT)
        assert cs.pin.service_group is None
        await cs.set_state(KSSTATE.RUN)
        got = b""
        while len(got) < 19200:
            got += await cs.read(19200 - len(got))
        assert got == system.miniport.source[:19200]
        if kind == "wavepci":
            assert cs.pin.service_timer.ticks >= 5
        await cs.close()
    run(body)


def test_wavepci_port_joins_the_init_service_group_and_calls_miniport_service():
    """IMiniportWavePci::Init hands back a service group and IMiniportWavePci::Service is
    what the port calls when that group is serviced; a miniport without one (None) is fine."""
    async def body(sched):
        pin, _fake = await make_pin(sched)
        miniport = pin.port.miniport
        assert pin.port in miniport.group.members
        miniport.group.request_service()
        await sched.sleep_100ns(0)
        assert miniport.service_calls == 1 and pin.port.service_count == 1
        system = await make_virtual_system(sched, "wavepci")
        assert system.port.service_group is None and system.miniport.service_calls == 0
    run(body)


def test_midi_without_a_service_group_is_serviced_on_the_port_timer():
    """IMiniportMidi::Init with no ServiceGroup: the port services the running pins itself
    (every 1 ms), so captured bytes are read without any Notify, and the timer stops with the
    pins."""
    class NoGroupMidi(FakeMidiMiniport):
        async def init(self, port, resources):
            await super().init(port, resources)
            return SUCCESS, None

    async def body(sched):
        miniport, port, client = await midi_setup(sched)
        assert port.service_group is not None          # the fake's group, for contrast
        miniport = NoGroupMidi()
        port = PortMidi()
        assert await port.init(miniport, SimpleNamespace(memory=None, scheduler=sched)) \
            == SUCCESS
        registry = SubdeviceRegistry()
        registry.register_subdevice("midi", port)
        inp = await MidiClient(registry).open("midi", PIN_IN)
        await inp.set_state(KSSTATE.RUN)
        miniport.streams[PIN_IN].fifo += b"\x90\x40\x7f"      # no request_service
        items = await inp.read()
        assert b"".join(i.data for i in items) == b"\x90\x40\x7f"
        await inp.set_state(KSSTATE.STOP)
        assert not port._timer.running
    run(body)


# ---------------------------------------------------------------- WaveRT buffers


def test_virtual_wavert_buffer_is_rounded_up_and_freed_with_notification():
    """IMiniportWaveRTStream::AllocateAudioBuffer / KSRTAUDIO_BUFFER_PROPERTY: the buffer is
    at least the requested size (the virtual miniport rounds up to whole pages); a buffer from
    AllocateBufferWithNotification goes back through FreeBufferWithNotification
    (IMiniportWaveRTStreamNotification::FreeBufferWithNotification), one from
    AllocateAudioBuffer through FreeAudioBuffer."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavert")
        cs = await system.client.open("wave", PIN_RENDER, FMT, buffer_bytes=5000)
        assert cs.pin.buffer_size == 2 * PAGE
        stream = cs.pin.stream
        await cs.close()
        assert stream.freed == [("notification", 2 * PAGE)]
        cs = await system.client.open("wave", PIN_RENDER, FMT, buffer_bytes=100,
                                      notifications=0)
        stream = cs.pin.stream
        await cs.close()
        assert stream.freed == [("audio", PAGE)]
    run(body)


def test_our_wavert_buffer_is_at_least_the_request():
    """IMiniportWaveRTStream::AllocateAudioBuffer: our miniport rounds the size up to whole
    frames per notification segment (was: down, and capped at 512 KiB); only a request the
    BDL cannot describe gets the largest buffer it can."""
    async def body(sched):
        memory = SoftPhysicalMemory(4 << 20)
        miniport = SimpleNamespace(controller=SimpleNamespace(memory=memory))
        for requested, count, want in ((9606, 2, 9608), (9601, 1, 9604), (9600, 0, 9600),
                                       (600_000, 2, 600_000), (2 << 20, 2, MAX_BUFFER_BYTES)):
            stream = MiniportWaveRTStream(miniport, PortWaveRTStream(memory), False)
            stream.fmt = FMT
            if count:
                answer = await stream.allocate_buffer_with_notification(count, requested)
            else:
                answer = await stream.allocate_audio_buffer(requested)
            status, mdl, size, _offset, _cache = answer
            assert status == SUCCESS and size == want, (requested, count, size)
            assert mdl.byte_count >= size
            await stream.free_buffer_with_notification(mdl, size)
            assert stream.mdl is None
    run(body)


# ---------------------------------------------------------------- WaveCyclic


def test_set_notification_freq_frame_size_comes_through_the_out_parameter():
    """IMiniportWaveCyclicStream::SetNotificationFreq returns the interval in ms and writes
    the bytes per interval through FrameSize; the port uses FrameSize (here the second
    element of the answer), not the return value (was: bytes returned and read as bytes)."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavecyclic")
        cs = await system.client.open("wave", PIN_RENDER, FMT)
        assert cs.pin.notification_bytes == 1920          # 10 ms of 48 kHz stereo 16-bit
        assert cs.pin.buffer_size % 1920 == 0
        await cs.close()
        memory = SoftPhysicalMemory(1 << 20)
        _status, channel = new_master_dma_channel(memory, 61440)
        channel.allocate_buffer(61440)
        ours = MiniportWaveCyclicStream(SimpleNamespace(controller=SimpleNamespace(
            memory=memory)), False, channel)
        ours.fmt = FMT
        assert await ours.set_notification_freq(10) == (10, 1920)
        assert await ours.set_notification_freq(0) == (0, 0)
        ours.free_bdl()
    run(body)


@pytest.mark.parametrize("kind", ["wavecyclic", "wavepci"])
def test_normalize_physical_position_answers_a_status(kind):
    """IMiniportWaveCyclicStream::NormalizePhysicalPosition / IMiniportWavePciStream::
    NormalizePhysicalPosition return an NTSTATUS with the value in their in/out parameter:
    ``(status, 100-ns units)`` here, from the virtual miniports and ours."""
    async def body(sched):
        system = await make_virtual_system(sched, kind)
        cs = await system.client.open("wave", PIN_RENDER, FMT)
        assert cs.pin.normalize_physical_position(192000) == (SUCCESS, 10_000_000)
        await cs.close()
    run(body)
    ours = (MiniportWaveCyclicStream(SimpleNamespace(controller=None), False, None)
            if kind == "wavecyclic" else
            MiniportWavePciStream(SimpleNamespace(controller=None), None, False))
    ours.fmt = FMT
    assert ours.normalize_physical_position(1920) == (SUCCESS, 100_000)


def test_get_allocator_framing_answers_a_status():
    """IMiniportWavePciStream::GetAllocatorFraming returns an NTSTATUS with the
    KSALLOCATOR_FRAMING in its out-parameter: ``(status, framing)`` from the virtual
    miniport (4 x 10 ms) and ours (8 x 10 ms)."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavepci")
        cs = await system.client.open("wave", PIN_RENDER, FMT)
        status, framing = cs.pin.get_allocator_framing()
        assert status == SUCCESS and (framing.frames, framing.frame_size) == (4, 1920)
        await cs.close()
    run(body)
    ours = MiniportWavePciStream(SimpleNamespace(controller=None), None, False)
    ours.fmt = FMT
    status, framing = ours.get_allocator_framing()
    assert status == SUCCESS and (framing.frames, framing.frame_size) == (8, 1920)


# ---------------------------------------------------------------- WavePci mappings


def test_release_mapping_must_come_in_order():
    """IPortWavePciStream::ReleaseMapping: mappings are released in the order they were
    obtained; an out-of-order release is refused (INVALID_PARAMETER) and changes nothing."""
    async def body(sched):
        pin, _fake = await make_pin(sched, room=0)       # the fake takes no mappings itself
        await pin.set_state(KSSTATE.ACQUIRE)
        _status, packet = pin.write(b"\x01" * (2 * PAGE))
        stream = pin.port_stream
        assert stream.get_mapping("a")[0] == SUCCESS
        assert stream.get_mapping("b")[0] == SUCCESS
        assert stream.release_mapping("b") == NTSTATUS.INVALID_PARAMETER
        assert list(pin._mappings) == ["a", "b"] and not packet.completed
        assert stream.release_mapping("a") == SUCCESS
        assert stream.release_mapping("b") == SUCCESS
        assert packet.status == SUCCESS
        assert stream.release_mapping("b") == NTSTATUS.INVALID_PARAMETER
    run(body)


def test_mapping_available_only_after_a_refused_get_mapping():
    """IMiniportWavePciStream::MappingAvailable: the port calls it when a mapping becomes
    available after GetMapping was refused - not after a cancel that revoked mappings (was:
    after every such cancel)."""
    async def body(sched):
        pin, fake = await make_pin(sched, room=3)
        first = pin.write(b"\x01" * 64)[1]
        pin.write(b"\x02" * 64)
        await pin.set_state(KSSTATE.RUN)                 # takes both, then is refused
        assert len(fake.queue) == 2 and fake.available_calls == 0
        await pin.cancel(first)                          # revokes its mapping
        await sched.sleep_100ns(0)
        assert fake.available_calls == 0
        pin.write(b"\x03" * 64)                          # the refusal is answered now
        await sched.sleep_100ns(0)
        assert fake.available_calls == 1
    run(body)


def test_wavepci_capture_stop_terminates_the_partly_filled_packet():
    """IPortWavePciStream::TerminatePacket / KSSTATE_STOP: RUN -> STOP on a capture pin ends
    the packet the hardware had partly filled where it got to (it completes with its data,
    SUCCESS); packets not started are cancelled (was: the partly filled one cancelled too)."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavepci")
        cs = await system.client.open("wave", PIN_CAPTURE, FMT)
        pin = cs.pin
        # 25 ms each, 1000 bytes before a page boundary: mappings of 1000 and 3800 bytes
        packets = [pin.read_packet(4800, page_offset=PAGE - 1000)[1] for _ in range(3)]
        await cs.set_state(KSSTATE.RUN)
        await sched.sleep_100ns(35 * MS)                 # 10 ms into the second packet
        await cs.set_state(KSSTATE.STOP)
        assert packets[0].status == SUCCESS and packets[0].done == 4800
        # its first mapping was filled and released: the packet ends there
        assert packets[1].status == SUCCESS and packets[1].done == 1000
        assert packets[0].data() + packets[1].data() == \
            system.miniport.source[:4800 + packets[1].done]
        assert packets[2].status == NTSTATUS.CANCELLED
        await cs.close()
    run(body)


# ---------------------------------------------------------------- events


def test_enabling_an_event_consults_the_miniport_handler():
    """PCEVENT_ITEM (and IPortEvents::AddEventToEventList): the port calls the item's handler
    with ADD when a client enables the event and REMOVE when it disables it; a handler's
    failure is the client's answer and nothing is enabled."""
    calls = []

    def handler(request):
        calls.append((request.verb, request.node))
        return NTSTATUS.DEVICE_NOT_READY if request.node == 1 else SUCCESS

    table = AutomationTable((), (EventItem(KsEvent.CONTROL_CHANGE, handler),))
    nodes = (NodeDescriptor(NodeType.VOLUME, "a", table), NodeDescriptor(NodeType.MUTE, "b",
                                                                         table))
    port = SimpleNamespace(descriptor=FilterDescriptor((), nodes), miniport=None,
                           resources=SimpleNamespace(scheduler=SimpleScheduler()))
    port.events = EventList()
    flt = Filter("topo", port)
    status, entry = flt.enable_event(KsEvent.CONTROL_CHANGE, node=0)
    assert status == SUCCESS and port.events.entries == [entry]
    assert flt.enable_event(KsEvent.CONTROL_CHANGE, node=1) == (NTSTATUS.DEVICE_NOT_READY,
                                                                 None)
    assert len(port.events.entries) == 1
    assert flt.disable_event(entry) == SUCCESS
    assert calls == [(EventVerb.ADD, 0), (EventVerb.ADD, 1), (EventVerb.REMOVE, 0)]
    # an item without a handler is accepted as before
    plain = FilterDescriptor((), (NodeDescriptor(NodeType.VOLUME, "c", AutomationTable(
        (), (EventItem(KsEvent.CONTROL_CHANGE),))),))
    port.descriptor = plain
    assert Filter("topo", port).enable_event(KsEvent.CONTROL_CHANGE, node=0)[0] == SUCCESS
