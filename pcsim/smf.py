"""A Standard MIDI File (SMF) reader: the file's events as one time-ordered list of messages
ready for a MIDI wire or a DMus stream.

Supported: formats 0 and 1 (format 2, independent sequences, has no single timeline and is
rejected), metrical (ticks per quarter note) and SMPTE (frames per second x ticks per frame)
time division, running status, SysEx events (F0: a complete or first packet, sent with its F0;
F7: an escape, its bytes sent as they are), and meta events: tempo (honoured for every track,
whichever track it is in), End of Track (required, last); other metas are skipped.

Every track is merged into one list ordered by time; events at the same tick keep file order
(track by track, then as they stand in their track). Each message has its absolute time (exact
microseconds rounded to the nearest) and its bytes as they go on the wire: channel messages
always carry their status byte (:func:`wire_bytes` applies running status for a stream).

A malformed file raises ValueError with one line naming the problem and where it is.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

__all__ = ["SmfMessage", "TempoChange", "MidiFile", "parse_smf", "read_smf", "wire_bytes",
           "DEFAULT_TEMPO_US"]

#: microseconds per quarter note until a tempo event says otherwise (120 beats per minute)
DEFAULT_TEMPO_US = 500_000

# data bytes after a channel status byte, by its high nibble
_CHANNEL_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
_META_TEMPO = 0x51
_META_END_OF_TRACK = 0x2F
# SMPTE division: the high byte is minus the frame rate; 29 means 29.97 (30 drop-frame)
_SMPTE_RATES = {24: Fraction(24), 25: Fraction(25), 29: Fraction(30000, 1001), 30: Fraction(30)}


@dataclass(frozen=True)
class SmfMessage:
    """One event to send: ``data`` as it goes on the wire, at ``time_us`` from the start."""
    time_us: int
    tick: int
    track: int
    data: bytes

    @property
    def time_s(self) -> float:
        return self.time_us / 1_000_000


@dataclass(frozen=True)
class TempoChange:
    """A tempo meta event (found in ``track``): from ``tick`` on, in every track, a quarter
    note lasts ``us_per_quarter``."""
    tick: int
    time_us: int
    us_per_quarter: int
    track: int

    @property
    def bpm(self) -> float:
        return 60_000_000 / self.us_per_quarter


@dataclass(frozen=True)
class MidiFile:
    """A parsed SMF. ``ticks_per_quarter`` is set for metrical division, ``smpte`` (frames per
    second as in the file - 29 for 29.97 - and ticks per frame) for SMPTE division."""
    format: int
    track_count: int
    ticks_per_quarter: int | None
    smpte: tuple | None
    messages: tuple
    tempo_changes: tuple
    duration_us: int                 # the latest End of Track


class _Track:
    """Cursor over one MTrk chunk's bytes; errors name the track and the file offset."""

    def __init__(self, data, index, file_offset):
        self.data, self.index, self.base = data, index, file_offset
        self.pos = 0

    def fail(self, problem, at=None):
        at = self.pos if at is None else at
        raise ValueError(f"track {self.index}: {problem} at file offset {self.base + at}")

    def byte(self, what):
        if self.pos >= len(self.data):
            self.fail(f"truncated {what}: the chunk ends")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, n, what):
        if self.pos + n > len(self.data):
            self.fail(f"truncated {what}: {n} bytes declared, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(chunk)

    def vlq(self, what):
        """A variable-length quantity: 7 bits a byte, top bit = more follow, at most 4."""
        start, value = self.pos, 0
        for _ in range(4):
            b = self.byte(what)
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value
        self.fail(f"{what} longer than 4 bytes", start)


def _read_track(track):
    """The track's events as (tick, kind, payload): kind "msg" (wire bytes) or "tempo"
    (microseconds per quarter); and the tick of its End of Track."""
    events, tick, running = [], 0, None
    while track.pos < len(track.data):
        tick += track.vlq("delta time")
        at = track.pos
        status = track.byte("event")
        if status == 0xFF:
            running = None                       # meta events cancel running status
            kind = track.byte("meta event type")
            body = track.take(track.vlq("meta event length"), "meta event")
            if kind == _META_END_OF_TRACK:
                if track.pos != len(track.data):
                    track.fail(f"{len(track.data) - track.pos} bytes after End of Track")
                return events, tick
            if kind == _META_TEMPO:
                if len(body) != 3:
                    track.fail(f"tempo meta event of {len(body)} bytes (must be 3)", at)
                tempo = int.from_bytes(body, "big")
                if tempo == 0:
                    track.fail("tempo of 0 microseconds per quarter note", at)
                events.append((tick, "tempo", tempo))
        elif status in (0xF0, 0xF7):
            running = None                       # so do SysEx events
            body = track.take(track.vlq("SysEx length"), "SysEx event")
            wire = bytes([0xF0]) + body if status == 0xF0 else body
            if wire:
                events.append((tick, "msg", wire))
        elif status >= 0xF0:
            track.fail(f"status byte {status:#04x} is not an SMF event (only channel "
                       f"messages, F0/F7 SysEx and FF meta)", at)
        else:
            if status < 0x80:                    # running status: reuse the last status
                if running is None:
                    track.fail(f"data byte {status:#04x} with no running status", at)
                track.pos -= 1
                status = running
            running = status
            data = track.take(_CHANNEL_DATA_BYTES[status >> 4], "channel message")
            for offset, b in enumerate(data):
                if b & 0x80:
                    track.fail(f"byte {b:#04x} where a data byte was expected",
                               track.pos - len(data) + offset)
            events.append((tick, "msg", bytes([status]) + data))
    track.fail("no End of Track event: the chunk ends")


def _parse_header(data):
    if len(data) < 8 or data[:4] != b"MThd":
        raise ValueError("not a Standard MIDI File: it does not start with an MThd chunk")
    length = struct.unpack_from(">I", data, 4)[0]
    if length < 6:
        raise ValueError(f"bad header: MThd length {length} (must be at least 6)")
    if len(data) < 8 + length:
        raise ValueError(f"truncated header: MThd declares {length} bytes, "
                         f"{len(data) - 8} present")
    fmt, ntracks, division = struct.unpack_from(">HHH", data, 8)
    if fmt == 2:
        raise ValueError("SMF format 2 (independent sequences) is not supported")
    if fmt not in (0, 1):
        raise ValueError(f"bad header: unknown SMF format {fmt}")
    if ntracks == 0:
        raise ValueError("bad header: the file declares no tracks")
    if fmt == 0 and ntracks != 1:
        raise ValueError(f"bad header: format 0 with {ntracks} tracks (must be 1)")
    if division & 0x8000:
        frames = 256 - (division >> 8)
        ticks = division & 0xFF
        if frames not in _SMPTE_RATES:
            raise ValueError(f"bad header: unknown division {division:#06x} "
                             f"(SMPTE rate -{frames} is not -24, -25, -29 or -30)")
        if ticks == 0:
            raise ValueError("bad header: SMPTE division with 0 ticks per frame")
        ticks_per_quarter, smpte = None, (frames, ticks)
    else:
        if division == 0:
            raise ValueError("bad header: division of 0 ticks per quarter note")
        ticks_per_quarter, smpte = division, None
    return fmt, ntracks, ticks_per_quarter, smpte, 8 + length


def _track_chunks(data, start, ntracks):
    """The MTrk chunks' (bytes, file offset); chunks of other types are skipped, as the SMF
    specification asks of readers."""
    chunks, pos = [], start
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError(f"truncated chunk header at file offset {pos}: "
                             f"{len(data) - pos} bytes left")
        kind = data[pos:pos + 4]
        length = struct.unpack_from(">I", data, pos + 4)[0]
        name = kind.decode("latin-1")
        if pos + 8 + length > len(data):
            raise ValueError(f"truncated chunk {name!r} at file offset {pos}: {length} bytes "
                             f"declared, {len(data) - pos - 8} present")
        if kind == b"MTrk":
            chunks.append((data[pos + 8:pos + 8 + length], pos + 8))
        pos += 8 + length
    if len(chunks) != ntracks:
        raise ValueError(f"the header declares {ntracks} tracks but the file has "
                         f"{len(chunks)} MTrk chunks")
    return chunks


class _Timeline:
    """Tick -> microseconds, exactly (Fractions), through the tempo map or SMPTE rate."""

    def __init__(self, ticks_per_quarter, smpte, tempo_events):
        self._smpte_us_per_tick = None
        if smpte is not None:
            frames, ticks = smpte
            self._smpte_us_per_tick = Fraction(1_000_000) / (_SMPTE_RATES[frames] * ticks)
            return
        # segments: (start tick, start time, microseconds per tick), later events at the same
        # tick replacing earlier ones
        self._ticks, self._segments = [0], [(0, Fraction(0),
                                             Fraction(DEFAULT_TEMPO_US, ticks_per_quarter))]
        for tick, tempo in tempo_events:
            start, time, per_tick = self._segments[-1]
            at = time + (tick - start) * per_tick
            segment = (tick, at, Fraction(tempo, ticks_per_quarter))
            if tick == start:
                self._segments[-1] = segment
            else:
                self._ticks.append(tick)
                self._segments.append(segment)

    def us(self, tick) -> int:
        if self._smpte_us_per_tick is not None:
            return round(tick * self._smpte_us_per_tick)
        start, time, per_tick = self._segments[bisect.bisect_right(self._ticks, tick) - 1]
        return round(time + (tick - start) * per_tick)


def parse_smf(data) -> MidiFile:
    """Parse the bytes of a Standard MIDI File (see the module docstring)."""
    data = bytes(data)
    fmt, ntracks, ticks_per_quarter, smpte, start = _parse_header(data)
    merged, ends = [], []
    for index, (chunk, offset) in enumerate(_track_chunks(data, start, ntracks)):
        events, end_tick = _read_track(_Track(chunk, index, offset))
        ends.append(end_tick)
        # (tick, track, position in track) orders equal ticks by file order
        merged.extend((tick, index, n, kind, payload)
                      for n, (tick, kind, payload) in enumerate(events))
    merged.sort(key=lambda e: e[:3])
    tempo_events = [(tick, payload, track) for tick, track, _, kind, payload in merged
                    if kind == "tempo"]
    timeline = _Timeline(ticks_per_quarter, smpte, [e[:2] for e in tempo_events])
    messages = tuple(SmfMessage(timeline.us(tick), tick, track, payload)
                     for tick, track, _, kind, payload in merged if kind == "msg")
    tempo_changes = tuple(TempoChange(tick, timeline.us(tick), tempo, track)
                          for tick, tempo, track in tempo_events)
    return MidiFile(fmt, ntracks, ticks_per_quarter, smpte, messages, tempo_changes,
                    timeline.us(max(ends)))


def read_smf(path) -> MidiFile:
    """Read and parse the file at ``path``; its problems are ValueErrors naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: cannot read it ({err.strerror or err})") from None
    try:
        return parse_smf(data)
    except ValueError as err:
        raise ValueError(f"{path.name}: {err}") from None


def wire_bytes(messages, running_status=True) -> bytes:
    """The messages' bytes as one MIDI stream. With ``running_status`` a channel message
    whose status equals the previous channel message's is sent without it; anything else
    (SysEx, escapes) cancels running status, so the next channel message has its status
    again - always safe for a receiver, if not the tightest possible."""
    out, running = bytearray(), None
    for message in messages:
        data = message.data
        status = data[0]
        if 0x80 <= status < 0xF0:
            if running_status and status == running:
                data = data[1:]
            running = status
        else:
            running = None
        out += data
    return bytes(out)
