"""One randomized fault scenario through the whole stack, inside a simulation (the simulator
side of ``pcsim campaign``; the host draws the scenario, :mod:`pcsim.campaign`).

A scenario streams identifiable audio (frame ``n`` carries ``n`` in its samples, so every frame
that reaches the DAC, or the client for capture, says which one it is) through one wave
miniport while faults are injected at drawn times: AXI back-pressure, ISR and DPC latency
spikes, a starving client, pause/resume, D0 -> D3 -> D0, jack-sense changes, volume changes on
an input the stream does not use, and writes of random values to an unused stream engine's
registers (a rogue client). Then it checks the invariants:

- every client frame arrived exactly once and in order (render: at the DAC; capture: in the
  client's buffer, a run of consecutive microphone frames);
- a gap (silence inside the stream, or frames the capture skipped) only where the stack
  reported a glitch or a hardware underrun/overrun, or the client paused or the device was
  powered down; no frame that is neither silence nor ours;
- no exception escaped a driver; and afterwards the device is still usable: a fresh short
  stream plays bit-exact.
The simulated-time bound (a hang) is the caller's (:mod:`cosim.jobs`)."""

from __future__ import annotations

import random
import time

from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from harness.backpressure import AXI_CHANNELS
from harness.frames import expected_dac_frames, frames_to_pcm
from harness.job import ScenarioResult
from miniports.adapter import WAVE_FILTER
from miniports.wavestream import PIN_CAPTURE, PIN_RENDER
from portdrv.client import MixerClient
from portdrv.filter import NodeType
from portdrv.ksstate import KSSTATE
from portdrv.power import DevicePowerState
from portdrv.properties import VOLUME_UNITS_PER_DB, AudioProperty

from .soc_env import FRAME_NS
from .stack_audio import LINK_SETTLE_FRAMES, play_through_stack, wave_format

__all__ = ["run_scenario", "frame_of", "identify"]

#: a 24-bit DAC/ADC value carries the frame number shifted past the 16-bit formats' lost byte
ID_SHIFT = 8
#: frames played after the scenario to show the device still works
REUSE_FRAMES = 96
#: 100-ns units per microsecond
HNS_PER_US = 10
#: the topology's name prefix of the render converter no scenario stream uses (SD2 -> DAC B)
UNUSED_DAC = "dac 0x03"


def frame_of(n, channels):
    """The DAC/ADC frame that carries frame number ``n`` (>= 1)."""
    value = n << ID_SHIFT
    return (value, -value if channels == 2 else value)


def identify(frame, channels):
    """The frame number a DAC/ADC frame carries, 0 for silence, None for anything else."""
    if frame == (0, 0):
        return 0
    n = frame[0] >> ID_SHIFT
    return n if n > 0 and frame == frame_of(n, channels) else None


class Faults:
    """Counts what was injected, by kind."""

    def __init__(self):
        self.counts = {}

    def add(self, kind, n=1):
        self.counts[kind] = self.counts.get(kind, 0) + n


def _pause_pattern(probability, seed):
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


def _back_pressure(system, spec, faults):
    for channel, probability in spec["backpressure"].items():
        if channel in AXI_CHANNELS and probability > 0:
            seed = spec["memory_seed"] * len(AXI_CHANNELS) + AXI_CHANNELS.index(channel)
            system.mem.set_pause(channel, lambda p=probability, s=seed: _pause_pattern(p, s))
            faults.add("backpressure")


async def _spike(holder, attribute, latency_100ns, duration_us):
    setattr(holder, attribute, latency_100ns)
    await Timer(duration_us, "us")
    setattr(holder, attribute, 0)


async def _apply(system, stream, event, faults, state):
    """One drawn event: ``[time_us, kind, *arguments]``."""
    _, kind, *args = event
    if kind == "isr_spike":
        faults.add(kind)
        await _spike(system.adapter.interrupt_sync, "isr_latency_100ns",
                     args[0] * HNS_PER_US, args[1])
    elif kind == "dpc_spike":
        group = system.adapter.wave_miniport.service_group
        if group is not None:
            faults.add(kind)
            await _spike(group, "dpc_latency_100ns", args[0] * HNS_PER_US, args[1])
    elif kind in ("pause", "power_cycle"):
        faults.add(kind)
        change, away, back, flag = ((stream.set_state, KSSTATE.PAUSE, KSSTATE.RUN, "paused")
                                    if kind == "pause" else
                                    (system.set_power_state, DevicePowerState.D3,
                                     DevicePowerState.D0, "powered_down"))
        state[flag] = True
        await change(away)
        await Timer(args[0], "us")
        await change(back)
    elif kind == "jack":
        faults.add(kind)
        system.dut.jack_sense.value = args[0]
    elif kind == "rogue_write":
        faults.add(kind)
        await system.regs.write(args[0], args[1])
    elif kind == "volume":
        # DAC B's volume: the second render converter, silent in these scenarios, so the
        # change goes through the whole mixer path without changing what the DAC shows
        mixer = MixerClient(system.topology)
        nodes = mixer.descriptor.nodes
        node = next(i for i, n in enumerate(nodes)
                    if n.type == NodeType.VOLUME and n.name.startswith(UNUSED_DAC))
        faults.add(kind)
        await mixer.set(AudioProperty.VOLUMELEVEL, int(args[0] * VOLUME_UNITS_PER_DB),
                        node=node)


async def _disturb(system, stream, events, faults, state, t0_ns):
    for event in events:
        wait_ns = t0_ns + event[0] * 1000 - get_sim_time("ns")
        if wait_ns > 0:
            await Timer(int(wait_ns), "ns")
        await _apply(system, stream, event, faults, state)


def _gaps_reported(result, state):
    return (result.glitches + result.hardware_xruns > 0 or state["paused"]
            or state["powered_down"])


def _account_render(heard, total, channels, result, state):
    numbers = [identify(f, channels) for f in heard]
    foreign = sum(1 for n in numbers if n is None)
    ours = [n for n in numbers if n]
    sequence, held = [], 0
    for n in ours:
        if sequence and n == sequence[-1]:
            held += 1                      # the hardware repeated the last frame (underrun)
        else:
            sequence.append(n)
    first = numbers.index(1) if 1 in numbers else 0
    last = len(numbers) - 1 - numbers[::-1].index(total) if total in numbers else len(numbers)
    silent = sum(1 for n in numbers[first:last] if n == 0)
    result.frames_out, result.silent_frames, result.held_frames = len(sequence), silent, held
    expected = list(range(1, total + 1))
    if sequence != expected:
        missing = len(set(expected) - set(sequence))
        out_of_place = sum(1 for a, b in zip(sequence, sequence[1:]) if b != a + 1)
        result.unaccounted_frames += missing + out_of_place
        result.violations.append(f"render: {missing} client frames never reached the DAC, "
                                 f"{out_of_place} out of order or repeated")
    if foreign:
        result.unaccounted_frames += foreign
        result.violations.append(f"render: {foreign} DAC frames are neither silence nor "
                                 f"client audio")
    if (silent or held) and not _gaps_reported(result, state):
        result.violations.append(f"render: a gap of {silent} silent and {held} repeated frames "
                                 f"with no glitch or underrun reported")
    if held > result.hardware_xruns and not state["powered_down"]:
        result.violations.append(f"render: {held} repeated frames but "
                                 f"{result.hardware_xruns} underrun frames reported")


def _account_capture(captured, channels, result, state):
    numbers = [identify(f, channels) for f in captured]
    foreign = sum(1 for n in numbers if n is None)
    ours = [n for n in numbers if n]
    result.frames_out = len(ours)
    skipped = sum(b - a - 1 for a, b in zip(ours, ours[1:]) if b > a + 1)
    backwards = sum(1 for a, b in zip(ours, ours[1:]) if b <= a)
    if backwards:
        result.unaccounted_frames += backwards
        result.violations.append(f"capture: {backwards} frames repeated or out of order")
    if foreign:
        result.unaccounted_frames += foreign
        result.violations.append(f"capture: {foreign} frames are neither silence nor the "
                                 f"microphone's")
    if skipped and not _gaps_reported(result, state):
        result.unaccounted_frames += skipped
        result.violations.append(f"capture: {skipped} microphone frames skipped with no "
                                 f"overrun reported")


async def _render(system, spec, faults, result, state):
    channels, bits = spec["channels"], spec["bits"]
    fmt = wave_format(channels, bits, spec["rate"])
    total = spec["frames"]
    pcm = frames_to_pcm([frame_of(n, channels) for n in range(1, total + 1)], channels, bits)
    options = ({"buffer_bytes": fmt.avg_bytes_per_sec * spec["buffer_ms"] // 1000}
               if system.adapter.wave_kind == "wavert" else {})
    stream = await system.client.open(WAVE_FILTER, PIN_RENDER, fmt, **options)
    heard_before = len(system.speaker.frames)
    chunk = (spec["chunk_frames"] or total) * fmt.block_align
    first = stream.write(pcm[:chunk])
    if spec["sabotage"] == "drop_buffer":      # a stack that loses a buffer, on purpose
        first.buffer.write(0, bytes(min(chunk, len(pcm)) // 2))
    if chunk >= len(pcm):
        stream.end_of_stream()
    else:
        faults.add("starvation")
    await stream.set_state(KSSTATE.RUN)
    t0 = get_sim_time("ns")
    disturb = system.scheduler.spawn(_disturb(system, stream, spec["events"], faults, state, t0))
    for offset in range(chunk, len(pcm), chunk):
        await Timer(spec["chunk_gap_us"], "us")
        stream.write(pcm[offset:offset + chunk])
    if chunk < len(pcm):
        stream.end_of_stream()
    await stream.wait_drained()
    await Timer(int(4 * FRAME_NS * 48000 / spec["rate"]), "ns")
    disturb.cancel()
    pin = stream.pin
    result.glitches = pin.glitches
    result.hardware_xruns = await pin.stream.xrun()
    await stream.close()
    await Timer(int(LINK_SETTLE_FRAMES * FRAME_NS), "ns")
    result.frames_in = total
    heard = system.speaker.frames[heard_before:]
    _account_render(heard, total, channels, result, state)


async def _capture(system, spec, faults, result, state):
    channels, bits = spec["channels"], spec["bits"]
    fmt = wave_format(channels, bits, spec["rate"])
    total = spec["frames"]
    system.mic.feed([frame_of(n, channels) for n in range(1, 4 * total + 1)])
    options = ({"buffer_bytes": fmt.avg_bytes_per_sec * spec["buffer_ms"] // 1000}
               if system.adapter.wave_kind == "wavert" else {})
    stream = await system.client.open(WAVE_FILTER, PIN_CAPTURE, fmt, **options)
    stream.queue_reads()
    await stream.set_state(KSSTATE.RUN)
    t0 = get_sim_time("ns")
    disturb = system.scheduler.spawn(_disturb(system, stream, spec["events"], faults, state, t0))
    want = total * fmt.block_align
    data = bytearray()
    while len(data) < want:
        data += await stream.read(want - len(data))
    disturb.cancel()
    pin = stream.pin
    result.glitches = pin.glitches
    result.hardware_xruns = await pin.stream.xrun()
    await stream.close()
    await Timer(int(LINK_SETTLE_FRAMES * FRAME_NS), "ns")
    result.frames_in = total
    _account_capture(expected_dac_frames(bytes(data), channels, bits), channels, result, state)


async def _still_usable(system, result):
    """After the scenario: a fresh short stream plays bit-exact (power cycled first, which
    resets the controller, as a driver recovering a wedged device would)."""
    system.mem.set_pause(AXI_CHANNELS, None)
    await system.set_power_state(DevicePowerState.D3)
    await system.set_power_state(DevicePowerState.D0)
    pcm = frames_to_pcm([frame_of(n, 2) for n in range(1, REUSE_FRAMES + 1)], 2, 16)
    _, check = await play_through_stack(system, pcm, 2, 16, 48000)
    if not check.bit_exact:
        result.violations.append(f"afterwards a fresh stream was not bit-exact "
                                 f"({check.mismatched_frames} frames differ)")


async def run_scenario(system, spec):
    """Run ``spec`` on a started :class:`cosim.system.AudioSystem`; return the result."""
    wall0, sim0 = time.perf_counter(), get_sim_time("ns")
    faults, result = Faults(), ScenarioResult()
    state = {"paused": False, "powered_down": False}
    _back_pressure(system, spec, faults)
    try:
        if spec["direction"] == "render":
            await _render(system, spec, faults, result, state)
        else:
            await _capture(system, spec, faults, result, state)
        await _still_usable(system, result)
    except Exception as exc:            # noqa: BLE001 - a driver's exception is a finding
        result.violations.append(f"exception: {type(exc).__name__}: {exc}")
    result.faults = faults.counts
    result.sim_time_ns = int(get_sim_time("ns") - sim0)
    result.wall_s = time.perf_counter() - wall0
    return result
