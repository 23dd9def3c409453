"""WAV input/output for the command line: 16/24-bit PCM, mono/stereo, 48 kHz family."""

import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Pcm", "WavError", "read_wav", "write_wav", "SUPPORTED_RATES", "pack_frames",
           "unpack_frames"]

#: rates the controller and codec play: 48 kHz * MULT / DIV at or below 48 kHz
SUPPORTED_RATES = (8000, 16000, 32000, 48000)


class WavError(ValueError):
    """The input is not a WAV file the hardware can play; the message names the problem."""


@dataclass
class Pcm:
    """Interleaved little-endian PCM as the controller reads it from memory: 16-bit samples,
    or 24-bit samples MSB-aligned in 32-bit containers."""
    data: bytes
    channels: int
    bits: int
    rate: int

    @property
    def frame_bytes(self):
        return (4 if self.bits == 24 else 2) * self.channels

    @property
    def frames(self):
        return len(self.data) // self.frame_bytes


def read_wav(path):
    path = Path(path)
    if not path.is_file():
        raise WavError(f"{path}: no such file")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise WavError(f"{path}: not a PCM WAV file ({exc or 'truncated header'})") from None
    if width not in (2, 3):
        raise WavError(f"{path}: {8 * width}-bit samples are not supported (16 or 24)")
    if channels not in (1, 2):
        raise WavError(f"{path}: {channels} channels are not supported (1 or 2)")
    if rate not in SUPPORTED_RATES:
        raise WavError(f"{path}: {rate} Hz is not supported "
                       f"({', '.join(str(r) for r in SUPPORTED_RATES)} Hz)")
    if width == 3:   # 24-bit packed -> 32-bit containers, sample in the top 24 bits
        raw = b"".join(b"\0" + raw[i:i + 3] for i in range(0, len(raw), 3))
    return Pcm(raw, channels, 8 * width, rate)


def write_wav(path, frames, channels, bits, rate):
    """Write DAC frames (signed 24-bit (left, right)) as a WAV of ``bits``; atomically."""
    path = Path(path)
    out = bytearray()
    for left, right in frames:
        for v in (left, right)[:channels]:
            if bits == 16:
                out += ((v >> 8) & 0xFFFF).to_bytes(2, "little")
            else:
                out += (v & 0xFFFFFF).to_bytes(3, "little")
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.")
    os.close(fd)
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(bits // 8)
            w.setframerate(rate)
            w.writeframes(bytes(out))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def pack_frames(frames):
    """Signed 24-bit (left, right) frames as 6 little-endian bytes each (job files)."""
    return b"".join((l & 0xFFFFFF).to_bytes(3, "little") + (r & 0xFFFFFF).to_bytes(3, "little")
                    for l, r in frames)


def unpack_frames(raw):
    """The inverse of :func:`pack_frames`."""
    return [(int.from_bytes(raw[i:i + 3], "little", signed=True),
             int.from_bytes(raw[i + 3:i + 6], "little", signed=True))
            for i in range(0, len(raw) - 5, 6)]
