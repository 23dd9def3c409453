"""A MIDI device on the controller's serial pins (a synthesizer listening, a keyboard playing).

No Python runs per clock cycle: the receiver sleeps on the falling edge of the line (a start
bit), then samples each bit at mid-bit with Timers, and goes back to sleep after the stop bit;
the sender drives the line with one Timer per run of equal bits. Bit times are ``divisor``
clocks of the simulated clock (the ``+pcsim_clock_period_ps`` plusarg that
:func:`harness.build.run` passes), so they match MIDI_DIV exactly.

- :class:`MidiReceiver` decodes 8N1 frames on one line: :attr:`~MidiReceiver.received` holds
  ``(time_ns, byte)`` per byte (the arrival time of its start bit's falling edge),
  :attr:`~MidiReceiver.framing_errors` the arrival times of frames whose stop bit was 0 (their
  byte is dropped), :attr:`~MidiReceiver.messages` the bytes parsed into :class:`MidiMessage`.
- :class:`MidiDevice` is a receiver on ``midi_tx`` plus :meth:`~MidiDevice.send` on
  ``midi_rx``, built from the dut and a pin prefix as cocotbext models are.
- :class:`MidiParser` turns bytes into messages: channel messages (with running status), system
  common messages, sysex ``F0 .. F7``, and real-time bytes ``F8..FF`` anywhere, also inside
  another message or a sysex, where they do not disturb it. Each message carries the arrival
  time of its first byte. Inside a sysex, a status byte that is neither ``F7`` nor real-time
  ends it early (the message keeps the bytes it got, without ``F7``); data bytes with no status
  to belong to, and a lone ``F7``, are kept in :attr:`MidiParser.stray`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, FallingEdge, RisingEdge, Timer, with_timeout

__all__ = ["MidiByte", "MidiMessage", "MidiParser", "MidiReceiver", "MidiDevice",
           "clock_period_ps"]

_FRAME_BITS = 10
#: data bytes after a channel status byte, by its high nibble
_CHANNEL_DATA = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
#: data bytes after a system common status byte (F4/F5 are undefined: none)
_COMMON_DATA = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF4: 0, 0xF5: 0, 0xF6: 0}
SYSEX, EOX, REALTIME = 0xF0, 0xF7, 0xF8


class MidiByte(NamedTuple):
    time_ns: float
    value: int


@dataclass(frozen=True)
class MidiMessage:
    """One message: ``data`` starts with its status byte, also when it came by running status
    (then ``running_status`` is True); ``time_ns`` is the arrival of its first byte."""
    time_ns: float
    data: bytes
    running_status: bool = False


class MidiParser:
    """Byte-at-a-time MIDI parser (see the module docstring for the rules)."""

    def __init__(self):
        self.running = None         # running status, or None
        self.stray: list[MidiByte] = []
        self._pending = bytearray()  # the message being assembled
        self._start = 0.0
        self._needed = 0             # data bytes the pending message needs
        self._by_running = False
        self._sysex = False

    def feed(self, byte: int, time_ns: float) -> list[MidiMessage]:
        """Take one byte; return the messages it completes (none, one, or two when it ends a
        sysex early and completes itself)."""
        if byte >= REALTIME:
            return [MidiMessage(time_ns, bytes([byte]))]
        out = []
        if byte & 0x80:
            if self._sysex:
                self._sysex = False
                if byte == EOX:
                    self._pending.append(byte)
                    return [self._take()]
                out.append(self._take())
            elif byte == EOX:
                self.stray.append(MidiByte(time_ns, byte))
                return out
            self._pending = bytearray([byte])
            self._start, self._by_running = time_ns, False
            if byte == SYSEX:
                self._sysex, self.running = True, None
            elif byte < SYSEX:
                self.running, self._needed = byte, _CHANNEL_DATA[byte >> 4]
            else:
                self.running, self._needed = None, _COMMON_DATA[byte]
                if self._needed == 0:
                    out.append(self._take())
            return out
        if self._sysex:
            self._pending.append(byte)
            return out
        if not self._pending:
            if self.running is None:
                self.stray.append(MidiByte(time_ns, byte))
                return out
            self._pending = bytearray([self.running])
            self._start, self._by_running = time_ns, True
            self._needed = _CHANNEL_DATA[self.running >> 4]
        self._pending.append(byte)
        if len(self._pending) == 1 + self._needed:
            out.append(self._take())
        return out

    def _take(self) -> MidiMessage:
        msg = MidiMessage(self._start, bytes(self._pending), self._by_running)
        self._pending = bytearray()
        return msg


def clock_period_ps() -> int:
    """The simulated clock period, from the plusarg :func:`harness.build.run` passes."""
    period = cocotb.plusargs.get("pcsim_clock_period_ps")
    if not period:
        raise RuntimeError("no clock period: the simulation needs the "
                           "+pcsim_clock_period_ps=PS plusarg (harness.build.run passes it)")
    return int(period)


def _check_divisor(divisor) -> int:
    if not isinstance(divisor, int) or divisor < 2:
        raise ValueError(f"MIDI divisor must be an integer of at least 2 clocks per bit, "
                         f"not {divisor!r}")
    return divisor


class MidiReceiver:
    """Decodes 8N1 frames on ``line`` at ``divisor`` clocks per bit (started at once)."""

    def __init__(self, line, divisor: int, period_ps: int | None = None):
        self.line = line
        self.period_ps = period_ps or clock_period_ps()
        self.set_divisor(divisor)
        self.received: list[MidiByte] = []
        self.framing_errors: list[float] = []
        self.messages: list[MidiMessage] = []
        self.parser = MidiParser()
        self._arrived = Event()
        self._task = cocotb.start_soon(self._run())

    def set_divisor(self, divisor: int) -> None:
        """Change the bit time (as MIDI_DIV changes), from the next frame on."""
        self.divisor = _check_divisor(divisor)
        self.bit_ps = self.divisor * self.period_ps

    def stop(self) -> None:
        self._task.cancel()

    async def wait_bytes(self, count: int, timeout_ns: float) -> list[MidiByte]:
        """Wait until ``count`` bytes have arrived in all; TimeoutError after ``timeout_ns``."""
        async def arrived():
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        await with_timeout(cocotb.start_soon(arrived()), int(timeout_ns) + 1, "ns")
        return self.received

    async def _run(self) -> None:
        fall, rise = FallingEdge(self.line), RisingEdge(self.line)
        while True:
            await fall
            start_ps = get_sim_time("ps")
            bit_ps = self.bit_ps
            await Timer(bit_ps // 2, "ps")
            if self._level():
                continue                    # a glitch, not a start bit
            value = 0
            for i in range(8):
                await Timer(bit_ps, "ps")
                value |= self._level() << i
            await Timer(bit_ps, "ps")
            time_ns = start_ps / 1000
            if self._level():
                self.received.append(MidiByte(time_ns, value))
                self.messages.extend(self.parser.feed(value, time_ns))
                self._arrived.set()
            else:
                self.framing_errors.append(time_ns)
                await rise                  # resynchronise once the line is idle again

    def _level(self) -> int:
        return int(self.line.value)


class MidiDevice(MidiReceiver):
    """A MIDI device wired to ``<prefix>_tx`` (it listens) and ``<prefix>_rx`` (it sends) of
    ``dut`` at ``divisor`` clocks per bit."""

    def __init__(self, dut, divisor: int, *, prefix: str = "midi",
                 period_ps: int | None = None):
        self.out_line = getattr(dut, f"{prefix}_rx")
        self.out_line.value = 1
        super().__init__(getattr(dut, f"{prefix}_tx"), divisor, period_ps)

    async def send(self, data: Iterable[int], gap_bits: int = 0,
                   bad_stop: Iterable[int] = ()) -> None:
        """Send ``data`` on ``<prefix>_rx``, with ``gap_bits`` idle bit times after each byte;
        the bytes at the indices in ``bad_stop`` get a stop bit of 0 (a framing error), after
        which the line returns high."""
        bad = set(bad_stop)
        for index, byte in enumerate(bytes(data)):
            stop = 0 if index in bad else 1
            bits = [0] + [(byte >> i) & 1 for i in range(8)] + [stop]
            runs = []
            for bit in bits:
                if runs and runs[-1][0] == bit:
                    runs[-1][1] += 1
                else:
                    runs.append([bit, 1])
            for level, count in runs:
                self.out_line.value = level
                await Timer(count * self.bit_ps, "ps")
            self.out_line.value = 1
            if gap_bits:
                await Timer(gap_bits * self.bit_ps, "ps")

    @property
    def byte_ns(self) -> float:
        """One frame (10 bits) in nanoseconds."""
        return _FRAME_BITS * self.bit_ps / 1000
