"""KS properties as a client sees them, routed through the filter like the topology ones: the
pin-factory properties (KSPROPSETID_Pin), and on an open pin KSPROPERTY_CONNECTION_DATAFORMAT,
KSPROPERTY_AUDIO_POSITION/LATENCY and KSPROPSETID_RtAudio; the client API uses them. Against
the virtual miniports and the fake WaveRT miniport of test_portdrv_wavert (which has
registers)."""

import asyncio

import pytest

from portdrv.formats import AudioDataRange, WaveFormat
from portdrv.hal import SimpleScheduler
from portdrv.ksstate import KSSTATE
from portdrv.properties import (AudioPosition, AudioProperty, ConnectionProperty, PinInstances,
                                PinProperty, PropertyVerb, RtAudioProperty)
from portdrv.status import NTSTATUS, StatusError
from portdrv.wavert import HwLatency, RegisterMapping, RtAudioBuffer

from test_portdrv_wavert import FIFO, make_system as make_fake_wavert
from virtual_miniports import DATA_RANGES, PAGE, PIN_CAPTURE, PIN_RENDER, make_virtual_system

SUCCESS = NTSTATUS.SUCCESS
FMT = WaveFormat.pcm(2, 48000, 16)
MS = 10_000
GET, SET = PropertyVerb.GET, PropertyVerb.SET


def run(body):
    async def main():
        sched = SimpleScheduler()
        return await sched.run(body(sched))
    return asyncio.run(main())


def test_pin_factory_properties_through_the_filter_and_the_client():
    """KSPROPERTY_PIN_CINSTANCES (possible, current), KSPROPERTY_PIN_DATARANGES,
    KSPROPERTY_PIN_DATAINTERSECTION (the answer's status is the request's) and
    KSPROPERTY_PIN_PHYSICALCONNECTION (NOT_FOUND for a pin wired to nothing), answered by
    the port's filter for a pin factory; SET is not a verb they have."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavecyclic")
        flt, client = system.filter, system.client
        assert await flt.property(PinProperty.CINSTANCES, pin=PIN_RENDER) == \
            (SUCCESS, PinInstances(1, 0))
        cs = await client.open("wave", PIN_RENDER, FMT)
        assert await client.pin_instances("wave", PIN_RENDER) == PinInstances(1, 1)
        assert await client.data_ranges("wave", PIN_CAPTURE) == DATA_RANGES
        chosen = await client.data_intersection("wave", PIN_RENDER,
                                                AudioDataRange(2, 16, 16, 44100, 48000))
        assert chosen == FMT
        status, answer = await flt.property(PinProperty.DATAINTERSECTION, pin=PIN_RENDER,
                                            value=(AudioDataRange(2, 16, 16, 44100, 48000),
                                                   0))
        assert status == NTSTATUS.BUFFER_OVERFLOW and answer.size == 82
        with pytest.raises(StatusError) as err:
            await client.data_intersection("wave", PIN_RENDER, WaveFormat.pcm(2, 96000, 16))
        assert err.value.status == NTSTATUS.NO_MATCH
        assert (await flt.property(PinProperty.PHYSICALCONNECTION, pin=PIN_RENDER))[0] == \
            NTSTATUS.NOT_FOUND
        other = await make_virtual_system(sched, "wavert")
        system.registry.register_subdevice("other", other.port)
        system.registry.register_physical_connection("wave", PIN_CAPTURE, "other", PIN_RENDER)
        link = await client.physical_connection("wave", PIN_CAPTURE)
        assert (link.from_filter, link.from_pin, link.to_filter) == ("wave", PIN_CAPTURE,
                                                                     "other")
        assert await flt.property(PinProperty.CINSTANCES, SET, pin=PIN_RENDER) == \
            (NTSTATUS.INVALID_DEVICE_REQUEST, None)
        assert await flt.property(PinProperty.CINSTANCES, pin=9) == \
            (NTSTATUS.INVALID_PARAMETER, None)
        await cs.close()
    run(body)


def test_pin_instance_properties_are_routed_to_open_pins_only():
    """A pin-instance property goes to a pin open on that filter (INVALID_PARAMETER
    otherwise); a property the pin does not have is NOT_FOUND (KSPROPSETID_RtAudio on a
    WaveCyclic pin)."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavecyclic")
        cs = await system.client.open("wave", PIN_RENDER, FMT)
        flt = system.filter
        assert (await flt.pin_property(cs.pin, RtAudioProperty.HWLATENCY))[0] == \
            NTSTATUS.NOT_FOUND
        await cs.close()
        assert (await flt.pin_property(cs.pin, AudioProperty.POSITION))[0] == \
            NTSTATUS.INVALID_PARAMETER
    run(body)


def test_connection_dataformat_and_audio_position_properties():
    """KSPROPERTY_CONNECTION_DATAFORMAT: GET the pin's format, SET the SetFormat path on a
    stopped pin (the fake takes it; the pin streams the new format). KSPROPERTY_AUDIO_POSITION:
    play and write byte positions, which the client's get_position reads."""
    async def body(sched):
        system = await make_fake_wavert(sched)
        cs = await system.client.open("wave", PIN_RENDER, FMT, buffer_bytes=9600)
        flt = system.filter
        assert await flt.pin_property(cs.pin, ConnectionProperty.DATAFORMAT) == (SUCCESS, FMT)
        mono = WaveFormat.pcm(1, 48000, 16)
        await cs.set_format(mono)
        assert cs.format == mono and cs.pin.stream.fmt == mono
        cs.write(bytes(range(256)) * 30)
        await cs.set_state(KSSTATE.RUN)
        await sched.sleep_100ns(20 * MS)
        status, position = await flt.pin_property(cs.pin, AudioProperty.POSITION)
        assert status == SUCCESS and isinstance(position, AudioPosition)
        assert position.write_offset >= position.play_offset > 0
        play, write = await cs.get_position()
        assert write >= play >= position.play_offset
        with pytest.raises(StatusError) as err:
            await cs.set_format(FMT)
        assert err.value.status == NTSTATUS.INVALID_DEVICE_STATE
        await cs.close()
        virtual = await make_virtual_system(sched, "wavepci")
        vs = await virtual.client.open("wave", PIN_RENDER, FMT)
        with pytest.raises(StatusError) as err:
            await vs.set_format(WaveFormat.pcm(1, 48000, 16))
        assert err.value.status == NTSTATUS.NOT_SUPPORTED
        await vs.close()
    run(body)


def test_rtaudio_buffer_properties_allocate_reallocate_and_notify():
    """KSPROPERTY_RTAUDIO_BUFFER / _BUFFER_WITH_NOTIFICATION allocate the cyclic buffer (a
    pin without one cannot leave STOP); asking again in STOP gives the old one back first;
    not while running. KSPROPERTY_RTAUDIO_REGISTER_NOTIFICATION_EVENT: the client's event is
    set at the notification points (only on a buffer with notification);
    UNREGISTER takes it off."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavert")
        flt = system.filter
        status, pin = await flt.create_pin(PIN_RENDER, FMT)
        assert status == SUCCESS and pin.buffer is None
        assert await pin.set_state(KSSTATE.RUN) == NTSTATUS.INVALID_DEVICE_STATE
        status, buf = await flt.pin_property(pin, RtAudioProperty.BUFFER, value=1000)
        assert status == SUCCESS and isinstance(buf, RtAudioBuffer)
        assert buf.actual_size == PAGE and pin.buffer_size == PAGE
        event = sched.new_event()
        assert await flt.pin_property(pin, RtAudioProperty.REGISTER_NOTIFICATION_EVENT,
                                      value=event) == (NTSTATUS.INVALID_DEVICE_REQUEST, None)
        status, buf = await flt.pin_property(pin, RtAudioProperty.BUFFER_WITH_NOTIFICATION,
                                             value=(3 * PAGE, 2))
        assert status == SUCCESS and buf.actual_size == 3 * PAGE    # 32 ms a half
        stream = pin.stream
        assert stream.freed == [("audio", PAGE)]
        assert await flt.pin_property(pin, RtAudioProperty.REGISTER_NOTIFICATION_EVENT,
                                      value=event) == (SUCCESS, None)
        pin.write(bytes(4 * PAGE * 3))
        assert await pin.set_state(KSSTATE.RUN) == SUCCESS
        assert (await flt.pin_property(pin, RtAudioProperty.BUFFER, value=PAGE))[0] == \
            NTSTATUS.INVALID_DEVICE_STATE
        assert not event.is_set()
        await sched.sleep_100ns(40 * MS)           # past the first half
        assert event.is_set()
        assert await flt.pin_property(pin, RtAudioProperty.UNREGISTER_NOTIFICATION_EVENT,
                                      value=event) == (SUCCESS, None)
        assert (await flt.pin_property(pin, RtAudioProperty.UNREGISTER_NOTIFICATION_EVENT,
                                       value=event))[0] == NTSTATUS.NOT_FOUND
        assert (await flt.pin_property(pin, RtAudioProperty.BUFFER_WITH_NOTIFICATION,
                                       value=(PAGE, 3)))[0] == NTSTATUS.INVALID_PARAMETER
        await pin.close()
        assert stream.freed == [("audio", PAGE), ("notification", 3 * PAGE)]
    run(body)


def test_rtaudio_registers_and_latency_properties():
    """KSPROPERTY_RTAUDIO_POSITIONREGISTER gives a mapping the client reads directly,
    CLOCKREGISTER the miniport's refusal, KSPROPERTY_RTAUDIO_HWLATENCY the miniport's
    KSRTAUDIO_HWLATENCY, KSPROPERTY_AUDIO_LATENCY the FIFO at the byte rate plus the
    chipset and codec delays (100-ns units); the client calls use the same properties."""
    async def body(sched):
        system = await make_fake_wavert(sched)
        cs = await system.client.open("wave", PIN_CAPTURE, FMT, buffer_bytes=9600)
        system.registers.words[0xA4] = 0x1234
        reg = await cs.position_register()
        assert isinstance(reg, RegisterMapping) and await reg.read() == 0x1234
        with pytest.raises(StatusError) as err:
            await cs.clock_register()
        assert err.value.status == NTSTATUS.NOT_IMPLEMENTED
        assert await cs.hw_latency() == HwLatency(FIFO, 0, 1234)
        assert await cs.latency() == FIFO * 10_000_000 // FMT.avg_bytes_per_sec + 1234
        await cs.close()
    run(body)


# ---------------------------------------------------------------- WaveRT packet mode


def test_packet_mode_render_writes_each_packet_once_in_order_bit_exact():
    """IMiniportWaveRTOutputStream::SetWritePacket / GetPacketCount: in packet mode the port
    writes each packet into its slot (number modulo the packets per buffer) once the count
    says the one before it is in progress, calls SetWritePacket in order, flags the end of
    stream with its length, and the audio plays bit for bit;
    KSPROPERTY_RTAUDIO_PACKETCOUNT and _PRESENTATION_POSITION come from the miniport."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavert")
        cs = await system.client.open("wave", PIN_RENDER, FMT, buffer_bytes=2 * PAGE,
                                      packet_mode=True)
        pcm = bytes((i * 7) & 0xFF for i in range(5 * PAGE + 1000))
        cs.write(pcm)
        cs.end_of_stream()
        await cs.set_state(KSSTATE.RUN)
        await sched.sleep_100ns(50 * MS)
        flt, stream = system.filter, cs.pin.stream
        status, count = await flt.pin_property(cs.pin, RtAudioProperty.PACKETCOUNT)
        assert status == SUCCESS and count == 2              # 9600 + FIFO bytes read
        status, presented = await flt.pin_property(cs.pin,
                                                   RtAudioProperty.PRESENTATION_POSITION)
        assert status == SUCCESS and presented.position_in_blocks == 2400   # 50 ms
        await cs.wait_drained()
        assert pcm in bytes(stream.dac) and cs.pin.glitches == 0
        numbers = [n for n, _flags, _eos in stream.written]
        assert numbers == list(range(len(numbers))) and len(numbers) == 6
        assert stream.written[-1][1:] == (0x200, 1000)    # KSSTREAM_HEADER_OPTIONSF_ENDOFSTREAM
        await cs.close()
    run(body)


def test_packet_mode_capture_reads_every_packet_and_refusals():
    """IMiniportWaveRTInputStream::GetReadPacket: in packet mode capture takes each packet
    as it is stored, bit for bit. Packet mode needs a buffer with notification
    (INVALID_DEVICE_REQUEST) and a miniport with the packet interfaces (NOT_SUPPORTED)."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavert")
        cs = await system.client.open("wave", PIN_CAPTURE, FMT, buffer_bytes=2 * PAGE,
                                      packet_mode=True)
        await cs.set_state(KSSTATE.RUN)
        got = b""
        while len(got) < 6 * PAGE:
            got += await cs.read(6 * PAGE - len(got))
        assert got == system.miniport.source[:6 * PAGE] and cs.pin.packets_transferred >= 6
        await cs.close()
        with pytest.raises(StatusError) as err:
            await system.client.open("wave", PIN_RENDER, FMT, notifications=0,
                                     packet_mode=True)
        assert err.value.status == NTSTATUS.INVALID_DEVICE_REQUEST
        assert system.filter.instances[PIN_RENDER] == 0
        cyclic = await make_virtual_system(sched, "wavecyclic")
        with pytest.raises(StatusError) as err:
            await cyclic.client.open("wave", PIN_RENDER, FMT, packet_mode=True)
        assert err.value.status == NTSTATUS.NOT_SUPPORTED
    run(body)


def test_packet_mode_late_packet_is_a_glitch_and_the_port_resynchronises():
    """GetPacketCount after a data-late error (KSPROPERTY_RTAUDIO_PACKETCOUNT remarks): when
    the engine wakes too late, the packets the hardware already fetched are counted as a
    glitch and the port carries on from the packet in progress."""
    async def body(sched):
        system = await make_virtual_system(sched, "wavert")
        cs = await system.client.open("wave", PIN_RENDER, FMT, buffer_bytes=2 * PAGE,
                                      packet_mode=True)
        cs.write(bytes(20 * PAGE))
        stream = cs.pin.stream
        await cs.set_state(KSSTATE.RUN)
        stream.events.clear()                 # the notifications get lost for a while
        await sched.sleep_100ns(60 * MS)
        stream.register_notification_event(cs.pin._wake)
        await sched.sleep_100ns(30 * MS)
        assert cs.pin.glitches >= 1
        numbers = [n for n, _flags, _eos in stream.written]
        assert numbers == sorted(set(numbers))
        await cs.close()
    run(body)
