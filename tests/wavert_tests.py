"""Cosim tests of the WaveRT path: client -> WaveRT port -> WaveRT miniport -> device.

Run through tests/test_wavert.py on Icarus and Verilator; Icarus runs use less audio and
smaller buffers (see :func:`size`)."""

import random

import cocotb
from cocotb.triggers import Timer

from harness.frames import expected_dac_frames
from cosim.soc_env import FRAME_NS
from cosim.stack_audio import play_through_stack, record_through_stack
from harness.frames import frames_to_pcm
from cosim.system import AudioSystem
from miniports.adapter import WAVE_FILTER
from miniports.wavert import PIN_CAPTURE, PIN_CAPTURE_BRIDGE, PIN_RENDER
from portdrv.formats import WaveFormat
from portdrv.ksstate import KSSTATE
from portdrv.status import NTSTATUS, StatusError
from rtl.regmap import stream_reg

from port_scenarios import record_steps

SHORT = cocotb.SIM_NAME.lower().startswith("icarus") if cocotb.SIM_NAME else False
STEREO16 = WaveFormat.pcm(2, 48000, 16)
#: simulated time after which a test fails instead of waiting on (Icarus: ~1 wall s per ms)
TIMEOUT_MS = 120 if SHORT else 2000


def size(verilator_value, icarus_value):
    """The same checks with less audio on Icarus, which is ~50x slower."""
    return icarus_value if SHORT else verilator_value


class TB(AudioSystem):
    """The machine with the driver stack, plus test helpers."""

    def __init__(self, dut, seed=1):
        super().__init__(dut, seed=seed)
        self.rng = random.Random(seed)

    def audio(self, frames, fmt=STEREO16):
        return self.rng.randbytes(frames * fmt.block_align)

    def mic_frames(self, n, channels=2):
        r = lambda: self.rng.randrange(-(1 << 23), 1 << 23)
        return [(r(), r()) if channels == 2 else (r(), 0) for _ in range(n)]

    async def open(self, pin, fmt=STEREO16, buffer_frames=None, **options):
        frames = buffer_frames or size(960, 192)
        return await self.client.open(WAVE_FILTER, pin, fmt,
                                      buffer_bytes=frames * fmt.block_align, **options)

    def record_steps(self, stream):
        """Log every state the port passes to the miniport stream."""
        return record_steps(stream)

    async def hw_running(self, stream):
        return await self.regs.read_field(stream_reg("CTL", stream.pin.stream.engine.n), "RUN")


def assert_non_contiguous(pages):
    """Buffers of more than one page (all but Icarus's short ones) are scattered."""
    assert len(pages) >= 1 if SHORT else len(pages) >= 2
    assert len(pages) < 2 or any(b != a + 4096 for a, b in zip(pages, pages[1:])), pages


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def render_bit_exact(dut):
    """16-bit stereo through the WaveRT pin over non-contiguous pages: every frame reaches the
    DAC in order, bit for bit, then silence; notifications drive the engine, no glitch."""
    tb = TB(dut)
    await tb.start()
    pcm = tb.audio(size(4000, 300))
    stream = await tb.open(PIN_RENDER, buffer_frames=size(2048, 128))
    assert_non_contiguous(stream.pin.stream.mdl.pages)
    stream.write(pcm)
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()
    frames = tb.speaker.frames
    want = expected_dac_frames(pcm, 2, 16)
    assert frames[:len(want)] == want
    assert all(f == (0, 0) for f in frames[len(want):])
    assert stream.pin.glitches == 0
    assert stream.pin.notifications_seen >= len(want) // size(1024, 128) - 1


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def render_24bit_mono_pause_resume(dut):
    """24-bit mono (32-bit containers): PAUSE stops the hardware and freezes the position,
    RUN resumes where it stopped; the DAC still gets every frame exactly once."""
    tb = TB(dut)
    await tb.start()
    fmt = WaveFormat.pcm(1, 48000, 24, 32)
    pcm = tb.audio(size(3000, 300), fmt)
    stream = await tb.open(PIN_RENDER, fmt, buffer_frames=size(960, 128))
    stream.write(pcm)
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await tb.frames(size(1000, 100))
    await stream.set_state(KSSTATE.PAUSE)
    assert await tb.hw_running(stream) == 0
    await tb.frames(3)                  # the last frame sent crosses the link
    paused_at = await stream.get_position()
    heard = len(tb.speaker.frames)
    await tb.frames(size(200, 40))
    assert await stream.get_position() == paused_at
    assert len(tb.speaker.frames) == heard
    await stream.set_state(KSSTATE.RUN)
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()
    want = expected_dac_frames(pcm, 1, 24)
    assert tb.speaker.frames[:len(want)] == want
    assert stream.pin.glitches == 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def capture_bit_exact(dut):
    """Capture 16-bit stereo from the microphone through the WaveRT pin, bit for bit."""
    tb = TB(dut)
    await tb.start()
    source = tb.mic_frames(size(4000, 400))
    tb.mic.feed(source)
    stream = await tb.open(PIN_CAPTURE, buffer_frames=size(1500, 128))
    assert_non_contiguous(stream.pin.stream.mdl.pages)
    await stream.set_state(KSSTATE.RUN)
    want_frames = size(3000, 240)
    data = bytearray()
    while len(data) < want_frames * 4:
        data += await stream.read(want_frames * 4 - len(data))
    await stream.close()
    assert bytes(data) == frames_to_pcm(tb.mic.sampled[:want_frames], 2, 16)
    assert tb.mic.sampled[:want_frames] == source[:want_frames]
    assert stream.pin.glitches == 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def positions_and_registers(dut):
    """The play position is monotonic and within one FIFO of the frames the speaker heard;
    the position register read through its alias equals GetPosition's play offset; the clock
    register runs at the reported frequency; HW latency reports the FIFO."""
    tb = TB(dut)
    await tb.start()
    pcm = tb.audio(size(4000, 500))
    stream = await tb.open(PIN_RENDER, buffer_frames=size(1024, 128))
    pin = stream.pin
    latency = pin.get_hw_latency()
    fifos = await tb.regs.read(stream_reg("FIFOS", pin.stream.engine.n))
    assert latency.fifo_size == fifos + 1 and latency.codec_delay > 0
    stream.write(pcm)
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    last = 0
    fifo_frames = latency.fifo_size // 4
    for _ in range(size(12, 6)):
        await tb.frames(size(250, 50))
        play, write = await stream.get_position()
        heard = len(tb.speaker.frames)
        assert play >= last and write >= play
        assert abs(play // 4 - heard) <= fifo_frames, (play // 4, heard)
        last = play
    await stream.set_state(KSSTATE.PAUSE)
    status, position_reg = pin.position_register()
    assert status == NTSTATUS.SUCCESS and position_reg.hw_register.width == 32
    _, offsets = await pin.get_offsets()
    assert await position_reg.read() == offsets.play_offset
    status, clock_reg = pin.clock_register()
    assert status == NTSTATUS.SUCCESS
    reg = clock_reg.hw_register
    t0, c0 = tb.scheduler.now_100ns(), await clock_reg.read()
    await Timer(100_000, "ns")
    t1, c1 = tb.scheduler.now_100ns(), await clock_reg.read()
    hz = reg.numerator / reg.denominator
    assert abs(hz - 12_288_000) < 100
    assert abs((c1 - c0) - hz * (t1 - t0) / 1e7) < hz * 2e-7 + 2   # within the 100-ns grain
    await stream.close()


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def notifications_at_buffer_points(dut):
    """IOC at the mid-point and end (2 per buffer) or only the end (1): the DMA position at
    each notification is just past that point, and the events come once per point."""
    tb = TB(dut)
    await tb.start()
    for count in (2, 1):
        frames = size(1000, 64)
        stream = await tb.open(PIN_RENDER, buffer_frames=frames, notifications=count)
        mini = stream.pin.stream
        points = [frames * 4 * (i + 1) // count % (frames * 4) for i in range(count)]
        seen = []
        inner = mini.on_interrupt

        def on_interrupt(cause, inner=inner, mini=mini, seen=seen):
            seen.append(mini.engine.dma_position())
            inner(cause)
        mini.controller._owners[mini.engine.n] = on_interrupt
        stream.write(tb.audio(frames * 3))
        stream.end_of_stream()
        await stream.set_state(KSSTATE.RUN)
        await stream.wait_drained()
        await stream.close()
        assert len(seen) >= 2 * count
        for pos in seen:
            assert min((pos - p) % (frames * 4) for p in points) < 256, (pos, points)


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def state_transitions(dut):
    """Client jumps are walked one step at a time in both directions; every legal order
    drives the RUN bit; illegal requests get their status."""
    tb = TB(dut)
    await tb.start()
    stream = await tb.open(PIN_RENDER)
    steps = tb.record_steps(stream)
    stream.write(tb.audio(size(2000, 300)))
    await stream.set_state(KSSTATE.RUN)
    assert steps == [KSSTATE.ACQUIRE, KSSTATE.PAUSE, KSSTATE.RUN]
    assert await tb.hw_running(stream) == 1
    steps.clear()
    await stream.set_state(KSSTATE.STOP)
    assert steps == [KSSTATE.PAUSE, KSSTATE.ACQUIRE, KSSTATE.STOP]
    assert await tb.hw_running(stream) == 0
    assert await stream.get_position() == (0, 0)
    # every legal single step, with the hardware following
    for state, running in ((KSSTATE.ACQUIRE, 0), (KSSTATE.PAUSE, 0), (KSSTATE.RUN, 1),
                           (KSSTATE.PAUSE, 0), (KSSTATE.RUN, 1), (KSSTATE.PAUSE, 0),
                           (KSSTATE.ACQUIRE, 0), (KSSTATE.STOP, 0), (KSSTATE.STOP, 0)):
        await stream.set_state(state)
        assert stream.state == state and await tb.hw_running(stream) == running
    # the miniport refuses a jump the port did not step
    mini = stream.pin.stream
    assert await mini.set_state(KSSTATE.RUN) == NTSTATUS.INVALID_DEVICE_STATE
    assert await stream.pin.set_state(7) == NTSTATUS.INVALID_PARAMETER
    await stream.set_state(KSSTATE.RUN)
    # IMiniportWaveRTStream::SetFormat documents INVALID_PARAMETER for a running stream (was:
    # INVALID_DEVICE_STATE)
    assert await mini.set_format(STEREO16) == NTSTATUS.INVALID_PARAMETER
    assert await mini.set_state(KSSTATE.ACQUIRE) == NTSTATUS.INVALID_DEVICE_STATE
    await stream.close()
    assert await stream.pin.set_state(KSSTATE.RUN) == NTSTATUS.INVALID_DEVICE_STATE
    # notification events: registering twice / unregistering an unknown one
    capture = await tb.open(PIN_CAPTURE)
    event = tb.scheduler.new_event()
    cmini = capture.pin.stream
    assert cmini.register_notification_event(event) == NTSTATUS.SUCCESS
    assert cmini.register_notification_event(event) == NTSTATUS.UNSUCCESSFUL
    assert cmini.unregister_notification_event(event) == NTSTATUS.SUCCESS
    assert cmini.unregister_notification_event(event) == NTSTATUS.NOT_FOUND
    try:
        capture.write(bytes(4))
        raise AssertionError("write on a capture pin succeeded")
    except StatusError as exc:
        assert exc.status == NTSTATUS.INVALID_DEVICE_REQUEST
    await capture.close()


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def pins_and_formats(dut):
    """Pin factories: two render pins at once (SD1 and SD2 mixed in the codec), a third is
    refused, bridge pins cannot be opened, formats the hardware cannot carry do not match."""
    tb = TB(dut)
    await tb.start()
    a = await tb.open(PIN_RENDER)
    b = await tb.open(PIN_RENDER)
    assert {a.pin.stream.engine.n, b.pin.stream.engine.n} == {1, 2}
    for pin, fmt, status in ((PIN_RENDER, STEREO16, NTSTATUS.INSUFFICIENT_RESOURCES),
                             (PIN_CAPTURE_BRIDGE, STEREO16, NTSTATUS.INVALID_DEVICE_REQUEST),
                             (PIN_CAPTURE, WaveFormat.pcm(2, 44100, 16), NTSTATUS.NO_MATCH),
                             (PIN_CAPTURE, WaveFormat.pcm(2, 48000, 8), NTSTATUS.NO_MATCH),
                             (PIN_CAPTURE, WaveFormat.pcm(6, 48000, 16), NTSTATUS.NO_MATCH)):
        try:
            await tb.open(pin, fmt)
            raise AssertionError(f"pin {pin} {fmt} opened")
        except StatusError as exc:
            assert exc.status == status, (pin, fmt, exc)
    # mixing: quiet signals so the saturating sum is exact
    n = size(1500, 200)
    quiet = lambda: bytes(x for _ in range(n) for x in
                          tb.rng.randrange(-4096, 4096).to_bytes(2, "little", signed=True) * 2)
    pa, pb = quiet(), quiet()
    for s, pcm in ((a, pa), (b, pb)):
        s.write(pcm)
        s.end_of_stream()
    await a.set_state(KSSTATE.PAUSE)
    await b.set_state(KSSTATE.PAUSE)
    await a.set_state(KSSTATE.RUN)
    await b.set_state(KSSTATE.RUN)
    await a.wait_drained()
    await b.wait_drained()
    await a.close()
    await b.close()
    fa, fb = expected_dac_frames(pa, 2, 16), expected_dac_frames(pb, 2, 16)
    assert _mix_matches(tb.speaker.frames, fa, fb)


def _mix_matches(frames, fa, fb):
    """True if ``frames`` is A and B summed with B starting some frames after A (or before)."""
    for lag in range(-16, 17):
        total = []
        for i in range(len(frames)):
            x = fa[i] if 0 <= i < len(fa) else (0, 0)
            j = i - lag
            y = fb[j] if 0 <= j < len(fb) else (0, 0)
            total.append((x[0] + y[0], x[1] + y[1]))
        if frames == total[:len(frames)]:
            return True
    return False


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def dpc_latency_spike_glitches_and_recovers(dut):
    """A DPC delayed longer than the buffer: the engine misses its window, the glitch is
    counted, and the stream recovers and plays the rest of the client's audio."""
    tb = TB(dut)
    await tb.start()
    buffer_frames = size(480, 64)
    pcm = tb.audio(size(4000, 400))
    stream = await tb.open(PIN_RENDER, buffer_frames=buffer_frames)
    stream.write(pcm)
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await tb.frames(size(600, 100))
    group = tb.adapter.wave_miniport.service_group
    group.dpc_latency_100ns = int(3 * buffer_frames * FRAME_NS / 100)
    await tb.frames(3 * buffer_frames)
    group.dpc_latency_100ns = 0
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()
    assert stream.pin.glitches >= 1
    # the tail of the client's audio came out intact after the recovery
    want = expected_dac_frames(pcm, 2, 16)
    tail = want[-buffer_frames:]
    frames = tb.speaker.frames
    assert any(frames[i:i + len(tail)] == tail for i in range(len(frames) - len(tail) + 1))


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def packet_mode_play_and_record(dut):
    """WaveRT packet mode (IMiniportWaveRTOutputStream / IMiniportWaveRTInputStream): render
    through SetWritePacket, two packets per buffer, and capture through GetReadPacket, both
    bit for bit with no glitch; every packet of the stream went through the packet calls."""
    tb = TB(dut)
    await tb.start()
    buffer_ms = size(10, 4)
    pcm = tb.audio(size(4800, 600))
    _frames, result = await play_through_stack(tb, pcm, 2, 16, 48000, buffer_ms=buffer_ms,
                                               packet_mode=True)
    assert result.bit_exact and result.frames_out == result.frames_in
    assert result.underruns == 0 and result.packet_mode
    packet_frames = 48 * buffer_ms // 2
    assert result.packets >= len(pcm) // 4 // packet_frames
    frames = size(2400, 300)
    _pcm, result = await record_through_stack(tb, tb.mic_frames(frames + 2000), frames, 2, 16,
                                              48000, buffer_ms=buffer_ms, packet_mode=True)
    assert result.bit_exact and result.frames_out == frames and result.glitches == 0
    assert result.packets >= frames // packet_frames


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def packet_mode_latency_against_cyclic(dut):
    """Frames between the port handing audio to the hardware (SetWritePacket in packet mode,
    the engine's copy into the buffer in cyclic mode) and the DAC, for the same 2-packet
    buffer. Packet mode: the client writes packet N when GetPacketCount says N-1 is in
    progress, so a packet waits one packet for the DMA plus the FIFO and the link to the DAC.
    Cyclic mode: the engine fills the buffer up to the play position (not the DMA's) at each
    notification, so its first new byte waits about half the buffer. The figures are logged
    (README: packet-mode latency)."""
    tb = TB(dut)
    await tb.start()
    probe = await tb.open(PIN_RENDER)
    fifo_frames = (await probe.hw_latency()).fifo_size // STEREO16.block_align
    await probe.close()
    buffer_ms = size(10, 4)
    pcm = tb.audio(size(4800, 600))
    results = {}
    for packet_mode in (False, True):
        _frames, result = await play_through_stack(tb, pcm, 2, 16, 48000,
                                                   buffer_ms=buffer_ms,
                                                   packet_mode=packet_mode)
        assert result.bit_exact
        results[packet_mode] = result.write_latency_frames
        tb.dut._log.info("write->DAC latency, %s mode, %d ms buffer: %s frames",
                         "packet" if packet_mode else "cyclic", buffer_ms,
                         result.write_latency_frames)
    packet_frames, link_frames = 48 * buffer_ms // 2, 8
    assert packet_frames <= results[True]["min"]
    assert results[True]["max"] <= packet_frames + fifo_frames + link_frames
    assert results[False]["median"] <= 2 * packet_frames + fifo_frames + link_frames
