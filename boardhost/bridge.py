"""Host side of the UARTBone bridge: frames over any byte transport.

A transport has ``write(data: bytes)`` and ``read(n) -> bytes`` (exactly ``n`` bytes, or
:class:`BridgeTimeout`). :class:`SerialTransport` is a real serial port (pyserial); the board
simulation provides another (:mod:`boardhost.boardsim`).

The client waits for a read's answer before it sends anything else, so the board never holds
more than one frame (its receive FIFO is 16 bytes deep while it answers).
"""

import serial

from rtl.bridge_map import CMD_READ, CMD_WRITE, MAX_BURST_WORDS, REG_BASE, strobe_address

__all__ = ["BridgeClient", "BridgeTimeout", "SerialTransport", "encode_frame"]

WORD = 4


class BridgeTimeout(IOError):
    """The board did not answer in time (not programmed, wrong port or rate, unplugged)."""


def encode_frame(cmd, address, words=(), length=None):
    """A UARTBone frame for byte ``address`` (sent as a word address), big-endian throughout."""
    if address % WORD:
        raise ValueError(f"bridge address {address:#x} is not word aligned")
    n = len(words) if length is None else length
    if not 0 <= n <= MAX_BURST_WORDS:
        raise ValueError(f"a frame carries 0..{MAX_BURST_WORDS} words, not {n}")
    return (bytes([cmd, n]) + (address // WORD).to_bytes(4, "big")
            + b"".join(int(w).to_bytes(4, "big") for w in words))


class BridgeClient:
    """Register and RAM access through the bridge; counts frames and bytes both ways."""

    def __init__(self, transport):
        self.transport = transport
        self.frames = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def _send(self, frame):
        self.frames += 1
        self.bytes_sent += len(frame)
        self.transport.write(frame)

    def read_words(self, address, count):
        """``count`` 32-bit words from byte ``address`` on (several frames if needed)."""
        out = []
        while count:
            n = min(count, MAX_BURST_WORDS)
            self._send(encode_frame(CMD_READ, address, length=n))
            data = self.transport.read(WORD * n)
            self.bytes_received += len(data)
            out += [int.from_bytes(data[i:i + WORD], "big") for i in range(0, len(data), WORD)]
            address += WORD * n
            count -= n
        return out

    def write_words(self, address, words):
        words = list(words)
        for i in range(0, len(words), MAX_BURST_WORDS):
            chunk = words[i:i + MAX_BURST_WORDS]
            self._send(encode_frame(CMD_WRITE, address + WORD * i, chunk))

    # registers ----------------------------------------------------------------------------------

    def read_register_word(self, offset):
        return self.read_words(REG_BASE + offset, 1)[0]

    def write_register_bytes(self, offset, data):
        """Write ``data`` at register byte ``offset`` (within one word) with byte strobes, so the
        other bytes of the word are not written."""
        data = bytes(data)
        lane = offset % WORD
        if not data or lane + len(data) > WORD:
            raise ValueError(f"{len(data)} bytes at {offset:#x} do not fit one register word")
        strobe = ((1 << len(data)) - 1) << lane
        value = int.from_bytes(data, "little") << (8 * lane)
        self.write_words(strobe_address(offset, strobe), [value])

    # RAM ----------------------------------------------------------------------------------------

    def read_ram(self, address, n):
        """``n`` bytes of board RAM from bus address ``address`` (RAM_BASE-based)."""
        first = address & ~(WORD - 1)
        words = -(-(address + n - first) // WORD)
        raw = b"".join(w.to_bytes(WORD, "little") for w in self.read_words(first, words))
        return raw[address - first:address - first + n]

    def write_ram(self, address, data):
        """Write bytes to board RAM; partial words at either end are read, merged, written."""
        data = bytes(data)
        if not data:
            return
        first = address & ~(WORD - 1)
        end = -(-(address + len(data)) // WORD) * WORD
        buf = bytearray(end - first)
        head_partial = address != first
        if head_partial:
            buf[:WORD] = self.read_ram(first, WORD)
        last = end - WORD
        if (address + len(data)) % WORD and not (head_partial and last == first):
            buf[-WORD:] = self.read_ram(last, WORD)
        buf[address - first:address - first + len(data)] = data
        self.write_words(first, [int.from_bytes(buf[i:i + WORD], "little")
                                 for i in range(0, len(buf), WORD)])


class SerialTransport:
    """A serial port (pyserial) at ``baud``: the board's USB UART."""

    def __init__(self, port, baud, timeout_s=0.5):
        try:
            self.port = serial.Serial(port, baud, timeout=timeout_s)
        except (serial.SerialException, ValueError) as exc:
            raise BridgeTimeout(f"cannot open {port} at {baud} baud: {exc}") from None
        self.name = port

    def write(self, data):
        self.port.write(data)

    def read(self, n):
        data = self.port.read(n)
        if len(data) != n:
            raise BridgeTimeout(f"the board on {self.name} answered {len(data)} of {n} bytes")
        return data

    def close(self):
        self.port.close()

