"""Play and record through the whole driver stack, inside a simulation (``pcsim play/record``).

:func:`play_through_stack` streams PCM from a client through the port, the miniport, the
registers and DMA to the codec, and checks what reached the DAC; :func:`record_through_stack`
feeds the microphone and checks what the client read. Both return the audio and a typed
result (:mod:`harness.job`) and run as cocotb coroutines on an :class:`cosim.system.AudioSystem`.
"""

from __future__ import annotations

import time

from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from miniports.adapter import WAVE_FILTER
from miniports.wavestream import PIN_CAPTURE, PIN_RENDER
from portdrv.client import MixerClient
from portdrv.filter import NodeType
from portdrv.formats import WaveFormat
from portdrv.ksstate import KSSTATE
from portdrv.properties import VOLUME_UNITS_PER_DB, AudioProperty
from harness.frames import container_bytes, expected_dac_frames, frames_to_pcm
from harness.job import PlayResult, RecordResult
from rtl.gain import AMP_0DB, GAIN_STEP_DB, amp_setting, apply_gain, gain_db, scaled_sample

from .soc_env import FRAME_NS

__all__ = ["play_through_stack", "record_through_stack", "wave_format", "set_output_volume",
           "write_latency_frames"]

#: how often the position is compared with the speaker and progress reported (ns)
SAMPLE_NS = 2_000_000
#: link frames a sample takes through the link and the codec in either direction, plus one:
#: after a stream closes, what it had in flight is through before the next stream starts
LINK_SETTLE_FRAMES = 3


def wave_format(channels, bits, rate):
    """The client format for PCM as the controller reads it (24-bit in 32-bit containers)."""
    return WaveFormat.pcm(channels, rate, bits, 8 * container_bytes(bits))


def _buffer_options(system, fmt, buffer_ms, packet_mode=False):
    """WaveRT lets the client size the cyclic buffer (in packet mode: two packets of half of
    it each, WaveRT packet mode); a WaveCyclic miniport sizes its own."""
    if packet_mode and system.adapter.wave_kind != "wavert":
        raise ValueError("packet mode needs the WaveRT miniport")
    if system.adapter.wave_kind == "wavert":
        options = {"buffer_bytes": fmt.avg_bytes_per_sec * buffer_ms // 1000}
        if packet_mode:
            options.update(notifications=2, packet_mode=True)
        return options
    return {}


def write_latency_frames(system, pin, heard_before, total, rate):
    """How long client audio waited between the port putting it where the hardware fetches
    it (packet mode: SetWritePacket; cyclic mode: the engine's copy into the buffer) and the
    DAC, in frames: ``{"min", "median", "max", "samples"}`` over the writes made while
    running (None without any). Call while the stream still runs: the DAC time of stream
    frame ``k`` is taken from the frames heard by now (one per frame period)."""
    now = system.scheduler.now_100ns()
    heard = len(system.speaker.frames) - heard_before
    frame_100ns = 10_000_000 / rate
    samples = []
    for offset, written in getattr(pin, "write_log", None) or ():
        k = offset // pin.format.block_align
        if k >= min(total, heard) or written < pin.run_started_100ns:
            continue
        at_dac = now - (heard - 1 - k) * frame_100ns
        samples.append((at_dac - written) / frame_100ns)
    if not samples:
        return None
    samples.sort()
    return {"min": round(samples[0], 1), "median": round(samples[len(samples) // 2], 1),
            "max": round(samples[-1], 1), "samples": len(samples)}


def _cycles(sim_ns, system):
    hz = system.resources.parameters["clock_hz"]
    return int(sim_ns * hz / 10**9) if hz else 0


async def _sample_positions(system, stream, block_align, state, progress, total_frames,
                            heard_before):
    """Every SAMPLE_NS: compare the client's play position with the frames the speaker got,
    and report progress."""
    while True:
        await Timer(SAMPLE_NS, "ns")
        play, _ = await stream.get_position()
        heard = len(system.speaker.frames) - heard_before
        state["max_error"] = max(state["max_error"], abs(play // block_align - heard))
        if progress:
            progress(min(heard, total_frames), total_frames)


async def set_output_volume(system, volume_db=None, mute=False):
    """Set the headphone output's volume (dB) and mute through the topology filter, as a
    mixer application does; returns the amplifier setting the codec then has."""
    mixer = MixerClient(system.topology)
    hp = mixer.pin_named("headphones")
    level = 0
    if volume_db is not None:
        level = await mixer.set(AudioProperty.VOLUMELEVEL,
                                int(round(volume_db * VOLUME_UNITS_PER_DB)),
                                node=mixer.node_before_pin(NodeType.VOLUME, hp))
    if mute:
        await mixer.set(AudioProperty.MUTE, True, node=mixer.node_before_pin(NodeType.MUTE, hp))
    step = int(GAIN_STEP_DB * VOLUME_UNITS_PER_DB)
    return amp_setting(AMP_0DB + level // step, mute)


async def play_through_stack(system, pcm, channels, bits, rate, *, buffer_ms=10,
                             progress=None, volume_db=None, mute=False, packet_mode=False):
    """Play interleaved PCM through the wave render pin; return the DAC frames and a
    :class:`harness.job.PlayResult`.

    With ``volume_db``/``mute`` the headphone amp is set first and the expected output is
    the input through the codec's gain model (bit for bit); ``clipped_samples`` counts the
    samples that model saturated. ``packet_mode`` streams in WaveRT packets (two per
    buffer); ``write_latency_frames`` says how long audio waited between the port handing it
    to the hardware and the DAC."""
    setting = await set_output_volume(system, volume_db, mute)
    fmt = wave_format(channels, bits, rate)
    total = len(pcm) // fmt.block_align
    wall0, sim0 = time.perf_counter(), get_sim_time("ns")
    stream = await system.client.open(WAVE_FILTER, PIN_RENDER, fmt,
                                      **_buffer_options(system, fmt, buffer_ms, packet_mode))
    pin = stream.pin
    if hasattr(pin, "write_log"):
        pin.write_log = []
    stream.write(pcm[:total * fmt.block_align])
    stream.end_of_stream()
    state = {"max_error": 0}
    heard_before = len(system.speaker.frames)
    await stream.set_state(KSSTATE.RUN)
    sampler = system.scheduler.spawn(
        _sample_positions(system, stream, fmt.block_align, state, progress, total,
                          heard_before))
    await stream.wait_drained()
    await Timer(int(4 * FRAME_NS * 48000 / rate), "ns")   # the last frames cross the link
    sampler.cancel()
    latency = write_latency_frames(system, pin, heard_before, total, rate)
    xrun = await pin.stream.xrun()
    await stream.close()
    await Timer(int(LINK_SETTLE_FRAMES * FRAME_NS), "ns")
    sim_ns = get_sim_time("ns") - sim0
    frames = system.speaker.frames[heard_before:heard_before + total]
    want = expected_dac_frames(pcm[:total * fmt.block_align], channels, bits)
    clipped = 0
    if setting != amp_setting(AMP_0DB):
        clipped = sum(scaled_sample(v, setting) != apply_gain(v, setting)
                      for frame in want for v in frame[:channels])
        want = [(apply_gain(left, setting), apply_gain(right, setting)) for left, right in want]
    return frames, PlayResult(
        frames_in=total, frames_out=len(frames), bit_exact=frames == want,
        mismatched_frames=sum(1 for a, b in zip(frames, want) if a != b)
        + abs(len(frames) - len(want)),
        underruns=pin.glitches + xrun, glitches=pin.glitches, hardware_xruns=xrun,
        interrupts=system.adapter.interrupt_sync.interrupts,
        notifications=pin.notifications_seen, max_position_error_frames=state["max_error"],
        sim_time_ns=int(sim_ns), wall_s=time.perf_counter() - wall0,
        cycles=_cycles(sim_ns, system), volume_db=gain_db(setting & 0x7F), mute=bool(mute),
        clipped_samples=clipped, packet_mode=bool(packet_mode),
        packets=getattr(pin, "packets_transferred", 0), write_latency_frames=latency)


async def record_through_stack(system, source, frames_wanted, channels, bits, rate, *,
                               buffer_ms=10, progress=None, packet_mode=False):
    """Feed ``source`` (signed 24-bit frames) to the microphone and record ``frames_wanted``
    frames through the wave capture pin (``packet_mode``: in WaveRT packets, GetReadPacket);
    return the captured PCM and a :class:`harness.job.RecordResult`."""
    fmt = wave_format(channels, bits, rate)
    wall0, sim0 = time.perf_counter(), get_sim_time("ns")
    system.mic.feed(source)
    stream = await system.client.open(WAVE_FILTER, PIN_CAPTURE, fmt,
                                      **_buffer_options(system, fmt, buffer_ms, packet_mode))
    stream.queue_reads()
    await stream.set_state(KSSTATE.RUN)
    want_bytes = frames_wanted * fmt.block_align
    data = bytearray()
    while len(data) < want_bytes:
        data += await stream.read(want_bytes - len(data))
        if progress:
            progress(len(data) // fmt.block_align, frames_wanted)
    pin = stream.pin
    xrun = await pin.stream.xrun()
    await stream.close()
    await Timer(int(LINK_SETTLE_FRAMES * FRAME_NS), "ns")
    sim_ns = get_sim_time("ns") - sim0
    # the ADC starts when the stream runs: find where the captured audio begins in what the
    # microphone delivered, then compare all of it
    sampled = frames_to_pcm(system.mic.sampled, channels, bits)
    lead_in = _find_alignment(sampled, bytes(data), fmt.block_align)
    return bytes(data), RecordResult(
        frames_in=len(system.mic.sampled), frames_out=len(data) // fmt.block_align,
        bit_exact=lead_in is not None, lead_in_frames=lead_in,
        underruns=pin.glitches + xrun, glitches=pin.glitches, hardware_xruns=xrun,
        interrupts=system.adapter.interrupt_sync.interrupts,
        notifications=pin.notifications_seen, sim_time_ns=int(sim_ns),
        wall_s=time.perf_counter() - wall0, cycles=_cycles(sim_ns, system),
        packet_mode=bool(packet_mode), packets=getattr(pin, "packets_transferred", 0))


def _find_alignment(sampled, captured, align):
    """The frame index in ``sampled`` from which ``captured`` follows exactly, or None."""
    start = 0
    probe = captured[:64 * align]
    while True:
        i = sampled.find(probe, start)
        if i < 0:
            return None
        if i % align == 0 and sampled[i:i + len(captured)] == captured:
            return i // align
        start = i + 1
