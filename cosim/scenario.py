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
from miniports.adapter import MIDI_FILTER, WAVE_FILTER
from miniports.hda import BDL_ENTRY_BYTES, POSITION_SLOT_BYTES
from miniports.midi import MIDI_PIN_RENDER
from miniports.wavestream import PIN_CAPTURE, PIN_RENDER
from portdrv.client import MixerClient
from portdrv.filter import NodeType
from portdrv.ksstate import KSSTATE
from portdrv.power import DevicePowerState
from portdrv.properties import VOLUME_UNITS_PER_DB, AudioProperty
from portdrv.status import StatusError

from .midi_play import send_when_due
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
#: how long MIDI bytes may take after the last message is due, and how often to look
MIDI_DRAIN_NS, MIDI_POLL_NS = 20_000_000, 500_000
#: how long an injected bus error waits for the engine's next access, and how often it looks
BUS_ERROR_WAIT_US, BUS_ERROR_POLL_US = 12_000, 100


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
    elif kind == "bus_error":
        # waits for the engine's next access to the target: the other events go on meanwhile
        system.scheduler.spawn(_bus_error(system, stream.pin.stream, *args, faults=faults,
                                          state=state))
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


def _bus_error_ranges(miniport_stream, target):
    """``(on, [(address, length)])`` of what a stream's engine reads or writes for
    ``target``: its BDL, its data (the BDL's entries) or its slot in the position buffer."""
    if target == "descriptor":
        bdl = miniport_stream.bdl
        return "read", [(bdl.address, BDL_ENTRY_BYTES * bdl.capacity)]
    if target == "position":
        slot = (miniport_stream.controller.position_buffer
                + POSITION_SLOT_BYTES * miniport_stream.engine.n)
        return "write", [(slot, 4)]
    on = "write" if miniport_stream.capture else "read"
    return on, [(a, n) for a, n, _ in miniport_stream.bdl.entries if n]


async def _bus_error(system, miniport_stream, target, response, faults, state):
    """The next access of the stream's engine to ``target`` answers ``response`` (SLVERR
    or DECERR), once; given up after :data:`BUS_ERROR_WAIT_US` if none came."""
    if miniport_stream.bdl is None:
        return
    on, ranges = _bus_error_ranges(miniport_stream, target)
    injection = system.mem.inject_errors(ranges, on, response=response, times=1)
    for _ in range(BUS_ERROR_WAIT_US // BUS_ERROR_POLL_US):
        await Timer(BUS_ERROR_POLL_US, "us")
        if injection.hits:
            break
    for handle in injection.faults:
        system.mem.remove_error(handle)
    if injection.hits:
        faults.add(f"bus_error_{target}", injection.hits)
        state["bus_errors"] += injection.hits
        system.scheduler.tracer.event("harness", "BUS_FAULT", f"{response.upper()} on the "
                                      f"{target} ({on}), polled every {BUS_ERROR_POLL_US} us")


async def _disturb(system, stream, events, faults, state, t0_ns):
    for event in events:
        wait_ns = t0_ns + event[0] * 1000 - get_sim_time("ns")
        if wait_ns > 0:
            await Timer(int(wait_ns), "ns")
        await _apply(system, stream, event, faults, state)


async def _check_bus_errors(miniport_stream, result, state):
    """Every injected bus error was seen (DESE) by the driver (that it recovered shows in
    the audio: the stream went on to its end). An error just before the end may still wait
    for its interrupt (an ISR latency spike): allowed :data:`BUS_ERROR_WAIT_US` for it."""
    for _ in range(BUS_ERROR_WAIT_US // BUS_ERROR_POLL_US):
        if miniport_stream.descriptor_errors >= state["bus_errors"]:
            break
        await Timer(BUS_ERROR_POLL_US, "us")
    result.bus_errors = miniport_stream.descriptor_errors
    if state["bus_errors"] and miniport_stream.descriptor_errors < state["bus_errors"]:
        result.violations.append(f"{state['bus_errors']} bus errors injected, "
                                 f"{miniport_stream.descriptor_errors} reported (DESE)")


def _time_gaps(state):
    """Whether the stream stood still for a while in ways the stack does not count in frames
    (a pause, D3, a restart after a bus error, a WavePci ring that ran dry: queue mode
    stops the engine, not an underrun): silence at the DAC, frames the capture never saw."""
    return (state["paused"] or state["powered_down"] or state["bus_errors"] > 0
            or state["ring_ran_dry"])


def _collect_counts(pin, result, state):
    """What the port and the miniport counted, read before the stream closes."""
    result.glitches = pin.glitches
    result.glitch_bytes = getattr(pin, "glitch_bytes", 0)
    # a pin without glitch bytes keeps no cyclic buffer: WavePci, whose glitches are times
    # the ring ran dry
    state["ring_ran_dry"] = not hasattr(pin, "glitch_bytes") and pin.glitches > 0


def _ranges(numbers, at_most=4):
    """``"3-7, 12"``: sorted frame numbers as runs (the first ``at_most`` of them)."""
    runs = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:at_most])
    return text + (", ..." if len(runs) > at_most else "")


def _account_render(heard, total, channels, result, state, block_align):
    """Every client frame reached the DAC once, in order; what played in between (silence,
    a repeated frame, stale audio of the previous lap) is what the stack reported: glitch
    bytes and hardware underrun frames, frame for frame (unless the stream also stood still
    for a pause, D3 or a bus error, which the stack does not count in frames)."""
    numbers = [identify(f, channels) for f in heard]
    foreign = sum(1 for n in numbers if n is None)
    first = numbers.index(1) if 1 in numbers else 0
    last = len(numbers) - 1 - numbers[::-1].index(total) if total in numbers else len(numbers)
    seen, held, stale, newest = set(), 0, 0, 0
    previous = None
    for n in numbers[first:last + 1]:
        if not n:
            previous = n
            continue
        if n == previous:
            held += 1                  # the hardware repeated the last frame (underrun)
        elif n <= newest:
            stale += 1                 # an older frame again: the previous lap's audio
        newest = max(newest, n)
        seen.add(n)
        previous = n
    silent = sum(1 for n in numbers[first:last] if n == 0)
    result.frames_out = len(seen & set(range(1, total + 1)))
    result.silent_frames, result.held_frames = silent, held
    cancelled = state["cancelled"]
    result.cancelled_frames = len(cancelled)
    lost = set(range(1, total + 1)) - seen - cancelled
    if lost:
        result.unaccounted_frames += len(lost)
        result.violations.append(f"render: {len(lost)} client frames never reached the DAC "
                                 f"({_ranges(lost)})")
    # a cancelled packet may have started to play (WavePci revokes the rest): a head of it
    played = sorted(seen & cancelled)
    if played and played != list(range(min(cancelled), min(cancelled) + len(played))):
        result.unaccounted_frames += len(played)
        result.violations.append(f"render: frames of the cancelled packet played out of "
                                 f"order ({_ranges(played)})")
    if foreign:
        result.unaccounted_frames += foreign
        result.violations.append(f"render: {foreign} DAC frames are neither silence nor "
                                 f"client audio")
    reported = result.glitch_bytes // block_align + result.hardware_xruns
    observed = silent + stale + held
    if _time_gaps(state):
        if stale + held > reported:
            result.unaccounted_frames += stale + held - reported
            result.violations.append(f"render: {stale} stale and {held} repeated frames, "
                                     f"{reported} glitch and underrun frames reported")
    elif observed != reported:
        result.unaccounted_frames += abs(observed - reported)
        result.violations.append(f"render: a gap of {silent} silent, {stale} stale and "
                                 f"{held} repeated frames; {reported} glitch and underrun "
                                 f"frames reported")


def _account_capture(captured, channels, result, state, block_align):
    """The client read a run of consecutive microphone frames; frames skipped are what the
    stack reported dropped (glitch bytes, hardware overrun frames), frame for frame (unless
    the stream also stood still: see :func:`_time_gaps`)."""
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
    reported = result.glitch_bytes // block_align + result.hardware_xruns
    if skipped != reported and not _time_gaps(state):
        result.unaccounted_frames += abs(skipped - reported)
        result.violations.append(f"capture: {skipped} microphone frames skipped, {reported} "
                                 f"reported dropped (glitch and overrun frames)")


async def _cancel(stream, packet, after_us, frames, faults, state):
    """The client cancels ``packet`` (frames ``frames``) ``after_us`` after writing it; if
    the port has started on it, the cancel is refused (NOT_FOUND) and it plays."""
    if after_us:
        await Timer(after_us, "us")
    try:
        await stream.cancel(packet)
    except StatusError:
        return
    faults.add("cancel")
    state["cancelled"].update(frames)


async def _close_and_count(stream, disturb, result, state):
    """The stream's end: no more events, what the port and the miniport counted read, the
    stream closed and the link settled."""
    disturb.cancel()
    pin = stream.pin
    _collect_counts(pin, result, state)
    result.hardware_xruns = await pin.stream.xrun()
    await _check_bus_errors(pin.stream, result, state)
    await stream.close()
    await Timer(int(LINK_SETTLE_FRAMES * FRAME_NS), "ns")


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
    cancel = spec.get("cancel")
    for index, offset in enumerate(range(chunk, len(pcm), chunk), start=1):
        await Timer(spec["chunk_gap_us"], "us")
        packet = stream.write(pcm[offset:offset + chunk])
        if cancel and index == cancel[0]:
            first_frame = offset // fmt.block_align + 1
            frames = range(first_frame, first_frame + packet.size // fmt.block_align)
            system.scheduler.spawn(_cancel(stream, packet, cancel[1], frames, faults, state))
    if chunk < len(pcm):
        stream.end_of_stream()
    await stream.wait_drained()
    await Timer(int(4 * FRAME_NS * 48000 / spec["rate"]), "ns")
    await _close_and_count(stream, disturb, result, state)
    result.frames_in = total
    heard = system.speaker.frames[heard_before:]
    _account_render(heard, total, channels, result, state, fmt.block_align)


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
    await _close_and_count(stream, disturb, result, state)
    result.frames_in = total
    _account_capture(expected_dac_frames(bytes(data), channels, bits), channels, result, state,
                     fmt.block_align)


def _check_no_write_while_off(system, result):
    """A driver never writes to the device while it has no power (D3): the write is lost.
    (Reads happen: an ISR asks whether an interrupt is its own, and reads all ones.)"""
    lost = system.regs.bus.writes_while_off
    if lost:
        result.violations.append(f"the drivers wrote to the registers {lost} times while the "
                                 f"device was in D3")


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


async def _start_midi(system, spec, faults):
    """MIDI traffic alongside the audio: ``(stream, messages)``, or None."""
    if not spec.get("midi"):
        return None
    messages = [(t, bytes.fromhex(h)) for t, h in spec["midi"]]
    system.midi_device                 # the receiver listens from now on
    stream = await system.midi_client.open(MIDI_FILTER, MIDI_PIN_RENDER)
    await stream.set_state(KSSTATE.RUN)
    system.scheduler.spawn(send_when_due(stream, messages, get_sim_time("ns")))
    faults.add("midi_messages", len(messages))
    return stream, messages


async def _check_midi(system, midi, result):
    """Every MIDI byte went out on the wire, once, in order, with no framing error."""
    stream, messages = midi
    sent = b"".join(data for _, data in messages)
    device = system.midi_device
    deadline = get_sim_time("ns") + MIDI_DRAIN_NS + messages[-1][0] * 1000
    while len(device.received) < len(sent) and get_sim_time("ns") < deadline:
        await Timer(MIDI_POLL_NS, "ns")
    await stream.close()
    received = bytes(b.value for b in device.received)
    if received != sent or device.framing_errors:
        result.violations.append(f"midi: {len(received)} of {len(sent)} bytes arrived"
                                 + ("" if sent.startswith(received) else ", not as sent")
                                 + (f", {len(device.framing_errors)} framing errors"
                                    if device.framing_errors else ""))


async def run_scenario(system, spec):
    """Run ``spec`` on a started :class:`cosim.system.AudioSystem`; return the result."""
    wall0, sim0 = time.perf_counter(), get_sim_time("ns")
    faults, result = Faults(), ScenarioResult()
    state = {"paused": False, "powered_down": False, "bus_errors": 0, "ring_ran_dry": False,
             "cancelled": set()}
    _back_pressure(system, spec, faults)
    try:
        midi = await _start_midi(system, spec, faults)
        if spec["direction"] == "render":
            await _render(system, spec, faults, result, state)
        else:
            await _capture(system, spec, faults, result, state)
        if midi:
            await _check_midi(system, midi, result)
        _check_no_write_while_off(system, result)
        system.mem.clear_errors()          # a bus error still waiting for its access
        await _still_usable(system, result)
    except Exception as exc:            # noqa: BLE001 - a driver's exception is a finding
        result.violations.append(f"exception: {type(exc).__name__}: {exc}")
    result.faults = faults.counts
    result.sim_time_ns = int(get_sim_time("ns") - sim0)
    result.wall_s = time.perf_counter() - wall0
    return result
