"""Wave formats, audio data ranges and the PortCls data-range intersection; music formats.

A pin advertises what it can stream as data ranges (KSDATARANGE_AUDIO); a client picks a
concrete format (WAVEFORMATEX / WAVEFORMATEXTENSIBLE) by asking for the intersection of its
own range with the pin's. Only integer PCM is carried here, which is all our hardware plays.
MIDI and DirectMusic pins use the music formats at the end (KSDATARANGE_MUSIC): a byte stream
or timestamped events have no rate or sample size, so a subtype is all they carry.
"""

import struct
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from .status import NTSTATUS

__all__ = [
    "AudioDataRange",
    "DMUS_FORMAT",
    "Intersection",
    "KSDATAFORMAT_SIZE",
    "KSDATAFORMAT_SPECIFIER_WAVEFORMATEX",
    "KSDATAFORMAT_SUBTYPE_DIRECTMUSIC",
    "KSDATAFORMAT_SUBTYPE_MIDI",
    "KSDATAFORMAT_SUBTYPE_PCM",
    "KSDATAFORMAT_TYPE_AUDIO",
    "KSDATAFORMAT_TYPE_MUSIC",
    "MIDI_FORMAT",
    "MusicDataRange",
    "MusicFormat",
    "WAVEFORMATEX_SIZE",
    "WAVEFORMATEXTENSIBLE_SIZE",
    "WAVE_FORMAT_EXTENSIBLE",
    "WAVE_FORMAT_PCM",
    "WaveFormat",
    "data_range_intersection",
    "default_channel_mask",
    "intersect_range",
    "intersection_answer",
    "normalize_physical_position",
    "port_intersection",
]

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_EXTENSIBLE = 0xFFFE

KSDATAFORMAT_TYPE_AUDIO = uuid.UUID("73647561-0000-0010-8000-00aa00389b71")
KSDATAFORMAT_SUBTYPE_PCM = uuid.UUID("00000001-0000-0010-8000-00aa00389b71")
KSDATAFORMAT_SPECIFIER_WAVEFORMATEX = uuid.UUID("05589f81-c356-11ce-bf01-00aa0055595a")

# An intersection result is a KSDATAFORMAT header (size, flags, sample size, reserved and three
# GUIDs) followed by the WAVEFORMATEX, so sizes reported to clients include these 64 bytes.
KSDATAFORMAT_SIZE = 64
WAVEFORMATEX_SIZE = 18
WAVEFORMATEXTENSIBLE_SIZE = 40
_EXTENSIBLE_CB_SIZE = WAVEFORMATEXTENSIBLE_SIZE - WAVEFORMATEX_SIZE  # 22

_WFX = struct.Struct("<HHIIHHH")  # tag, channels, rate, avg bytes/s, block align, bits, cbSize
_WFX_EXT = struct.Struct("<HI16s")  # valid bits, channel mask, SubFormat GUID (little-endian)

_CONTAINER_BITS = (8, 16, 24, 32)

# KSAUDIO_SPEAKER_* layouts for the usual channel counts; other counts get no assignment (0).
_SPEAKER_MASKS = {1: 0x4, 2: 0x3, 4: 0x33, 6: 0x3F, 8: 0x63F}


def default_channel_mask(channels: int) -> int:
    """The KSAUDIO_SPEAKER_* mask usually paired with ``channels`` (mono, stereo, quad, 5.1,
    7.1 surround), or 0 (KSAUDIO_SPEAKER_DIRECTOUT) for other counts."""
    return _SPEAKER_MASKS.get(channels, 0)


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} {value} out of range {lo}..{hi}")


@dataclass(frozen=True)
class WaveFormat:
    """A WAVEFORMATEX, or a WAVEFORMATEXTENSIBLE when ``format_tag`` is WAVE_FORMAT_EXTENSIBLE.

    ``bits_per_sample`` is the container size (8/16/24/32); for EXTENSIBLE,
    ``valid_bits_per_sample`` is the sample precision inside it. The three EXTENSIBLE-only
    fields must be None for plain PCM. Construction validates every field and the derived
    ones (block_align, avg_bytes_per_sec); use :meth:`pcm` to have them computed.
    """

    format_tag: int
    channels: int
    samples_per_sec: int
    bits_per_sample: int
    block_align: int
    avg_bytes_per_sec: int
    valid_bits_per_sample: int | None = None
    channel_mask: int | None = None
    subformat: uuid.UUID | None = None

    def __post_init__(self):
        if self.format_tag not in (WAVE_FORMAT_PCM, WAVE_FORMAT_EXTENSIBLE):
            raise ValueError(
                f"format_tag {self.format_tag!r} not supported "
                f"(WAVE_FORMAT_PCM {WAVE_FORMAT_PCM:#06x} or "
                f"WAVE_FORMAT_EXTENSIBLE {WAVE_FORMAT_EXTENSIBLE:#06x})"
            )
        _check_int("channels", self.channels, 1, 0xFFFF)
        _check_int("samples_per_sec", self.samples_per_sec, 1, 0xFFFFFFFF)
        if self.bits_per_sample not in _CONTAINER_BITS:
            raise ValueError(
                f"bits_per_sample {self.bits_per_sample!r} must be a container size "
                f"{_CONTAINER_BITS}"
            )
        want_align = self.channels * self.bits_per_sample // 8
        if self.block_align != want_align:
            raise ValueError(
                f"block_align {self.block_align!r} != channels * bits_per_sample / 8 "
                f"= {want_align}"
            )
        _check_int("block_align", self.block_align, 1, 0xFFFF)
        want_avg = self.block_align * self.samples_per_sec
        if self.avg_bytes_per_sec != want_avg:
            raise ValueError(
                f"avg_bytes_per_sec {self.avg_bytes_per_sec!r} != block_align * "
                f"samples_per_sec = {want_avg}"
            )
        _check_int("avg_bytes_per_sec", self.avg_bytes_per_sec, 1, 0xFFFFFFFF)
        if self.format_tag == WAVE_FORMAT_EXTENSIBLE:
            self._check_extensible()
        else:
            for name in ("valid_bits_per_sample", "channel_mask", "subformat"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} {getattr(self, name)!r} is only for EXTENSIBLE")

    def _check_extensible(self):
        if self.valid_bits_per_sample is None:
            raise ValueError("valid_bits_per_sample missing for WAVE_FORMAT_EXTENSIBLE")
        _check_int("valid_bits_per_sample", self.valid_bits_per_sample, 1, self.bits_per_sample)
        if self.channel_mask is None:
            raise ValueError("channel_mask missing for WAVE_FORMAT_EXTENSIBLE")
        _check_int("channel_mask", self.channel_mask, 0, 0xFFFFFFFF)
        # Each set bit names the speaker of one channel, in order: more bits than channels
        # would place speakers that carry no data.
        if self.channel_mask.bit_count() > self.channels:
            raise ValueError(
                f"channel_mask {self.channel_mask:#x} names more speakers than "
                f"channels {self.channels}"
            )
        if self.subformat != KSDATAFORMAT_SUBTYPE_PCM:
            raise ValueError(
                f"subformat {self.subformat!r} not supported (only KSDATAFORMAT_SUBTYPE_PCM "
                f"{KSDATAFORMAT_SUBTYPE_PCM})"
            )

    @classmethod
    def pcm(cls, channels: int, rate: int, bits: int, container_bits: int | None = None,
            *, channel_mask: int | None = None, extensible: bool | None = None) -> "WaveFormat":
        """Integer PCM with block_align and avg_bytes_per_sec computed.

        ``bits`` is the sample precision, ``container_bits`` the storage size (default: bits
        rounded up to whole bytes). With ``extensible=None`` the format is EXTENSIBLE when
        plain WAVEFORMATEX would be ambiguous, as Microsoft recommends: more than two channels,
        containers over 16 bits, precision below the container, or an explicit channel mask.
        """
        _check_int("bits", bits, 1, 32)
        if container_bits is None:
            container_bits = (bits + 7) // 8 * 8
        if container_bits not in _CONTAINER_BITS or container_bits < bits:
            raise ValueError(
                f"container_bits {container_bits!r} must be one of {_CONTAINER_BITS} "
                f"and hold bits {bits}"
            )
        _check_int("channels", channels, 1, 0xFFFF)
        needs_ext = bits != container_bits or channel_mask is not None
        if extensible is None:
            extensible = needs_ext or channels > 2 or container_bits > 16
        elif not extensible and needs_ext:
            raise ValueError(
                f"bits {bits} in a {container_bits}-bit container or a channel_mask "
                f"needs WAVE_FORMAT_EXTENSIBLE"
            )
        block_align = channels * container_bits // 8
        common = dict(channels=channels, samples_per_sec=rate, bits_per_sample=container_bits,
                      block_align=block_align, avg_bytes_per_sec=block_align * rate)
        if not extensible:
            return cls(WAVE_FORMAT_PCM, **common)
        if channel_mask is None:
            channel_mask = default_channel_mask(channels)
        return cls(WAVE_FORMAT_EXTENSIBLE, **common, valid_bits_per_sample=bits,
                   channel_mask=channel_mask, subformat=KSDATAFORMAT_SUBTYPE_PCM)

    @property
    def is_extensible(self) -> bool:
        return self.format_tag == WAVE_FORMAT_EXTENSIBLE

    @property
    def valid_bits(self) -> int:
        """Sample precision: valid_bits_per_sample for EXTENSIBLE, else bits_per_sample."""
        return self.valid_bits_per_sample if self.is_extensible else self.bits_per_sample

    @property
    def size(self) -> int:
        """Bytes of :meth:`to_bytes`: 18 for PCM, 40 for EXTENSIBLE."""
        return WAVEFORMATEXTENSIBLE_SIZE if self.is_extensible else WAVEFORMATEX_SIZE

    @property
    def ks_format_size(self) -> int:
        """Bytes of the KSDATAFORMAT_WAVEFORMATEX an intersection hands back."""
        return KSDATAFORMAT_SIZE + self.size

    def to_bytes(self) -> bytes:
        """The little-endian WAVEFORMATEX(TENSIBLE) layout; cbSize is 0 or 22."""
        cb_size = _EXTENSIBLE_CB_SIZE if self.is_extensible else 0
        head = _WFX.pack(self.format_tag, self.channels, self.samples_per_sec,
                         self.avg_bytes_per_sec, self.block_align, self.bits_per_sample,
                         cb_size)
        if not self.is_extensible:
            return head
        return head + _WFX_EXT.pack(self.valid_bits_per_sample, self.channel_mask,
                                    self.subformat.bytes_le)

    @classmethod
    def from_bytes(cls, data) -> "WaveFormat":
        """Parse a WAVEFORMATEX(TENSIBLE); trailing bytes past 18 + cbSize are ignored.

        For WAVE_FORMAT_PCM cbSize is ignored, as the WAVEFORMATEX documentation says.
        """
        data = bytes(data)
        if len(data) < WAVEFORMATEX_SIZE:
            raise ValueError(f"WAVEFORMATEX needs {WAVEFORMATEX_SIZE} bytes, got {len(data)}")
        tag, channels, rate, avg, align, bits, cb_size = _WFX.unpack_from(data)
        common = dict(format_tag=tag, channels=channels, samples_per_sec=rate,
                      bits_per_sample=bits, block_align=align, avg_bytes_per_sec=avg)
        if tag != WAVE_FORMAT_EXTENSIBLE:
            return cls(**common)
        if cb_size < _EXTENSIBLE_CB_SIZE:
            raise ValueError(
                f"cbSize {cb_size} too small for WAVE_FORMAT_EXTENSIBLE "
                f"(needs {_EXTENSIBLE_CB_SIZE})"
            )
        if len(data) < WAVEFORMATEXTENSIBLE_SIZE:
            raise ValueError(
                f"WAVEFORMATEXTENSIBLE needs {WAVEFORMATEXTENSIBLE_SIZE} bytes, got {len(data)}"
            )
        valid, mask, guid = _WFX_EXT.unpack_from(data, WAVEFORMATEX_SIZE)
        return cls(**common, valid_bits_per_sample=valid, channel_mask=mask,
                   subformat=uuid.UUID(bytes_le=guid))


@dataclass(frozen=True)
class AudioDataRange:
    """A KSDATARANGE_AUDIO for integer PCM: up to ``max_channels`` channels, a precision
    (valid bits) range and a sample-rate range, all bounds inclusive."""

    max_channels: int
    min_bits_per_sample: int
    max_bits_per_sample: int
    min_sample_frequency: int
    max_sample_frequency: int

    def __post_init__(self):
        _check_int("max_channels", self.max_channels, 1, 0xFFFFFFFF)
        _check_int("min_bits_per_sample", self.min_bits_per_sample, 1, 0xFFFFFFFF)
        _check_int("max_bits_per_sample", self.max_bits_per_sample,
                   self.min_bits_per_sample, 0xFFFFFFFF)
        _check_int("min_sample_frequency", self.min_sample_frequency, 1, 0xFFFFFFFF)
        _check_int("max_sample_frequency", self.max_sample_frequency,
                   self.min_sample_frequency, 0xFFFFFFFF)

    def contains(self, fmt: WaveFormat) -> bool:
        """True if ``fmt``'s channels, precision (valid bits) and rate all lie in the range."""
        return (fmt.channels <= self.max_channels
                and self.min_bits_per_sample <= fmt.valid_bits <= self.max_bits_per_sample
                and self.min_sample_frequency <= fmt.samples_per_sec
                <= self.max_sample_frequency)

    def best_common_format(self, other: "AudioDataRange") -> WaveFormat | None:
        """The highest-quality format inside both ranges, or None if they do not overlap.

        Rule: the most channels both allow (the smaller maximum), then the largest precision
        and the highest rate inside both ranges; quality first, as drivers' intersection
        handlers usually choose. The format is built by :meth:`WaveFormat.pcm`.
        """
        bits = min(self.max_bits_per_sample, other.max_bits_per_sample)
        rate = min(self.max_sample_frequency, other.max_sample_frequency)
        if bits < max(self.min_bits_per_sample, other.min_bits_per_sample):
            return None
        if rate < max(self.min_sample_frequency, other.min_sample_frequency):
            return None
        channels = min(self.max_channels, other.max_channels)
        # the port's default handler answers a plain WAVEFORMATEX (samples in a container of
        # their own size), never WAVEFORMATEXTENSIBLE ("Data-Intersection Handlers"); a
        # miniport whose hardware needs another container answers with its own handler
        return WaveFormat.pcm(channels, rate, bits, extensible=False if bits % 8 == 0 else None)


class Intersection(NamedTuple):
    """An intersection answer: status, the chosen format (only on SUCCESS) and a size in
    bytes (the KSDATAFORMAT_WAVEFORMATEX size for SUCCESS, BUFFER_OVERFLOW and
    BUFFER_TOO_SMALL; 0 for NO_MATCH)."""

    status: int
    format: WaveFormat | None
    size: int


_NO_MATCH = Intersection(NTSTATUS.NO_MATCH, None, 0)


def intersect_range(driver_range: AudioDataRange, client, output_size: int) -> Intersection:
    """The port's default intersection of one driver data range with the client's request.

    ``client`` is an :class:`AudioDataRange` (the best common format is chosen) or a
    :class:`WaveFormat` (accepted as is if the range contains it). The match is decided
    first, since the size depends on the chosen format; then ``output_size`` 0 is a size
    query answered with BUFFER_OVERFLOW and the required size, a smaller non-zero size gets
    BUFFER_TOO_SMALL (with the required size), and a large enough one SUCCESS and the format.
    """
    if isinstance(output_size, bool) or not isinstance(output_size, int) or output_size < 0:
        raise ValueError(f"output_size {output_size!r} must be an int >= 0")
    if isinstance(client, AudioDataRange):
        fmt = driver_range.best_common_format(client)
    elif isinstance(client, WaveFormat):
        fmt = client if driver_range.contains(client) else None
    else:
        raise TypeError(f"client {client!r} must be an AudioDataRange or a WaveFormat")
    return intersection_answer(fmt, output_size)


def intersection_answer(fmt, output_size: int) -> Intersection:
    """The answer for the chosen format ``fmt`` (None: NO_MATCH) to a request with
    ``output_size`` bytes of room: a size query (0) gets BUFFER_OVERFLOW and the size, a
    short buffer BUFFER_TOO_SMALL and the size, enough room SUCCESS and the format."""
    if fmt is None:
        return _NO_MATCH
    size = fmt.ks_format_size
    if output_size == 0:
        return Intersection(NTSTATUS.BUFFER_OVERFLOW, None, size)
    if output_size < size:
        return Intersection(NTSTATUS.BUFFER_TOO_SMALL, None, size)
    return Intersection(NTSTATUS.SUCCESS, fmt, size)


def data_range_intersection(ranges, client, output_size: int) -> Intersection:
    """The port's default intersection over a pin's data ranges: every range is tried in
    order and the first that matches answers (ranges are listed in order of preference).
    NO_MATCH only when none matches."""
    return port_intersection(None, ranges, client, output_size)


def port_intersection(miniport_handler, ranges, client, output_size: int) -> Intersection:
    """KSPROPERTY_PIN_DATAINTERSECTION as a PortCls port runs it.

    For each of the pin's data ranges in order, the miniport's handler (its
    DataRangeIntersection; bind the pin id with a closure) is called as
    ``miniport_handler(client, driver_range, output_size)`` and returns an
    :class:`Intersection`-like ``(status, format, size)`` or a bare status. NOT_IMPLEMENTED
    means "use the port's default" for that range; NO_MATCH moves on to the next range; any
    other answer is final. ``miniport_handler=None`` uses the default throughout.
    """
    for driver_range in ranges:
        answer = (NTSTATUS.NOT_IMPLEMENTED if miniport_handler is None
                  else miniport_handler(client, driver_range, output_size))
        if isinstance(answer, int):
            answer = Intersection(answer, None, 0)
        else:
            answer = Intersection(*answer)
        if answer.status == NTSTATUS.NOT_IMPLEMENTED:
            answer = intersect_range(driver_range, client, output_size)
        if answer.status != NTSTATUS.NO_MATCH:
            return answer
    return _NO_MATCH


def normalize_physical_position(byte_position: int, fmt: WaveFormat) -> int:
    """A byte position as 100-ns units: bytes * 10**7 // (block_align * rate), rounded down,
    as IPortWaveCyclic/WavePci NormalizePhysicalPosition does."""
    if isinstance(byte_position, bool) or not isinstance(byte_position, int) or byte_position < 0:
        raise ValueError(f"byte_position {byte_position!r} must be an int >= 0")
    return byte_position * 10_000_000 // (fmt.block_align * fmt.samples_per_sec)


# ---------------------------------------------------------------- music (MIDI and DirectMusic)

KSDATAFORMAT_TYPE_MUSIC = uuid.UUID("e725d360-62cc-11cf-a5d6-28db04c10000")
#: a MIDI byte stream (the MIDI port's pins)
KSDATAFORMAT_SUBTYPE_MIDI = uuid.UUID("1d262760-e957-11cf-a5d6-28db04c10000")
#: timestamped DirectMusic events (the DMus port's pins)
KSDATAFORMAT_SUBTYPE_DIRECTMUSIC = uuid.UUID("1a82f8bc-3f8b-11d2-b774-0060083316c1")

_MUSIC_SUBTYPES = (KSDATAFORMAT_SUBTYPE_MIDI, KSDATAFORMAT_SUBTYPE_DIRECTMUSIC)


def _check_music_subtype(subtype):
    if subtype not in _MUSIC_SUBTYPES:
        raise ValueError(f"music subtype {subtype!r} is neither KSDATAFORMAT_SUBTYPE_MIDI "
                         f"nor KSDATAFORMAT_SUBTYPE_DIRECTMUSIC")


@dataclass(frozen=True)
class MusicFormat:
    """A KSDATAFORMAT of major type MUSIC: a MIDI byte stream or DirectMusic events."""

    subtype: uuid.UUID

    def __post_init__(self):
        _check_music_subtype(self.subtype)

    def __str__(self):
        return "MIDI" if self.subtype == KSDATAFORMAT_SUBTYPE_MIDI else "DirectMusic"


@dataclass(frozen=True)
class MusicDataRange:
    """A KSDATARANGE_MUSIC reduced to what a pin can be opened with: its subtype.

    (The real structure also names a synthesizer technology, voice and channel counts; a
    MIDI port pin that passes bytes to a UART has none of them to offer.)"""

    subtype: uuid.UUID

    def __post_init__(self):
        _check_music_subtype(self.subtype)

    def contains(self, fmt: MusicFormat) -> bool:
        return fmt.subtype == self.subtype


MIDI_FORMAT = MusicFormat(KSDATAFORMAT_SUBTYPE_MIDI)
DMUS_FORMAT = MusicFormat(KSDATAFORMAT_SUBTYPE_DIRECTMUSIC)
