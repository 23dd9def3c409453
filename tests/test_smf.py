"""pcsim.smf: Standard MIDI Files built byte by byte here, malformed ones, and real files from
other authors in examples/midi (their properties as examples/midi/README.md states them)."""

import struct
from pathlib import Path

import pytest

from pcsim.smf import (DEFAULT_TEMPO_US, SmfMessage, parse_smf, read_smf, wire_bytes)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "midi"
END_OF_TRACK = b"\xff\x2f\x00"


def vlq(n):
    """A variable-length quantity, as SMF writes delta times and lengths."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def chunk(kind, body):
    return kind + struct.pack(">I", len(body)) + body


def track(*events, end=True):
    """An MTrk chunk from (delta ticks, event bytes) pairs, ending with End of Track."""
    body = b"".join(vlq(delta) + event for delta, event in events)
    if end:
        body += b"\x00" + END_OF_TRACK
    return chunk(b"MTrk", body)


def smf(fmt, division, *tracks, ntracks=None):
    count = len(tracks) if ntracks is None else ntracks
    return chunk(b"MThd", struct.pack(">HHH", fmt, count, division)) + b"".join(tracks)


def tempo(us_per_quarter):
    return b"\xff\x51\x03" + us_per_quarter.to_bytes(3, "big")


def sysex(kind, body):
    return bytes([kind]) + vlq(len(body)) + body


def times_and_bytes(midi):
    return [(m.time_us, m.data) for m in midi.messages]


def test_type0_at_the_default_tempo():
    midi = parse_smf(smf(0, 96, track((0, b"\x90\x3c\x64"), (96, b"\x80\x3c\x00"),
                                      (48, b"\xc1\x05"))))
    assert (midi.format, midi.track_count, midi.ticks_per_quarter, midi.smpte) == (0, 1, 96, None)
    # 120 bpm until told otherwise: 96 ticks are half a second
    assert times_and_bytes(midi) == [(0, b"\x90\x3c\x64"), (500_000, b"\x80\x3c\x00"),
                                     (750_000, b"\xc1\x05")]
    assert midi.duration_us == 750_000 and midi.tempo_changes == ()
    assert midi.messages[1] == SmfMessage(500_000, 96, 0, b"\x80\x3c\x00")
    assert midi.messages[1].time_s == 0.5
    assert DEFAULT_TEMPO_US == 500_000


def test_type1_tempo_change_mid_file_in_track0_times_the_notes_in_track1():
    conductor = track((0, tempo(500_000)), (480, tempo(250_000)), (480, tempo(1_000_000)))
    notes = track((0, b"\x90\x40\x7f"), (480, b"\x80\x40\x00"), (240, b"\x90\x43\x7f"),
                  (240, b"\x80\x43\x00"), (480, b"\x90\x48\x7f"))
    midi = parse_smf(smf(1, 480, conductor, notes))
    # ticks 0-480 at 0.5 s per quarter, 480-960 at 0.25 s, then 1 s per quarter
    assert times_and_bytes(midi) == [(0, b"\x90\x40\x7f"), (500_000, b"\x80\x40\x00"),
                                     (625_000, b"\x90\x43\x7f"), (750_000, b"\x80\x43\x00"),
                                     (1_750_000, b"\x90\x48\x7f")]
    assert all(m.track == 1 for m in midi.messages)
    assert [(t.tick, t.time_us, t.us_per_quarter, t.track) for t in midi.tempo_changes] == [
        (0, 0, 500_000, 0), (480, 500_000, 250_000, 0), (960, 750_000, 1_000_000, 0)]
    assert midi.tempo_changes[1].bpm == 240.0
    assert midi.duration_us == 1_750_000


def test_a_tempo_in_any_track_applies_to_all_and_the_last_at_a_tick_wins():
    notes = track((0, b"\x90\x40\x7f"), (200, b"\x80\x40\x00"))
    tempos = track((100, tempo(1_000_000)), (0, tempo(2_000_000)))
    midi = parse_smf(smf(1, 100, notes, tempos))
    # 100 ticks at 0.5 s per quarter, then 100 at 2 s (the second tempo at tick 100 wins)
    assert times_and_bytes(midi) == [(0, b"\x90\x40\x7f"), (2_500_000, b"\x80\x40\x00")]
    assert [t.track for t in midi.tempo_changes] == [1, 1]


def test_equal_times_keep_file_order_track_by_track():
    first = track((0, b"\xb0\x07\x64"), (10, b"\x90\x01\x01"), (0, b"\x90\x02\x01"))
    second = track((0, b"\xc0\x01"), (10, b"\x90\x03\x01"))
    third = track((10, b"\x90\x04\x01"))
    midi = parse_smf(smf(1, 96, first, second, third))
    assert [m.data for m in midi.messages] == [b"\xb0\x07\x64", b"\xc0\x01", b"\x90\x01\x01",
                                               b"\x90\x02\x01", b"\x90\x03\x01",
                                               b"\x90\x04\x01"]


def test_running_status_comes_out_as_complete_messages():
    events = (
        (0, b"\x90\x3c\x40"), (0, b"\x3e\x40"),          # note on, then running status
        (10, b"\x3c\x00"), (0, b"\x3e\x00"),
        (0, b"\xc2\x07"), (5, b"\x08"),                  # one data byte per message
        (0, b"\xe0\x00\x40"), (1, b"\x7f\x7f"),          # pitch bend
    )
    midi = parse_smf(smf(0, 96, track(*events)))
    assert [m.data for m in midi.messages] == [
        b"\x90\x3c\x40", b"\x90\x3e\x40", b"\x90\x3c\x00", b"\x90\x3e\x00",
        b"\xc2\x07", b"\xc2\x08", b"\xe0\x00\x40", b"\xe0\x7f\x7f"]
    assert [m.tick for m in midi.messages] == [0, 0, 10, 10, 10, 15, 15, 16]


def test_sysex_escapes_and_skipped_metas():
    identity = b"\x7e\x7f\x06\x01\xf7"
    events = (
        (0, b"\xff\x03\x05Piano"),                       # track name: skipped
        (0, b"\xff\x58\x04\x04\x02\x18\x08"),            # time signature: skipped
        (0, sysex(0xF0, identity)),                      # complete SysEx
        (10, sysex(0xF0, b"\x43\x12\x00")),              # first packet of a split SysEx...
        (5, sysex(0xF7, b"\x07\xf7")),                   # ...and its continuation
        (0, sysex(0xF7, b"\xf8")),                       # escape: a real-time byte as is
        (0, sysex(0xF7, b"")),                           # empty escape: nothing to send
    )
    midi = parse_smf(smf(0, 96, track(*events)))
    assert [(m.tick, m.data) for m in midi.messages] == [
        (0, b"\xf0" + identity), (10, b"\xf0\x43\x12\x00"), (15, b"\x07\xf7"), (15, b"\xf8")]


def test_smpte_division_ignores_tempo():
    # -25 frames per second x 40 ticks per frame = 1000 ticks per second
    division = ((256 - 25) << 8) | 40
    midi = parse_smf(smf(0, division, track((0, tempo(250_000)), (250, b"\x90\x40\x7f"))))
    assert midi.smpte == (25, 40) and midi.ticks_per_quarter is None
    assert times_and_bytes(midi) == [(250_000, b"\x90\x40\x7f")]
    # -29 is 29.97 frames per second (30 drop-frame): 30 frames take 1.001 s
    drop = parse_smf(smf(0, ((256 - 29) << 8) | 1, track((30, sysex(0xF7, b"\xf8")))))
    assert times_and_bytes(drop) == [(1_001_000, b"\xf8")]


def test_times_are_exact_not_accumulated():
    # 3 ticks per quarter: a tick is 166666.67 us; rounding each time, never the steps
    events = [(0, b"\x90\x40\x7f")] + [(1, b"\x80\x40\x00")] * 3000
    midi = parse_smf(smf(0, 3, track(*events)))
    assert midi.messages[1].time_us == 166_667
    assert midi.messages[-1].time_us == 500_000_000


def test_wire_bytes_applies_running_status_until_something_else_comes():
    messages = [SmfMessage(0, 0, 0, d) for d in (
        b"\x90\x3c\x40", b"\x90\x3e\x40", b"\x80\x3c\x00", b"\x80\x3e\x00",
        b"\xf0\x7e\x7f\x06\x01\xf7", b"\x80\x40\x00", b"\x80\x41\x00")]
    assert wire_bytes(messages) == bytes.fromhex(
        "903c40 3e40 803c00 3e00 f07e7f0601f7 804000 4100".replace(" ", ""))
    assert wire_bytes(messages, running_status=False) == b"".join(m.data for m in messages)


GOOD_TRACK = track((0, b"\x90\x40\x7f"))

MALFORMED = [
    (b"", "does not start with an MThd"),
    (b"RIFF\x00\x00\x00\x04RMID", "does not start with an MThd"),
    (chunk(b"MThd", b"\x00\x00\x00\x01"), "bad header: MThd length 4"),
    (b"MThd\x00\x00\x00\x06\x00\x00", "truncated header"),
    (smf(3, 96, GOOD_TRACK), "unknown SMF format 3"),
    (smf(2, 96, GOOD_TRACK), "format 2 (independent sequences) is not supported"),
    (smf(1, 96, ntracks=0), "declares no tracks"),
    (smf(0, 96, GOOD_TRACK, GOOD_TRACK), "format 0 with 2 tracks"),
    (smf(0, 0, GOOD_TRACK), "division of 0 ticks per quarter note"),
    (smf(0, ((256 - 26) << 8) | 40, GOOD_TRACK), "unknown division 0xe628"),
    (smf(0, (256 - 25) << 8, GOOD_TRACK), "0 ticks per frame"),
    (smf(1, 96, GOOD_TRACK, ntracks=2), "declares 2 tracks but the file has 1 MTrk"),
    (smf(0, 96, GOOD_TRACK)[:-2], "truncated chunk 'MTrk'"),
    (smf(0, 96, GOOD_TRACK) + b"MTr", "truncated chunk header"),
    (smf(0, 96, track((0, b"\x90\x40\x7f"), end=False)), "no End of Track"),
    (smf(0, 96, chunk(b"MTrk", b"\x00" + END_OF_TRACK + b"\x00\xf8")),
     "2 bytes after End of Track"),
    (smf(0, 96, chunk(b"MTrk", b"\xff\xff\xff\xff\x7f\xf8")), "delta time longer than 4"),
    (smf(0, 96, track((0, b"\x40\x7f"))), "data byte 0x40 with no running status"),
    (smf(0, 96, track((0, b"\x90\x40\x7f"), (0, tempo(500_000)), (0, b"\x41\x7f"))),
     "data byte 0x41 with no running status"),    # a meta event cancels running status
    (smf(0, 96, track((0, b"\x90\x40\x90"))), "byte 0x90 where a data byte was expected"),
    (smf(0, 96, track((0, b"\xff\x51\x02\x07\xa1"))), "tempo meta event of 2 bytes"),
    (smf(0, 96, track((0, tempo(0)))), "tempo of 0 microseconds"),
    (smf(0, 96, track((0, b"\xf8"))), "status byte 0xf8 is not an SMF event"),
    (smf(0, 96, chunk(b"MTrk", b"\x00\x90\x40")), "truncated channel message"),
    (smf(0, 96, chunk(b"MTrk", b"\x00\xf0\x10\x43")), "truncated SysEx event"),
]


@pytest.mark.parametrize("data, problem", MALFORMED, ids=[p for _, p in MALFORMED])
def test_malformed_files_are_one_line_errors_naming_the_problem(data, problem):
    with pytest.raises(ValueError) as err:
        parse_smf(data)
    assert problem in str(err.value)
    assert "\n" not in str(err.value)


def test_errors_in_a_track_name_the_track_and_offset():
    data = smf(1, 96, GOOD_TRACK, track((0, b"\x90\x40\x7f"), (0, b"\x90\x40\xff")))
    with pytest.raises(ValueError) as err:
        parse_smf(data)
    bad_byte = data.rindex(b"\x90\x40\xff") + 2
    assert str(err.value) == (f"track 1: byte 0xff where a data byte was expected "
                              f"at file offset {bad_byte}")


def test_unknown_chunks_are_skipped():
    alien = chunk(b"XFIH", b"\x01\x02\x03")
    midi = parse_smf(smf(1, 96, GOOD_TRACK, alien, GOOD_TRACK, ntracks=2))
    assert [m.track for m in midi.messages] == [0, 1]


def test_read_smf_names_the_file(tmp_path):
    path = tmp_path / "broken.mid"
    path.write_bytes(smf(2, 96, GOOD_TRACK))
    with pytest.raises(ValueError, match=r"^broken\.mid: SMF format 2"):
        read_smf(path)


# ---------------------------------------------------------------- real files (examples/midi)

REAL = {
    # file: (type, tracks, ticks/quarter, tempo changes as (tick, bpm, track), note-ons,
    #        duration in seconds)
    "music21-test10.mid": (0, 1, 480, [(0, 120, 0), (1920, 110, 0), (3840, 90, 0),
                                       (5760, 60, 0)], 16, 10.1),
    "music21-test11.mid": (1, 4, 480, [(0, 120, 0), (1920, 110, 0), (3840, 90, 0),
                                       (5760, 60, 0)], 48, 10.6),
    "openmsx-chuggachugga.mid": (1, 7, 192, [(0, 180, 0), (45312, 177, 0), (45696, 120, 0),
                                             (46080, 69, 0)], 1552, 83.9),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files(name):
    fmt, tracks, tpq, tempos, note_ons, seconds = REAL[name]
    midi = read_smf(EXAMPLES / name)
    assert (midi.format, midi.track_count, midi.ticks_per_quarter) == (fmt, tracks, tpq)
    assert [(t.tick, round(t.bpm), t.track) for t in midi.tempo_changes] == tempos
    notes = [m for m in midi.messages if m.data[0] >> 4 == 9 and m.data[2] > 0]
    assert len(notes) == note_ons
    assert round(midi.duration_us / 1e6, 1) == seconds
    times = [m.time_us for m in midi.messages]
    assert times == sorted(times)
    for message in midi.messages:                   # every message is complete on its own
        status = message.data[0]
        assert status >= 0x80 and all(b < 0x80 for b in message.data[1:])
    if fmt == 1:                                     # the conductor track holds no notes
        assert all(m.track != 0 for m in notes)
    assert name in (EXAMPLES / "README.md").read_text()


def test_the_conductor_tracks_tempo_times_another_track():
    """test11's first note track holds test10's notes; with the same tempo map in its
    conductor track, they come out at the same microseconds (4 tempos, 2 s at 120 bpm,
    then slower)."""
    single = read_smf(EXAMPLES / "music21-test10.mid")
    multi = read_smf(EXAMPLES / "music21-test11.mid")
    first_track = [(m.time_us, m.data) for m in multi.messages if m.track == 1]
    assert first_track == times_and_bytes(single)
    assert [t.time_us for t in multi.tempo_changes] == [0, 2_000_000, 4_181_816, 6_848_480]


def test_real_file_running_status_on_the_wire_is_shorter_and_equivalent():
    midi = read_smf(EXAMPLES / "openmsx-chuggachugga.mid")
    full = wire_bytes(midi.messages, running_status=False)
    short = wire_bytes(midi.messages)
    assert len(short) < len(full)
    # expanding the running status again gives the full stream back
    expanded, running, i = bytearray(), None, 0
    while i < len(short):
        if short[i] & 0x80:
            running = short[i]
            expanded.append(running)
            i += 1
        else:
            expanded.append(running)
        n = {0xC: 1, 0xD: 1}.get(running >> 4, 2)
        expanded += short[i:i + n]
        i += n
    assert bytes(expanded) == full
