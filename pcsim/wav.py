"""WAV files in and out, through libsndfile (the ``soundfile`` package).

Read: PCM WAV as users have it, plain (WAVE_FORMAT_PCM) or WAVE_FORMAT_EXTENSIBLE with the PCM
subformat; 16-bit, 24-bit, or 24 valid bits in a 32-bit container; 1 or 2 channels at a rate
the codec runs (8, 16, 32, 48 kHz). Anything else is refused with a message naming what the
file holds. Write: the same format the input had (16- or 24-bit PCM)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from harness.frames import container_bytes

from .errors import UsageError
from .outputs import check_input

__all__ = ["Pcm", "read_wav", "write_wav", "SUPPORTED_RATES", "SUPPORTED_CHANNELS"]

#: rates the controller and codec play: 48 kHz * MULT / DIV at or below 48 kHz
SUPPORTED_RATES = (8000, 16000, 32000, 48000)
SUPPORTED_CHANNELS = (1, 2)
#: libsndfile subtypes of PCM we carry, with their sample size in bits
PCM_SUBTYPES = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
#: how to name what we refuse
ENCODING_NAMES = {
    "PCM_S8": "8-bit samples", "PCM_U8": "8-bit samples", "FLOAT": "32-bit float samples",
    "DOUBLE": "64-bit float samples", "ULAW": "u-law samples", "ALAW": "A-law samples",
    "IMA_ADPCM": "IMA ADPCM samples", "MS_ADPCM": "Microsoft ADPCM samples",
    "GSM610": "GSM 6.10 samples", "G721_32": "G.721 ADPCM samples",
    "NMS_ADPCM_16": "NMS ADPCM samples", "MPEG_LAYER_III": "MP3 data",
}
#: RIFF chunk header: id, size
CHUNK = struct.Struct("<4sI")
#: WAVE_FORMAT_EXTENSIBLE's format tag; its fmt chunk carries wValidBitsPerSample at offset 18
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
VALID_BITS_OFFSET = 18
#: a data chunk size that writers streaming to a pipe leave for "unknown"
UNKNOWN_LENGTH = 0xFFFFFFFF


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
        return container_bytes(self.bits) * self.channels

    @property
    def frames(self):
        return len(self.data) // self.frame_bytes

    def head(self, frames):
        """The first ``frames`` frames."""
        return Pcm(self.data[:frames * self.frame_bytes], self.channels, self.bits, self.rate)


@dataclass
class RiffLayout:
    """What libsndfile does not report: the fmt chunk's valid bits (WAVE_FORMAT_EXTENSIBLE)
    and how much of the data chunk the file really holds."""
    valid_bits: int | None
    data_declared: int | None      # bytes, as the data chunk's header says
    data_present: int              # bytes actually in the file after that header


def _riff_layout(path: Path) -> RiffLayout:
    valid, declared, present = None, None, 0
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(12)
        while True:
            head = fh.read(CHUNK.size)
            if len(head) < CHUNK.size:
                break
            ident, length = CHUNK.unpack(head)
            if ident == b"fmt ":
                body = fh.read(length)
                tag = int.from_bytes(body[0:2], "little")
                if tag == WAVE_FORMAT_EXTENSIBLE and len(body) >= VALID_BITS_OFFSET + 2:
                    valid = int.from_bytes(body[VALID_BITS_OFFSET:VALID_BITS_OFFSET + 2],
                                           "little")
                fh.seek(length & 1, 1)
                continue
            if ident == b"data":
                declared, present = length, max(0, size - fh.tell())
                break
            fh.seek(length + (length & 1), 1)      # chunks are word-aligned
    return RiffLayout(valid, declared, present)


def _sndfile_reason(exc) -> str:
    """libsndfile's explanation without the "Error opening '<path>': " prefix."""
    text = str(exc)
    return text.split("': ", 1)[1] if "': " in text else text


def _open_info(path: Path):
    check_input(path, "WAV")
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise UsageError(f"{path}: the file is empty")
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise UsageError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise UsageError(f"{path}: not a readable WAV file ({_sndfile_reason(exc)})") \
            from None


def read_wav(path) -> Pcm:
    """Read ``path`` as PCM the controller plays; :class:`UsageError` names any problem."""
    path = Path(path)
    info = _open_info(path)
    if info.format not in ("WAV", "WAVEX"):
        raise UsageError(f"{path}: a {info.format_info} file, not a WAV")
    if info.subtype not in PCM_SUBTYPES:
        what = ENCODING_NAMES.get(info.subtype, f"{info.subtype_info} data")
        raise UsageError(f"{path}: {what} are not supported: use 16- or 24-bit PCM")
    bits = PCM_SUBTYPES[info.subtype]
    layout = _riff_layout(path)
    if bits == 32:
        if layout.valid_bits != 24:
            raise UsageError(f"{path}: 32-bit samples are not supported: use 16- or 24-bit "
                             f"PCM (or 24 valid bits in a 32-bit container)")
        bits = 24
    if info.channels not in SUPPORTED_CHANNELS:
        raise UsageError(f"{path}: {info.channels} channels are not supported (1 or 2)")
    if info.samplerate not in SUPPORTED_RATES:
        raise UsageError(f"{path}: {info.samplerate} Hz is not supported "
                         f"({', '.join(str(r) for r in SUPPORTED_RATES)} Hz)")
    if (layout.data_declared not in (None, 0, UNKNOWN_LENGTH)
            and layout.data_present < layout.data_declared):
        raise UsageError(f"{path}: truncated (its data chunk promises {layout.data_declared} "
                         f"bytes, the file holds {layout.data_present})")
    try:
        samples, _ = sf.read(str(path), dtype="int32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise UsageError(f"{path}: cannot read its samples ({_sndfile_reason(exc)})") \
            from None
    # libsndfile scales every PCM width to the top of an int32
    if bits == 16:
        data = (samples >> 16).astype("<i2").tobytes()
    else:                       # sample in bits 31:8 of the container; padding bits cleared
        data = (samples & ~0xFF).astype("<i4").tobytes()
    return Pcm(data, info.channels, bits, info.samplerate)


def write_wav(path, frames, channels, bits, rate) -> None:
    """Write DAC frames (signed 24-bit (left, right)) as a ``bits``-bit PCM WAV at ``path``
    (callers stage it: :class:`pcsim.session.Session`)."""
    samples = np.array(frames, dtype=np.int32).reshape(-1, 2)[:, :channels]
    if bits == 16:
        data, subtype = (samples >> 8).astype(np.int16), "PCM_16"
    else:
        data, subtype = samples << 8, "PCM_24"
    sf.write(str(path), data, rate, subtype=subtype, format="WAV")
