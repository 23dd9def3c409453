"""Cosim tests of the Topology port/miniport and of power management through the whole stack.

Run through tests/test_topology.py on Icarus and Verilator (Icarus with less audio)."""

import math
import random

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer, with_timeout

from harness.frames import expected_dac_frames
from cosim.soc_env import FRAME_NS
from cosim.stack_audio import play_through_stack, record_through_stack
from harness.frames import frames_to_pcm
from cosim.system import AudioSystem
from miniports.adapter import TOPOLOGY_FILTER, WAVE_FILTER
from miniports.hda import verb
from miniports.topology import PIN_WAVE_CAPTURE, PIN_WAVE_RENDER
from miniports.wavestream import PIN_CAPTURE_BRIDGE, PIN_RENDER, PIN_RENDER_BRIDGE
from portdrv.client import MixerClient
from portdrv.filter import NodeType, PhysicalConnection
from portdrv.formats import WaveFormat
from portdrv.ksstate import KSSTATE
from portdrv.power import DevicePowerState
from portdrv.properties import (AudioProperty, JackProperty, KsEvent, PropertyVerb,
                                VOLUME_UNITS_PER_DB)
from portdrv.status import NTSTATUS
from portdrv.topology import path_from_pin, path_to_pin
from rtl.gain import AMP_0DB, GAIN_STEP_DB, GAIN_TOLERANCE_DB, apply_gain

SHORT = cocotb.SIM_NAME.lower().startswith("icarus") if cocotb.SIM_NAME else False
STEREO16 = WaveFormat.pcm(2, 48000, 16)
DB = VOLUME_UNITS_PER_DB
#: simulated time after which a test fails instead of waiting on
TIMEOUT_MS = 120 if SHORT else 2000


def size(verilator_value, icarus_value):
    return icarus_value if SHORT else verilator_value


class TB(AudioSystem):
    """The machine with the driver stack and a mixer client on the topology filter."""

    def __init__(self, dut, seed=1, **kw):
        super().__init__(dut, seed=seed, **kw)
        self.rng = random.Random(seed)
        self.mixer = None

    async def start(self):
        await super().start()
        self.mixer = MixerClient(self.topology)

    def headphone_node(self, node_type):
        return self.mixer.node_before_pin(node_type, self.mixer.pin_named("headphones"))

    @staticmethod
    def mic_frame(rng):
        r = lambda: rng.randrange(-(1 << 23), 1 << 23)
        return r(), r()

    async def amp(self, nid, output=True, index=0):
        """The codec's amp register (left, right) read with verb 0xB."""
        ctl = self.adapter.controller
        where = (1 << 15) if output else index
        left = await ctl.command(verb(nid, 0xB, where | (1 << 13)))
        right = await ctl.command(verb(nid, 0xB, where))
        return left, right


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def graph_from_the_codec(dut):
    """The KS graph the miniport walked out of the codec: render path, capture path with a
    mux, jack pins, physical connections to the wave filter, property routing errors."""
    tb = TB(dut)
    await tb.start()
    d = tb.topology.descriptor
    hp = tb.mixer.pin_named("headphones")
    types = [d.nodes[n].type for n in path_to_pin(d, hp)]
    # headphone amp, peak meter after the mixer's sum, then one volume+mute per DAC
    assert types[:4] == [NodeType.MUTE, NodeType.VOLUME, NodeType.PEAKMETER, NodeType.SUM], types
    # volume nodes: headphone amp, the mixer's two input amps, DAC A and DAC B
    assert types.count(NodeType.VOLUME) == 5, types
    from_render = [d.nodes[n].type for n in path_from_pin(d, PIN_WAVE_RENDER)]
    assert from_render[:2] == [NodeType.VOLUME, NodeType.VOLUME], from_render
    capture = [d.nodes[n].type for n in path_to_pin(d, PIN_WAVE_CAPTURE)]
    assert capture[0] == NodeType.MUX, capture
    mux = path_to_pin(d, PIN_WAVE_CAPTURE)[0]
    sources = {c.to_pin: c for c in d.connections if c.to_node == mux}
    assert sorted(sources) == [0, 1]
    assert {p.category for p in d.pins} >= {"headphones", "microphone", "line in"}
    assert PhysicalConnection(WAVE_FILTER, PIN_RENDER_BRIDGE, TOPOLOGY_FILTER,
                              PIN_WAVE_RENDER) in tb.registry.connections
    assert PhysicalConnection(TOPOLOGY_FILTER, PIN_WAVE_CAPTURE, WAVE_FILTER,
                              PIN_CAPTURE_BRIDGE) in tb.registry.connections

    vol = tb.headphone_node(NodeType.VOLUME)
    ranges = await tb.mixer.basic_support(AudioProperty.VOLUMELEVEL, node=vol)
    assert len(ranges) == 2
    assert (ranges[0].minimum, ranges[0].maximum, ranges[0].step) == \
        (-95 * 3 * DB // 4, 32 * 3 * DB // 4, 3 * DB // 4)
    flt = tb.topology
    assert (await flt.property(AudioProperty.MUTE, node=vol))[0] == NTSTATUS.NOT_FOUND
    assert (await flt.property(AudioProperty.VOLUMELEVEL, node=99))[0] == \
        NTSTATUS.INVALID_PARAMETER
    assert (await flt.property(AudioProperty.VOLUMELEVEL, node=vol, channel=2))[0] == \
        NTSTATUS.INVALID_PARAMETER
    peak = tb.headphone_node(NodeType.PEAKMETER)
    assert (await flt.property(AudioProperty.PEAKMETER, PropertyVerb.SET, node=peak,
                               value=0))[0] == NTSTATUS.INVALID_DEVICE_REQUEST
    assert (await flt.create_pin(hp, STEREO16))[0] == NTSTATUS.INVALID_DEVICE_REQUEST
    jack = await tb.mixer.get(JackProperty.DESCRIPTION, pin=hp)
    assert jack.is_connected is False and jack.color == 0x00FF00


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def volume_rounds_to_steps_and_raises_events(dut):
    """dB -> steps: nearest step, halves toward lower gain, clamped; the codec's amp holds
    the step; a change raises KSEVENT_CONTROL_CHANGE on that node only."""
    tb = TB(dut)
    await tb.start()
    vol = tb.headphone_node(NodeType.VOLUME)
    mute = tb.headphone_node(NodeType.MUTE)
    on_vol = tb.mixer.enable_event(KsEvent.CONTROL_CHANGE, node=vol)
    on_mute = tb.mixer.enable_event(KsEvent.CONTROL_CHANGE, node=mute)
    step = 3 * DB // 4
    cases = [(-6 * DB, -6 * DB), (-6 * DB - step // 2, -6 * DB - step),   # half: lower gain
             (-6 * DB + step // 2 + 1, -6 * DB + step), (100 * DB, 24 * DB),
             (-200 * DB, -95 * step), (0, 0)]
    for asked, got in cases:
        assert await tb.mixer.set(AudioProperty.VOLUMELEVEL, asked, node=vol) == got
        assert await tb.mixer.get(AudioProperty.VOLUMELEVEL, node=vol, channel=1) == got
        index = 0x5F + got // step
        assert await tb.amp(0x06) == (index, index)
    assert on_vol.count == len(cases) and on_mute.count == 0
    on_vol.event.clear()
    await tb.mixer.set(AudioProperty.VOLUMELEVEL, 0, node=vol)     # no change: no event
    assert on_vol.count == len(cases) and not on_vol.event.is_set()
    await tb.mixer.set(AudioProperty.MUTE, True, node=mute, channel=1)
    assert on_mute.count == 1 and on_mute.event.is_set()
    assert await tb.amp(0x06) == (0x5F, 0x80 | 0x5F)
    assert tb.mixer.filter.disable_event(on_mute) == NTSTATUS.SUCCESS
    await tb.mixer.set(AudioProperty.MUTE, False, node=mute)
    assert on_mute.count == 1


async def power_cycle_while_playing(dut, miniport):
    """Play; D0 -> D3 -> D0 in the middle; every client frame reaches the DAC once, in
    order, and the mixer settings are back in the codec."""
    tb = TB(dut, wave_miniport=miniport)
    await tb.start()
    dac_b = [n for n in path_from_pin(tb.topology.descriptor, PIN_WAVE_RENDER)
             if tb.topology.descriptor.nodes[n].name.startswith("dac 0x03")]
    await tb.mixer.set(AudioProperty.MUTE, True, node=dac_b[1])       # DAC B's mute
    await tb.mixer.set(AudioProperty.VOLUMELEVEL, -30 * DB, node=dac_b[0], channel=0)
    before = await tb.amp(0x03)
    assert before == (0x80 | (0x5F - 40), 0x80 | 0x5F)

    frames = size(6000, 480)
    pcm = tb.rng.randbytes(frames * STEREO16.block_align)
    # at least four FIFOs (256 frames), so the port keeps what the FIFO held
    options = {"buffer_bytes": size(960, 256) * 4} if miniport == "wavert" else {}
    stream = await tb.client.open(WAVE_FILTER, PIN_RENDER, STEREO16, **options)
    stream.write(pcm)
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await Timer(int(frames // 3 * FRAME_NS), "ns")
    heard_before = len(tb.speaker.frames)
    await tb.set_power_state(DevicePowerState.D3)
    assert stream.pin.state == KSSTATE.PAUSE
    assert tb.resources.power.power_cycles == 1
    assert tb.dut.rst.value == 1                    # the device is off: held in reset
    await Timer(int(size(100, 20) * FRAME_NS), "ns")
    assert len(tb.speaker.frames) - heard_before < 64
    await tb.set_power_state(DevicePowerState.D0)
    assert stream.pin.state == KSSTATE.RUN
    assert await tb.amp(0x03) == before
    await stream.wait_drained()
    await Timer(int(4 * FRAME_NS), "ns")
    await stream.close()
    heard = tb.speaker.frames
    want = expected_dac_frames(pcm, 2, 16)
    if heard[:frames] != want:
        first = next((i for i, (a, b) in enumerate(zip(heard, want)) if a != b), len(want))
        shift = next((k for k in range(-300, 300)
                      if heard[first:first + 50] == want[first + k:first + k + 50]), None)
        raise AssertionError(f"DAC output differs from frame {first} of {frames} (heard "
                             f"{len(heard)}; continues {shift} frames later in the input)")
    assert all(f == (0, 0) for f in heard[frames:])


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def power_cycle_wavert(dut):
    await power_cycle_while_playing(dut, "wavert")


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def power_cycle_wavecyclic(dut):
    await power_cycle_while_playing(dut, "wavecyclic")


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def power_cycle_wavepci(dut):
    await power_cycle_while_playing(dut, "wavepci")


def sine_pcm(frames, amplitude, hz=1000, rate=48000):
    """16-bit stereo PCM of a sine (right channel a quarter period behind)."""
    out = bytearray()
    for n in range(frames):
        for phase in (0, math.pi / 2):
            v = int(round(amplitude * 32767 * math.sin(2 * math.pi * hz * n / rate - phase)))
            out += v.to_bytes(2, "little", signed=True)
    return bytes(out)


def rms(values):
    return math.sqrt(sum(v * v for v in values) / len(values))


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def volume_steps_across_the_range(dut):
    """KSPROPERTY_AUDIO_VOLUMELEVEL on the headphone node from -71.25 dB to +24 dB: the DAC
    output equals the codec's gain model bit for bit and its RMS is the nominal gain within
    the gain table's tolerance (plus the output's rounding); mute gives exact zeros."""
    tb = TB(dut)
    await tb.start()
    frames = size(480, 48)
    pcm = sine_pcm(frames, 0.06)        # +24 dB (x15.85) stays below full scale
    reference = expected_dac_frames(pcm, 2, 16)
    levels = list(range(0, 128, size(9, 60))) + [0x7F]
    for index in levels:
        asked = (index - AMP_0DB) * GAIN_STEP_DB
        heard, report = await play_through_stack(tb, pcm, 2, 16, 48000, volume_db=asked)
        assert report.volume_db == asked
        assert report.bit_exact, \
            f"{asked} dB: {report.mismatched_frames} frames differ from the gain model"
        for side in (0, 1):
            out = rms([f[side] for f in heard])
            ref = rms([f[side] for f in reference])
            measured = 20 * math.log10(out / ref)
            allowance = GAIN_TOLERANCE_DB + 20 * math.log10(1 + 0.6 / out)
            assert abs(measured - asked) <= allowance, (index, side, measured, asked)
    heard, report = await play_through_stack(tb, pcm, 2, 16, 48000, volume_db=0, mute=True)
    assert report.bit_exact and all(f == (0, 0) for f in heard)
    await tb.mixer.set(AudioProperty.MUTE, False, node=tb.headphone_node(NodeType.MUTE))
    heard, _ = await play_through_stack(tb, pcm, 2, 16, 48000, volume_db=0)
    assert heard == reference              # 0 dB unmuted: bit-exact passthrough


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def mux_selects_the_capture_source(dut):
    """MUX_SOURCE picks the ADC input; each input has its own volume node, so what the
    client records follows the input amp of the selected source."""
    tb = TB(dut)
    await tb.start()
    d = tb.topology.descriptor
    mux = path_to_pin(d, PIN_WAVE_CAPTURE)[0]
    volume_of = {}
    for c in d.connections:
        if c.to_node == mux:
            volume_of[c.to_pin] = next(n for n in path_to_pin(d, PIN_WAVE_CAPTURE)
                                       if d.nodes[n].type == NodeType.VOLUME and
                                       d.nodes[n].name.endswith(f"input {c.to_pin} volume"))
    gains = {0: -12 * DB, 1: 6 * DB}
    for source, level in gains.items():
        await tb.mixer.set(AudioProperty.VOLUMELEVEL, level, node=volume_of[source])
    changed = tb.mixer.enable_event(KsEvent.CONTROL_CHANGE, node=mux)
    frames = size(480, 48)
    mic = [(v // 4, -v // 4) for v, _ in
           (tb.mic_frame(tb.rng) for _ in range(frames + 4800))]
    for source in (1, 0):
        assert await tb.mixer.set(AudioProperty.MUX_SOURCE, source, node=mux) == source
        assert await tb.mixer.get(AudioProperty.MUX_SOURCE, node=mux) == source
        setting = AMP_0DB + gains[source] // (3 * DB // 4)
        through_amp = frames_to_pcm([(apply_gain(left, setting), apply_gain(right, setting))
                                     for left, right in mic], 2, 16)
        tb.mic.sampled.clear()
        captured, _ = await record_through_stack(tb, mic, frames, 2, 16, 48000)
        assert captured in through_amp, \
            f"source {source}: the capture is not the input through amp setting {setting:#x}"
    assert changed.count == 2
    assert (await tb.topology.property(AudioProperty.MUX_SOURCE, PropertyVerb.SET, node=mux,
                                       value=5))[0] == NTSTATUS.INVALID_PARAMETER


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def peak_meter_tracks_the_signal(dut):
    """PEAKMETER after the mixer: the peak of what was played since the last read (both
    channels from one hardware read), then 0 once read."""
    tb = TB(dut)
    await tb.start()
    peak = tb.headphone_node(NodeType.PEAKMETER)
    ranges = await tb.mixer.basic_support(AudioProperty.PEAKMETER, node=peak)
    assert ranges[0].minimum == 0 and ranges[0].maximum == 0x7FFFFFFF
    await tb.mixer.get(AudioProperty.PEAKMETER, node=peak, channel=0)   # clear
    await tb.mixer.get(AudioProperty.PEAKMETER, node=peak, channel=1)
    for amplitude in (0.5, 0.125):
        pcm = sine_pcm(size(480, 96), amplitude)
        frames = expected_dac_frames(pcm, 2, 16)
        await play_through_stack(tb, pcm, 2, 16, 48000)
        for side in (0, 1):
            top = max(abs(f[side]) for f in frames)
            value = await tb.mixer.get(AudioProperty.PEAKMETER, node=peak, channel=side)
            assert value == (top >> 7) << 15, (amplitude, side, hex(value), hex(top))
    assert await tb.mixer.get(AudioProperty.PEAKMETER, node=peak, channel=0) == 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def jack_events_reach_the_client(dut):
    """Plugging and unplugging the headphones raises KSEVENT_PINCAPS_JACKINFOCHANGE on the
    headphone pin within a bounded time (unsolicited response -> CIS -> ISR -> DPC), and the
    jack description follows the presence."""
    tb = TB(dut)
    await tb.start()
    hp = tb.mixer.pin_named("headphones")
    entry = tb.mixer.enable_event(KsEvent.JACK_INFO_CHANGE, pin=hp)
    mic = tb.mixer.pin_named("microphone")
    assert tb.topology.enable_event(KsEvent.JACK_INFO_CHANGE, pin=mic)[0] == NTSTATUS.NOT_FOUND
    bound_ns = 50_000          # 50 us: link sync, a verb or two, ISR and DPC
    for count, plugged in enumerate((1, 0, 1), start=1):
        entry.event.clear()
        dut.jack_sense.value = plugged
        t0 = get_sim_time("ns")
        await with_timeout(entry.event.wait(), bound_ns, "ns")
        latency = get_sim_time("ns") - t0
        assert entry.count == count
        jack = await tb.mixer.get(JackProperty.DESCRIPTION, pin=hp)
        assert jack.is_connected == bool(plugged)
        dut._log.info("jack %s: event after %.1f us", "in" if plugged else "out",
                      latency / 1000)
    assert tb.adapter.controller.unsolicited_count == 3
    assert await tb.regs.read("UNSOL") == 0
