"""WAV files for tests, written by sox (the tool users write them with) or by hand where sox
cannot (24 valid bits in a 32-bit container, odd-length data chunks, extra chunks)."""

import shutil
import struct
import subprocess
from pathlib import Path

__all__ = ["sox", "sox_wav", "riff_wav", "extensible_fmt", "pcm_fmt", "SOX"]

SOX = shutil.which("sox")
#: KSDATAFORMAT_SUBTYPE_PCM, the GUID a WAVE_FORMAT_EXTENSIBLE PCM file carries
PCM_SUBFORMAT = bytes.fromhex("0100000000001000800000aa00389b71")


def sox(*args):
    subprocess.run([SOX, *map(str, args)], check=True, capture_output=True)


def sox_wav(path, *, rate=48000, channels=2, bits=16, encoding="signed-integer",
            seconds=0.01, extra=(), synth=("sine", "440")):
    """A tone written by sox: ``-e signed-integer -b 24`` gives WAVE_FORMAT_EXTENSIBLE (as
    sox writes every file with more than 16 bits or 2 channels), 16-bit stereo plain PCM."""
    sox("-n", "-r", rate, "-c", channels, "-b", bits, "-e", encoding, *extra, path,
        "synth", seconds, *synth, "vol", "0.5")
    return Path(path)


def pcm_fmt(channels, rate, bits):
    block = channels * bits // 8
    return struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)


def extensible_fmt(channels, rate, container_bits, valid_bits, subformat=PCM_SUBFORMAT):
    block = channels * container_bits // 8
    mask = (1 << channels) - 1
    return (struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * block, block,
                        container_bits)
            + struct.pack("<HHI", 22, valid_bits, mask) + subformat)


def chunk(ident, body, pad=True):
    return ident + struct.pack("<I", len(body)) + body + (b"\0" if pad and len(body) & 1 else b"")


def riff_wav(path, fmt, data, *, before=(), after=(), pad=True):
    """A RIFF/WAVE file from chunk bodies; ``before``/``after`` are extra (ident, body) chunks
    around the data chunk; ``pad=False`` leaves out an odd data chunk's pad byte."""
    body = b"WAVE" + chunk(b"fmt ", fmt)
    body += b"".join(chunk(i, b) for i, b in before)
    body += chunk(b"data", data, pad=pad)
    body += b"".join(chunk(i, b) for i, b in after)
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return Path(path)
