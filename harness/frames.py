"""Audio as it crosses the boundary between host and simulator, and as the DAC shows it.

The device carries 16-bit samples, or 24-bit samples MSB-aligned in 32-bit containers; the
DAC and ADC ports carry signed 24-bit frames (left, right). These functions convert between
those forms, bit-exactly, on both sides of the process boundary (docs/cosim-timing.md)."""

import math
import random

__all__ = ["container_bytes", "expected_dac_frames", "frames_to_pcm", "pack_frames",
           "unpack_frames", "tone_frames", "noise_pcm", "PACKED_FRAME_BYTES"]

#: a 24-bit (left, right) frame packed into a job file
PACKED_FRAME_BYTES = 6


def container_bytes(bits):
    """Bytes per sample in memory: 16-bit samples in 2, 24-bit ones in a 32-bit container."""
    return 4 if bits == 24 else 2


def expected_dac_frames(pcm, channels, bits):
    """What the DAC must show for interleaved little-endian PCM: 16-bit samples as s * 256,
    24-bit samples (in 32-bit containers, MSB-aligned) as the top 24 bits; mono on both."""
    size = container_bytes(bits)
    step = size * channels
    out = []
    for i in range(0, len(pcm) - step + 1, step):
        s = [int.from_bytes(pcm[i + c * size:i + (c + 1) * size], "little", signed=True)
             for c in range(channels)]
        s = [v >> 8 if bits == 24 else v * 256 for v in s]
        out.append((s[0], s[-1]))
    return out


def frames_to_pcm(frames, channels, bits):
    """The inverse of :func:`expected_dac_frames`: the bytes the controller stores for 24-bit
    ADC frames (16-bit formats keep the top 16 bits)."""
    out = bytearray()
    for frame in frames:
        for v in frame[:channels]:
            if bits == 16:
                out += ((v >> 8) & 0xFFFF).to_bytes(2, "little")
            else:
                out += ((v & 0xFFFFFF) << 8).to_bytes(4, "little")
    return bytes(out)


def pack_frames(frames):
    """Signed 24-bit (left, right) frames as 6 little-endian bytes each (job files)."""
    return b"".join((l & 0xFFFFFF).to_bytes(3, "little") + (r & 0xFFFFFF).to_bytes(3, "little")
                    for l, r in frames)


def unpack_frames(raw):
    """The inverse of :func:`pack_frames`."""
    return [(int.from_bytes(raw[i:i + 3], "little", signed=True),
             int.from_bytes(raw[i + 3:i + 6], "little", signed=True))
            for i in range(0, len(raw) - PACKED_FRAME_BYTES + 1, PACKED_FRAME_BYTES)]


def tone_frames(hz, rate, count, amplitude=0.5):
    """A sine of ``hz`` as signed 24-bit frames, the same on both channels."""
    full = (1 << 23) - 1
    return [(v, v) for v in (int(round(amplitude * full * math.sin(2 * math.pi * hz * n / rate)))
                            for n in range(count))]


def noise_pcm(channels, bits, seconds, seed, rate=48000):
    """Deterministic full-scale noise as PCM (benchmarks and the PGO training run)."""
    frame = channels * container_bytes(bits)
    return random.Random(seed).randbytes(int(rate * seconds) * frame)
