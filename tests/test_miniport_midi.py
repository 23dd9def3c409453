"""The pure parts of the MIDI/DMus miniports without a simulator: the capture message
assembler (examples and a hypothesis property) and the master clock <-> WALLCLK map.
(The miniports on the hardware: tests/midi_stack_tests.py.)"""

import asyncio
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from miniports.dmus import MidiEventAssembler, WallclockMap
from portdrv.dmus import DMusEventFlags

COMPLETE, INCOMPLETE = DMusEventFlags.COMPLETE, DMusEventFlags.INCOMPLETE


def feed(assembler, data):
    """Feed bytes arriving at times 0, 1, 2, ...; return every event."""
    return [e for t, b in enumerate(data) for e in assembler.feed(t, b)]


def test_running_status_is_restored_and_realtime_comes_out_at_once():
    events = feed(MidiEventAssembler(64), [0x90, 0x3C, 0xF8, 0x64, 0x3E, 0x00, 0xC1, 0x05,
                                            0x06, 0xFE, 0xF2, 0x10, 0x20, 0xF6])
    assert events == [(2, b"\xF8", COMPLETE), (0, b"\x90\x3C\x64", COMPLETE),
                      (4, b"\x90\x3E\x00", COMPLETE), (6, b"\xC1\x05", COMPLETE),
                      (8, b"\xC1\x06", COMPLETE), (9, b"\xFE", COMPLETE),
                      (10, b"\xF2\x10\x20", COMPLETE), (13, b"\xF6", COMPLETE)]


def test_sysex_fragments_at_the_event_size_and_ends_early_on_a_status_byte():
    asm = MidiEventAssembler(4)
    body = [0xF0, 1, 2, 3, 4, 5, 6, 0xF7]            # 8 bytes: exactly two full fragments
    assert feed(asm, body) == [(0, b"\xF0\x01\x02\x03", INCOMPLETE),
                               (4, b"\x04\x05\x06\xF7", COMPLETE)]
    # a full fragment is held until the next byte says whether the SysEx goes on
    asm = MidiEventAssembler(4)
    events = feed(asm, [0xF0, 1, 0xF8, 2, 3, 0x90, 0x40, 0x7F])
    assert events == [(2, b"\xF8", COMPLETE), (0, b"\xF0\x01\x02\x03", COMPLETE),
                      (5, b"\x90\x40\x7F", COMPLETE)]


def test_stray_bytes_are_dropped():
    asm = MidiEventAssembler(64)
    events = feed(asm, [0x45, 0xF7, 0x90, 0x40, 0xB0, 0x07, 0x10])
    assert events == [(4, b"\xB0\x07\x10", COMPLETE)]
    assert asm.dropped == 4      # a data byte with no status, a lone EOX, a cut-short note
    assert feed(asm, [0xF0, 0x01, 0xF7, 0x02]) == [(0, b"\xF0\x01\xF7", COMPLETE)]
    assert asm.dropped == 5      # SysEx cancels running status


CHANNEL_STATUS = st.integers(0x80, 0xEF)
DATA = st.integers(0, 0x7F)


@st.composite
def messages(draw):
    kind = draw(st.sampled_from(["channel", "common", "sysex"]))
    if kind == "channel":
        status = draw(CHANNEL_STATUS)
        count = 1 if status >> 4 in (0xC, 0xD) else 2
        return bytes([status] + draw(st.lists(DATA, min_size=count, max_size=count)))
    if kind == "common":
        status = draw(st.sampled_from([0xF1, 0xF2, 0xF3, 0xF6]))
        count = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0}[status]
        return bytes([status] + draw(st.lists(DATA, min_size=count, max_size=count)))
    return bytes([0xF0] + draw(st.lists(DATA, max_size=40)) + [0xF7])


@settings(max_examples=200, deadline=None)
@given(st.lists(messages(), min_size=1, max_size=12), st.integers(3, 9),
       st.lists(st.tuples(st.integers(0, 200), st.integers(0xF8, 0xFF)), max_size=8))
def test_property_messages_survive_running_status_realtime_and_fragmenting(
        sent, max_data, realtime):
    # the wire: running status wherever it applies, real-time bytes anywhere
    wire, starts, running = [], [], None
    for message in sent:
        starts.append(len(wire))
        if message[0] == running:
            wire += message[1:]
        else:
            wire += message
        running = message[0] if message[0] < 0xF0 else None
    inserted = {}
    for position, byte in realtime:
        position = min(position, len(wire))
        wire.insert(position, byte)
        starts = [s + (s >= position) for s in starts]
        inserted = {p + (p >= position): b for p, b in inserted.items()}
        inserted[position] = byte
    events = feed(MidiEventAssembler(max_data), wire)
    assert [(t, d) for t, d, _ in events if d[0] >= 0xF8] == \
        [(p, bytes([b])) for p, b in sorted(inserted.items())]
    # the rest, fragments joined, are the messages with their status bytes and first times
    rebuilt, times = [], []
    for time, data, flags in (e for e in events if e[1][0] < 0xF8):
        assert len(data) <= max_data
        if rebuilt and rebuilt[-1][1] == INCOMPLETE:
            rebuilt[-1] = (rebuilt[-1][0] + data, flags)
        else:
            rebuilt.append((data, flags))
            times.append(time)
    assert [d for d, _ in rebuilt] == sent
    assert all(f == COMPLETE for _, f in rebuilt)
    assert times == starts


class FakeWallclk:
    def __init__(self, clocks):
        self.clocks = clocks

    async def read_wallclk(self):
        return self.clocks


def test_wallclock_map_rounds_to_the_nearest_clock_and_wraps():
    clock_hz = 12_288_000
    wallclk_map = WallclockMap(clock_hz)
    times = iter([1000, 1003, 1000, 1001, 1000, 1002])   # three pairs; the middle is narrowest
    asyncio.run(wallclk_map.sample(FakeWallclk(0xFFFF_FFF0), lambda: next(times)))
    assert wallclk_map.anchor_time == Fraction(1000 + 1001 + 1, 2)
    assert wallclk_map.window_100ns == 2
    # 1 ms later: 12288 clocks, past the 32-bit wrap
    assert wallclk_map.to_wallclk(1001 + 10_000) == (0xFFFF_FFF0 + 12288) & 0xFFFF_FFFF
    # 100 ns are 1.2288 clocks: rounds to 1; 500 ns are 6.144 -> 6; 0.5 clocks round up
    assert wallclk_map.to_wallclk(1002) == (0xFFFF_FFF0 + 1) & 0xFFFF_FFFF
    assert wallclk_map.to_wallclk(1006) == 0xFFFF_FFF6
    half_clock = wallclk_map.anchor_time + Fraction(10_000_000, 2 * clock_hz)
    assert wallclk_map.to_wallclk(half_clock) == 0xFFFF_FFF1
    assert wallclk_map.clocks_between(0, 10_000_000) == clock_hz
