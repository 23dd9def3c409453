"""Cosim tests of the WaveCyclic path: client -> WaveCyclic port -> WaveCyclic miniport ->
device. Run through tests/test_wavecyclic.py on Icarus and Verilator; Icarus runs ask for a
2 ms notification interval instead of PortCls's 10 ms to keep their simulated time short."""

import cocotb
from cocotb.simtime import get_sim_time

from harness.frames import expected_dac_frames
from cosim.soc_env import FRAME_NS
from harness.frames import frames_to_pcm
from cosim.system import AudioSystem
from miniports.adapter import WAVE_FILTER
from miniports.wavecyclic import PIN_CAPTURE, PIN_RENDER
from portdrv.formats import WaveFormat
from portdrv.ksstate import KSSTATE
from portdrv.status import NTSTATUS
from rtl.regmap import stream_reg

from wavert_tests import STEREO16, TIMEOUT_MS, size

import random


class TB(AudioSystem):
    """The machine with the WaveCyclic driver stack."""

    def __init__(self, dut, seed=1):
        super().__init__(dut, seed=seed, wave_miniport="wavecyclic")
        self.rng = random.Random(seed)
        self.interval_ms = size(10, 2)

    async def start(self):
        await super().start()
        self.adapter.wave_port.notification_ms = self.interval_ms

    def audio(self, frames, fmt=STEREO16):
        return self.rng.randbytes(frames * fmt.block_align)

    async def open(self, pin, fmt=STEREO16):
        return await self.client.open(WAVE_FILTER, pin, fmt)

    def interval_frames(self, rate=48000):
        return rate * self.interval_ms // 1000


async def play_all(tb, stream):
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def render_bit_exact(dut):
    """16-bit stereo copied by the port into the common buffer: bit-exact at the DAC."""
    tb = TB(dut)
    await tb.start()
    pcm = tb.audio(tb.interval_frames() * 7 + 13)
    stream = await tb.open(PIN_RENDER)
    assert stream.pin.buffer_size == 4 * tb.interval_frames() * 4
    cut = len(pcm) // 12 * 4                        # two packets, split on a frame
    stream.write(pcm[:cut])
    stream.write(pcm[cut:])
    await play_all(tb, stream)
    want = expected_dac_frames(pcm, 2, 16)
    assert tb.speaker.frames[:len(want)] == want
    assert all(f == (0, 0) for f in tb.speaker.frames[len(want):])
    assert stream.pin.glitches == 0 and stream.pin.notifications_seen > 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def capture_bit_exact(dut):
    """24-bit mono capture copied out of the common buffer, bit for bit."""
    tb = TB(dut)
    await tb.start()
    fmt = WaveFormat.pcm(1, 48000, 24, 32)
    n = tb.interval_frames() * 5
    source = [(tb.rng.randrange(-(1 << 23), 1 << 23), 0) for _ in range(n + 2000)]
    tb.mic.feed(source)
    stream = await tb.open(PIN_CAPTURE, fmt)
    await stream.set_state(KSSTATE.RUN)
    data = bytearray()
    while len(data) < n * 4:
        data += await stream.read(n * 4 - len(data))
    await stream.close()
    assert bytes(data) == frames_to_pcm(source[:n], 1, 24)
    assert stream.pin.glitches == 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def position_wraps_pause_and_stop(dut):
    """GetPosition is the hardware's byte offset in the buffer: it wraps below the buffer
    size and equals LPIB, freezes in PAUSE, RUN resumes without loss, and it is 0 after
    STOP."""
    tb = TB(dut)
    await tb.start()
    pcm = tb.audio(tb.interval_frames() * 10)
    stream = await tb.open(PIN_RENDER)
    pin = stream.pin
    stream.write(pcm)
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    seen, wrapped = [], False
    for _ in range(12):
        await tb.frames(tb.interval_frames() // 2)
        offset = await pin.get_buffer_position()
        assert 0 <= offset < pin.buffer_size
        wrapped |= bool(seen) and offset < seen[-1]
        seen.append(offset)
    assert wrapped, seen
    await stream.set_state(KSSTATE.PAUSE)
    await tb.frames(3)
    frozen = await pin.get_buffer_position()
    lpib = await tb.regs.read(stream_reg("LPIB", pin.stream.engine.n))
    assert frozen == lpib
    await tb.frames(tb.interval_frames())
    assert await pin.get_buffer_position() == frozen
    await stream.set_state(KSSTATE.RUN)
    await stream.wait_drained()
    await tb.frames(4)
    await stream.set_state(KSSTATE.STOP)
    assert await pin.get_buffer_position() == 0
    await stream.close()
    want = expected_dac_frames(pcm, 2, 16)
    assert tb.speaker.frames[:len(want)] == want and pin.glitches == 0
    # NormalizePhysicalPosition answers a status with the value (IMiniportWaveCyclicStream::
    # NormalizePhysicalPosition; was: the bare value)
    assert pin.normalize_physical_position(192000) == (NTSTATUS.SUCCESS, 10_000_000)


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def starvation_plays_silence_and_continues(dut):
    """The client stops feeding for longer than the buffer: the port writes silence, the
    glitch is reported, and the rest of the audio follows intact after the gap."""
    tb = TB(dut)
    await tb.start()
    k = tb.interval_frames()
    first, second = tb.audio(3 * k), tb.audio(3 * k)
    stream = await tb.open(PIN_RENDER)
    stream.write(first)
    await stream.set_state(KSSTATE.RUN)
    await tb.frames(9 * k)                          # starving for ~6 intervals
    assert stream.pin.glitches >= 1
    heard_before = len(tb.speaker.frames)
    stream.write(second)
    await play_all(tb, stream)
    frames = tb.speaker.frames
    a, b = expected_dac_frames(first, 2, 16), expected_dac_frames(second, 2, 16)
    assert frames[:len(a)] == a
    start = next(i for i in range(len(a), len(frames)) if frames[i:i + len(b)] == b)
    assert start >= heard_before
    assert all(f == (0, 0) for f in frames[len(a):start])


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def notification_every_interval(dut):
    """SetNotificationFreq(10 ms): the controller interrupts every 10 ms of audio, each IOC
    within one frame of the next interval boundary."""
    tb = TB(dut)
    await tb.start()
    stream = await tb.open(PIN_RENDER)
    mini = stream.pin.stream
    assert stream.pin.notification_bytes == tb.interval_frames() * 4
    times = []
    inner = mini.on_ioc

    def on_ioc():
        times.append(get_sim_time("ns"))
        inner()
    mini.on_ioc = on_ioc
    stream.write(tb.audio(tb.interval_frames() * 8))
    await play_all(tb, stream)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) >= 5
    for gap in gaps[1:]:
        assert abs(gap - tb.interval_ms * 1e6) <= FRAME_NS, gaps
