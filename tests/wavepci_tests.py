"""Cosim tests of the WavePci path: client packets -> WavePci port (mappings) -> WavePci
miniport (queue-mode BDL ring) -> device. Run through tests/test_wavepci.py on both
simulators (Icarus with less audio)."""

import random

import cocotb

from harness.frames import expected_dac_frames
from harness.frames import frames_to_pcm
from cosim.system import AudioSystem
from miniports.adapter import WAVE_FILTER
from miniports.wavepci import PIN_CAPTURE, PIN_RENDER, RING
from portdrv.ksstate import KSSTATE
from portdrv.status import NTSTATUS

from wavert_tests import STEREO16, TIMEOUT_MS, size

PAGE = 4096


class TB(AudioSystem):
    """The machine with the WavePci driver stack."""

    def __init__(self, dut, seed=1):
        super().__init__(dut, seed=seed, wave_miniport="wavepci")
        self.rng = random.Random(seed)

    def audio(self, frames, fmt=STEREO16):
        return self.rng.randbytes(frames * fmt.block_align)

    async def open(self, pin, fmt=STEREO16):
        return await self.client.open(WAVE_FILTER, pin, fmt)


def dac(pcm):
    return expected_dac_frames(pcm, 2, 16)


def write_packets(pin, pcm, sizes, offsets):
    """Queue ``pcm`` as packets of ``sizes`` frames (cycled), each at a page offset from
    ``offsets`` (cycled); returns the packets."""
    packets, pos, i = [], 0, 0
    while pos < len(pcm):
        n = min(sizes[i % len(sizes)] * 4, len(pcm) - pos)
        status, packet = pin.write(pcm[pos:pos + n], page_offset=offsets[i % len(offsets)])
        assert status == NTSTATUS.PENDING
        packets.append(packet)
        pos += n
        i += 1
    return packets


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def render_odd_packets_bit_exact(dut):
    """Packets of awkward sizes at awkward page offsets (tiny, one byte over a page, large,
    crossing pages): every mapping stays in one page and one packet, and the DAC gets every
    frame once, in order."""
    tb = TB(dut)
    await tb.start()
    stream = await tb.open(PIN_RENDER)
    pin = stream.pin
    pcm = tb.audio(size(6000, 900))
    seen = []
    get = pin.port_stream.get_mapping

    def spy(tag):
        answer = get(tag)
        if answer[0] == NTSTATUS.SUCCESS:
            seen.append(pin._mappings[tag])
        return answer
    pin.port_stream.get_mapping = spy
    packets = write_packets(pin, pcm, [1, 1025, 3, 2000, 17, 64],
                            [4094, 0, 4092, 2, 1000, 4095 - 3])
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await stream.wait_drained()
    await tb.frames(4)
    assert all(p.status == NTSTATUS.SUCCESS for p in packets)
    await stream.close()
    assert tb.speaker.frames[:len(pcm) // 4] == dac(pcm)
    for m in seen:
        assert m.physical_address // PAGE == (m.physical_address + m.length - 1) // PAGE
        assert m.offset + m.length <= m.packet.size
        assert m.flags == (1 if m.offset + m.length == m.packet.size else 0)
    assert sum(m.length for m in seen) == len(pcm) and pin.glitches == 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def starvation_then_resume(dut):
    """The client stops feeding: the queue runs dry (reported as a starvation, not an
    underrun of the hardware), and the audio resumes with nothing lost or repeated."""
    tb = TB(dut)
    await tb.start()
    stream = await tb.open(PIN_RENDER)
    first, second = tb.audio(size(1500, 300)), tb.audio(size(1500, 300))
    write_packets(stream.pin, first, [256], [0])
    await stream.set_state(KSSTATE.RUN)
    await tb.frames(len(first) // 4 + size(600, 100))
    heard = len(tb.speaker.frames)
    assert heard == len(first) // 4               # played all, then nothing
    write_packets(stream.pin, second, [256], [0])
    stream.end_of_stream()
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()
    assert tb.speaker.frames == dac(first + second)
    assert stream.pin.glitches == 1
    assert await stream.pin.stream.xrun() == 0


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def cancel_packet_in_flight(dut):
    """Cancelling a packet whose mappings are queued revokes them (the count excludes
    mappings already released); the packets around it play intact."""
    tb = TB(dut)
    await tb.start()
    stream = await tb.open(PIN_RENDER)
    pin = stream.pin
    a, b, c = tb.audio(size(1200, 200)), tb.audio(size(3000, 600)), tb.audio(size(900, 200))
    # b starts near a page end: its first mapping is short, so it is released early
    [pa], [pb], [pc] = (write_packets(pin, x, [10**6], [off])
                        for x, off in ((a, 0), (b, 4000), (c, 0)))
    await stream.set_state(KSSTATE.RUN)
    # wait until b is being played (some of its mappings released, some not)
    while not (0 < pb.done and pb.outstanding > 0):
        await tb.frames(20)
    out_before = pb.outstanding
    revoked_before = pin.mappings_revoked
    assert await pin.cancel(pb) == NTSTATUS.SUCCESS
    assert pb.status == NTSTATUS.CANCELLED
    assert pin.mappings_revoked - revoked_before == out_before
    stream.end_of_stream()
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()
    frames = tb.speaker.frames
    fa, fb, fc = dac(a), dac(b), dac(c)
    assert frames[:len(fa)] == fa
    assert frames[-len(fc):] == fc
    middle = frames[len(fa):len(frames) - len(fc)]
    assert middle == fb[:len(middle)]             # a prefix of b, then straight to c
    assert pa.status == pc.status == NTSTATUS.SUCCESS


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def stop_mid_stream_and_restart(dut):
    """STOP while playing revokes every queued mapping and cancels the packets; after RUN
    again new packets play from the start, bit-exact."""
    tb = TB(dut)
    await tb.start()
    stream = await tb.open(PIN_RENDER)
    pin = stream.pin
    packets = write_packets(pin, tb.audio(size(4000, 800)), [512], [0])
    await stream.set_state(KSSTATE.RUN)
    await tb.frames(size(1000, 200))
    await stream.set_state(KSSTATE.STOP)
    assert pin.mappings_revoked > 0 and not pin._mappings
    assert all(p.completed for p in packets)
    assert any(p.status == NTSTATUS.CANCELLED for p in packets)
    assert await stream.get_position() == (0, pin.mapped_bytes)
    await tb.frames(3)                  # the last frame sent crosses the link and the codec
    heard = len(tb.speaker.frames)
    again = tb.audio(size(1500, 300))
    write_packets(pin, again, [300], [8])
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()
    assert tb.speaker.frames[heard:heard + len(again) // 4] == dac(again)


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def ring_wraps_many_times(dut):
    """Tiny packets: more than twice the 256-entry ring of mappings, bit-exact."""
    tb = TB(dut)
    await tb.start()
    stream = await tb.open(PIN_RENDER)
    frames_per_packet = size(8, 2)
    pcm = tb.audio(frames_per_packet * (2 * RING + 40))
    write_packets(stream.pin, pcm, [frames_per_packet], [0, 4000])
    stream.end_of_stream()
    await stream.set_state(KSSTATE.RUN)
    await stream.wait_drained()
    await tb.frames(4)
    await stream.close()
    assert stream.pin.stream._next_tag > 2 * RING
    assert tb.speaker.frames[:len(pcm) // 4] == dac(pcm)


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def capture_bit_exact(dut):
    """Capture into client packets at odd page offsets: bit for bit."""
    tb = TB(dut)
    await tb.start()
    n = size(3000, 500)
    source = [(tb.rng.randrange(-(1 << 23), 1 << 23), tb.rng.randrange(-(1 << 23), 1 << 23))
              for _ in range(n + 3000)]
    tb.mic.feed(source)
    stream = await tb.open(PIN_CAPTURE)
    pin = stream.pin
    packets = [pin.read_packet(k * 4, page_offset=off)[1]
               for k, off in zip([100, 1025, 7, 400] * 40, [4000, 12, 0, 4092] * 40)]
    total = 0
    queued = []
    for p in packets:
        queued.append(p)
        total += p.size
        if total >= n * 4:
            break
    for p in packets[len(queued):]:
        await pin.cancel(p)
    await stream.set_state(KSSTATE.RUN)
    for p in queued:
        assert await p.wait() == NTSTATUS.SUCCESS
    data = b"".join(p.data() for p in queued)
    await stream.close()
    assert data == frames_to_pcm(source[:len(data) // 4], 2, 16)


@cocotb.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
async def two_render_pins_mix(dut):
    """Two WavePci render pins (SD1 and SD2) play at once and the codec sums them."""
    tb = TB(dut)
    await tb.start()
    n = size(1500, 250)
    quiet = lambda: b"".join(tb.rng.randrange(-4096, 4096).to_bytes(2, "little", signed=True)
                             * 2 for _ in range(n))
    pa, pb = quiet(), quiet()
    a, b = await tb.open(PIN_RENDER), await tb.open(PIN_RENDER)
    for s, pcm in ((a, pa), (b, pb)):
        write_packets(s.pin, pcm, [333], [100])
        s.end_of_stream()
        await s.set_state(KSSTATE.PAUSE)
    await a.set_state(KSSTATE.RUN)
    await b.set_state(KSSTATE.RUN)
    await a.wait_drained()
    await b.wait_drained()
    await tb.frames(4)
    await a.close()
    await b.close()
    from wavert_tests import _mix_matches
    assert _mix_matches(tb.speaker.frames, dac(pa), dac(pb))
