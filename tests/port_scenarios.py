"""Port-level scenarios every wave miniport must pass under its port, whoever wrote it.

Each scenario is a coroutine taking a *rig*: the same checks run against the virtual
miniports written from the documentation (``tests/test_port_scenarios.py``, pure Python) and
against ours on the simulated device (``tests/port_scenarios_tests.py``, cocotb). A rig has:

- ``client`` (an :class:`~portdrv.client.AudioClient` with the wave filter ``filter_name``),
  ``scheduler``, ``kind`` ("wavert", "wavecyclic", "wavepci"), ``fmt`` (a format both sides
  run), ``open_options`` (extra options for the port, e.g. a WaveRT buffer size);
- ``set_format_status``: what its miniport answers a format change on a stopped pin;
- ``audio(nbytes)``: random whole frames; ``scaled(n)``: ``n`` frames scaled for slow simulators;
- ``played(cs, pcm) -> bool``: whether ``pcm`` reached the device's output from pin ``cs``,
  whole and contiguous;
- ``feed_capture(nbytes) -> bytes``: arrange what the device will capture from the next RUN
  on and return what the client must read.

:data:`SCENARIOS` lists them by name.
"""

from __future__ import annotations

from portdrv.formats import AudioDataRange
from portdrv.ksstate import KSSTATE
from portdrv.status import NTSTATUS

__all__ = ["SCENARIOS", "PIN_RENDER", "PIN_CAPTURE", "record_steps", "write_packets"]

PIN_RENDER, PIN_CAPTURE = 0, 1
MS = 10_000


async def open_pin(rig, pin_id, **extra):
    return await rig.client.open(rig.filter_name, pin_id, rig.fmt,
                                 **{**rig.open_options, **extra})


def record_steps(cs):
    """The list every KSSTATE the port passes to ``cs``'s miniport stream is appended to."""
    steps = []
    inner = cs.pin.stream.set_state

    async def set_state(state):
        steps.append(KSSTATE(state))
        return await inner(state)
    cs.pin.stream.set_state = set_state
    return steps


def write_packets(cs, pcm, packet_bytes):
    """Queue ``pcm`` in packets of ``packet_bytes``; the packets."""
    return [cs.write(pcm[i:i + packet_bytes]) for i in range(0, len(pcm), packet_bytes)]


async def open_with_a_format(rig):
    """The intersection answers a format the pin opens with; the pin starts in STOP with it;
    a format change on the stopped pin gets the miniport's answer and the pin still plays."""
    fmt = rig.fmt
    flt = rig.client.registry.filter(rig.filter_name)
    client_range = AudioDataRange(fmt.channels, fmt.valid_bits, fmt.valid_bits,
                                  fmt.samples_per_sec, fmt.samples_per_sec)
    status, chosen, _size = flt.data_intersection(PIN_RENDER, client_range, 200)
    assert status == NTSTATUS.SUCCESS and chosen == fmt, (status, chosen)
    cs = await open_pin(rig, PIN_RENDER)
    assert cs.format == fmt and cs.state == KSSTATE.STOP
    assert await cs.pin.set_data_format(fmt) == rig.set_format_status
    assert cs.format == fmt
    pcm = rig.audio(rig.scaled(400) * fmt.block_align)
    cs.write(pcm)
    cs.end_of_stream()
    await cs.set_state(KSSTATE.RUN)
    await cs.wait_drained()
    await rig.settle()
    assert rig.played(cs, pcm)
    await cs.close()


async def state_walk(rig):
    """Client jumps reach the miniport one KSSTATE step at a time, both ways; STOP resets the
    position."""
    cs = await open_pin(rig, PIN_RENDER)
    steps = record_steps(cs)
    cs.write(rig.audio(rig.scaled(2000) * rig.fmt.block_align))
    await cs.set_state(KSSTATE.RUN)
    assert steps == [KSSTATE.ACQUIRE, KSSTATE.PAUSE, KSSTATE.RUN]
    await rig.scheduler.sleep_100ns(2 * MS)
    steps.clear()
    await cs.set_state(KSSTATE.STOP)
    assert steps == [KSSTATE.PAUSE, KSSTATE.ACQUIRE, KSSTATE.STOP]
    play, _write = await cs.get_position()
    assert play == 0
    await cs.close()


async def render_positions_and_end_of_stream(rig):
    """Positions are monotonic while the stream plays, the write position never behind the
    play position; the end of stream drains; everything written played, bit for bit."""
    cs = await open_pin(rig, PIN_RENDER)
    pcm = rig.audio(rig.scaled(3000) * rig.fmt.block_align)
    write_packets(cs, pcm, rig.scaled(480) * rig.fmt.block_align)
    cs.end_of_stream()
    await cs.set_state(KSSTATE.RUN)
    last = 0
    while True:
        play, write = await cs.get_position()
        assert play >= last and write >= play, (last, play, write)
        last = play
        if cs.pin.played_all if hasattr(cs.pin, "played_all") else cs.pin.drained:
            break
        await rig.scheduler.sleep_100ns(2 * MS)
    await cs.wait_drained()
    assert (await cs.get_position())[0] >= len(pcm)
    await rig.settle()
    assert rig.played(cs, pcm)
    assert cs.pin.glitches == 0
    await cs.close()


async def notifications(rig):
    """WaveRT: the miniport signals the notification event at each of the buffer's points
    (2 per buffer), and each wakes the port's engine; other ports: the pin keeps up with no
    glitch whether the miniport interrupts or the port's timer services it."""
    cs = await open_pin(rig, PIN_RENDER)
    pcm = rig.audio(rig.scaled(2400) * rig.fmt.block_align)
    cs.write(pcm)
    cs.end_of_stream()
    await cs.set_state(KSSTATE.RUN)
    await cs.wait_drained()
    if rig.kind == "wavert":
        laps = len(pcm) // cs.pin.buffer_size
        assert cs.pin.notifications_seen >= 2 * laps - 1, (cs.pin.notifications_seen, laps)
    assert cs.pin.glitches == 0
    await cs.close()


async def capture_bit_exact(rig):
    """Capture: what the device records comes back from read(), bit for bit, in order."""
    want = rig.feed_capture(rig.scaled(2000) * rig.fmt.block_align)
    cs = await open_pin(rig, PIN_CAPTURE)
    await cs.set_state(KSSTATE.RUN)
    got = b""
    while len(got) < len(want):
        got += await cs.read(len(want) - len(got))
    await cs.close()
    assert got == want


async def mappings(rig):
    """WavePci: mappings never cross a page or a packet, flag a packet's last one, and come
    back released in order; packets at odd page offsets play bit for bit. Other ports: the
    same packets through the cyclic buffer."""
    cs = await open_pin(rig, PIN_RENDER)
    pin = cs.pin
    pcm = rig.audio(rig.scaled(1500) * rig.fmt.block_align)
    handed, released = [], []
    if rig.kind == "wavepci":
        get, release = pin.port_stream.get_mapping, pin.port_stream.release_mapping

        def spy_get(tag):
            answer = get(tag)
            if answer[0] == NTSTATUS.SUCCESS:
                handed.append((tag, pin._mappings[tag]))
            return answer

        def spy_release(tag):
            status = release(tag)
            if status == NTSTATUS.SUCCESS:
                released.append(tag)
            return status
        pin.port_stream.get_mapping, pin.port_stream.release_mapping = spy_get, spy_release
    align = rig.fmt.block_align
    sizes, offsets, pos, i = [1, 1025, 3, 700], [4094, 0, 4092, 1000], 0, 0
    while pos < len(pcm):
        n = min(sizes[i % 4] * align, len(pcm) - pos)
        if rig.kind == "wavepci":
            pin.write(pcm[pos:pos + n], page_offset=offsets[i % 4])
        else:
            cs.write(pcm[pos:pos + n])
        pos, i = pos + n, i + 1
    cs.end_of_stream()
    await cs.set_state(KSSTATE.RUN)
    await cs.wait_drained()
    await rig.settle()
    assert rig.played(cs, pcm)
    if rig.kind == "wavepci":
        for _tag, m in handed:
            assert m.physical_address // 4096 == (m.physical_address + m.length - 1) // 4096
            assert m.offset + m.length <= m.packet.size
            assert (m.flags == 1) == (m.offset + m.length == m.packet.limit)
        assert released == [tag for tag, _ in handed]
    await cs.close()


async def cancel_and_revoke(rig):
    """A cancelled packet completes CANCELLED (WavePci: its mappings out are revoked first)
    and the packets around it still play; the last one bit for bit."""
    cs = await open_pin(rig, PIN_RENDER)
    block = rig.scaled(480) * rig.fmt.block_align
    pcms = [rig.audio(block) for _ in range(6)]
    packets = [cs.write(p) for p in pcms]
    cs.end_of_stream()
    if rig.kind == "wavepci":           # in flight: mapped to the miniport
        victim = packets[1]
        await cs.set_state(KSSTATE.RUN)
        while not any(m.packet is victim for m in cs.pin._mappings.values()):
            await rig.scheduler.sleep_100ns(MS // 4)
        revoked = cs.pin.mappings_revoked
        await cs.cancel(victim)
    else:                               # a cyclic port copies ahead: cancel while queued
        victim = packets[4]
        await cs.cancel(victim)
        await cs.set_state(KSSTATE.RUN)
    assert victim.status == NTSTATUS.CANCELLED
    if rig.kind == "wavepci":
        assert cs.pin.mappings_revoked > revoked
        assert not any(m.packet is victim for m in cs.pin._mappings.values())
    await cs.wait_drained()
    await rig.settle()
    assert all(p.status == NTSTATUS.SUCCESS for p in packets if p is not victim)
    assert rig.played(cs, pcms[-1])
    if rig.kind != "wavepci":           # untouched by the cancel: packets 3 and 5 adjoin
        assert rig.played(cs, pcms[3] + pcms[5])
    await cs.close()


async def stop_and_restart(rig):
    """STOP mid-stream completes every pending packet (some CANCELLED) and resets the
    position; RUN again plays new data from the start, bit for bit."""
    cs = await open_pin(rig, PIN_RENDER)
    block = rig.scaled(480) * rig.fmt.block_align
    # more than a cyclic buffer holds, so some packets are still pending at STOP
    count = max(8, 2 * getattr(cs.pin, "buffer_size", 0) // block + 4)
    packets = [cs.write(rig.audio(block)) for _ in range(count)]
    await cs.set_state(KSSTATE.RUN)
    await rig.scheduler.sleep_100ns(int(1.5 * block * 10_000_000 // rig.fmt.avg_bytes_per_sec))
    await cs.set_state(KSSTATE.STOP)
    assert all(p.completed for p in packets)
    assert any(p.status == NTSTATUS.CANCELLED for p in packets)
    assert (await cs.get_position())[0] == 0
    await rig.settle()
    again = rig.audio(rig.scaled(1200) * rig.fmt.block_align)
    write_packets(cs, again, block)
    cs.end_of_stream()
    await cs.set_state(KSSTATE.RUN)
    await cs.wait_drained()
    await rig.settle()
    assert rig.played(cs, again)
    await cs.close()


SCENARIOS = {f.__name__: f for f in (open_with_a_format, state_walk,
                                     render_positions_and_end_of_stream, notifications,
                                     capture_bit_exact, mappings, cancel_and_revoke,
                                     stop_and_restart)}
