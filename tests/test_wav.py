"""WAV files as users have them: sox-written and hand-built files (16- and 24-bit, plain and
WAVE_FORMAT_EXTENSIBLE, 24 valid bits in a 32-bit container, mono and stereo, 8-48 kHz,
odd-length data chunks with and without the pad byte, extra chunks) are read exactly, written
back in the same format, and play bit-exact through all three wave miniports."""

import struct

import numpy as np
import pytest
import soundfile as sf

from harness.frames import expected_dac_frames
from pcsim.errors import UsageError
from pcsim.play import play
from pcsim.wav import read_wav, write_wav
from wav_files import extensible_fmt, pcm_fmt, riff_wav, sox, sox_wav

#: (name, channels, bits, rate, how it is made)
FORMATS = [
    ("sox-16-stereo-48k-plain", 2, 16, 48000, "sox"),
    ("sox-24-mono-16k-extensible", 1, 24, 16000, "sox"),
    ("sox-24-stereo-32k-plain", 2, 24, 32000, "sox-wavpcm"),
    ("sox-16-mono-8k-plain", 1, 16, 8000, "sox"),
    ("hand-16-mono-32k-extensible", 1, 16, 32000, "extensible"),
    ("hand-24in32-stereo-48k-extensible", 2, 24, 48000, "24in32"),
    ("hand-24-mono-48k-odd-unpadded", 1, 24, 48000, "odd-unpadded"),
]
FORMAT_IDS = [f[0] for f in FORMATS]
#: clip length per simulator (ms of audio)
CLIP_MS = {"verilator": 5, "icarus": 1}
#: a frame count that makes a 24-bit mono data chunk odd-length
ODD_FRAMES = 241


def random_samples(rng, frames, channels, bits):
    """Full-range random samples, as int32 with the sample in the top bits (soundfile's
    int32 view of any PCM width)."""
    top = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(frames, channels),
                       dtype=np.int64)
    return (top << (32 - bits)).astype(np.int32)


def make_wav(folder, name, channels, bits, rate, how, frames, seed=7):
    """Write the format ``how`` with random content; return (path, int32 samples)."""
    path = folder / f"{name}.wav"
    rng = np.random.default_rng(seed)
    if how.startswith("sox"):
        raw = folder / f"{name}.raw"
        samples = random_samples(rng, frames, channels, bits)
        raw.write_bytes(samples.astype("<i4").tobytes() if bits == 24
                        else (samples >> 16).astype("<i2").tobytes())
        kind = ["-t", "wavpcm"] if how == "sox-wavpcm" else []
        # -D: no dither, the low byte of a 24-bit sample in 32 bits is zero already
        sox("-D", "-t", "raw", "-r", rate, "-c", channels, "-b", 32 if bits == 24 else 16,
            "-e", "signed-integer", raw, "-b", bits, *kind, path)
        return path, samples
    samples = random_samples(rng, frames, channels, bits)
    if how == "extensible":
        data = (samples >> 16).astype("<i2").tobytes()
        return riff_wav(path, extensible_fmt(channels, rate, 16, 16), data,
                        after=[(b"LIST", b"INFOISFT\x05\x00\x00\x00pcsm\x00\x00")]), samples
    if how == "24in32":
        data = samples.astype("<i4").tobytes()
        return riff_wav(path, extensible_fmt(channels, rate, 32, 24), data,
                        before=[(b"LIST", b"INFOICMT\x04\x00\x00\x00test")]), samples
    if how == "odd-unpadded":
        data = b"".join(int(v >> 8).to_bytes(3, "little", signed=True)
                        for v in samples.flatten())
        assert len(data) % 2 == 1
        return riff_wav(path, pcm_fmt(channels, rate, 24), data, pad=False), samples
    raise ValueError(how)


def pcm_of(samples, bits):
    """What the controller must read from memory for these samples."""
    if bits == 16:
        return (samples >> 16).astype("<i2").tobytes()
    return samples.astype("<i4").tobytes()


@pytest.mark.parametrize("name,channels,bits,rate,how", FORMATS, ids=FORMAT_IDS)
def test_read_exact_and_write_back(tmp_path, name, channels, bits, rate, how):
    path, samples = make_wav(tmp_path, name, channels, bits, rate, how, ODD_FRAMES)
    pcm = read_wav(path)
    assert (pcm.channels, pcm.bits, pcm.rate, pcm.frames) == (channels, bits, rate, ODD_FRAMES)
    assert pcm.data == pcm_of(samples, bits)
    out = tmp_path / "back.wav"
    write_wav(out, expected_dac_frames(pcm.data, channels, bits), channels, bits, rate)
    info = sf.info(str(out))
    assert (info.channels, info.samplerate, info.frames) == (channels, rate, ODD_FRAMES)
    assert info.subtype == f"PCM_{bits}"
    assert read_wav(out).data == pcm.data
    # sox reads it back as the same format and the same samples
    raw = tmp_path / "back.raw"
    sox(out, "-t", "raw", "-e", "signed-integer", "-b", "32", raw)
    assert np.frombuffer(raw.read_bytes(), "<i4").tobytes() == \
        (samples & ~0xFF if bits == 24 else samples).astype("<i4").tobytes()


def test_pad_byte_and_chunks_after_data(tmp_path):
    """An odd data chunk with its pad byte, then another chunk: read exactly."""
    rng = np.random.default_rng(3)
    samples = random_samples(rng, ODD_FRAMES, 1, 24)
    data = b"".join(int(v >> 8).to_bytes(3, "little", signed=True) for v in samples.flatten())
    path = riff_wav(tmp_path / "padded.wav", pcm_fmt(1, 48000, 24), data,
                    after=[(b"junk", b"\0" * 7)])
    assert read_wav(path).data == pcm_of(samples, 24)


@pytest.mark.parametrize("how,text", [
    ("float", "32-bit float samples are not supported: use 16- or 24-bit PCM"),
    ("int32", "32-bit samples are not supported"),
    ("alaw", "A-law samples are not supported"),
    ("extensible-float", "32-bit float samples are not supported"),
])
def test_other_encodings_are_named(tmp_path, how, text):
    path = tmp_path / f"{how}.wav"
    if how == "float":
        sox_wav(path, bits=32, encoding="floating-point")
    elif how == "int32":
        sox_wav(path, bits=32)
    elif how == "alaw":
        sox_wav(path, channels=1, bits=8, encoding="a-law")
    else:
        float_guid = bytes.fromhex("0300000000001000800000aa00389b71")
        riff_wav(path, extensible_fmt(2, 48000, 32, 32, subformat=float_guid),
                 struct.pack("<8f", *[0.1] * 8))
    with pytest.raises(UsageError, match=text):
        read_wav(path)


def _play_format(tmp_path, sim, miniport, fmt):
    name, channels, bits, rate, how = fmt
    frames = rate * CLIP_MS[sim] // 1000 | 1     # odd: odd-length 24-bit mono data chunks
    path, samples = make_wav(tmp_path, name, channels, bits, rate, how, frames)
    out = tmp_path / "out.wav"
    report = play(path, out, sim=sim, miniport=miniport)
    assert report["bit_exact"] and report["frames_out"] == report["frames_in"] == frames
    assert read_wav(out).data == pcm_of(samples & ~0xFF if bits == 24 else samples, bits)
    assert sf.info(str(out)).subtype == f"PCM_{bits}"


@pytest.mark.parametrize("fmt", FORMATS, ids=FORMAT_IDS)
@pytest.mark.parametrize("miniport", ["wavert", "wavecyclic", "wavepci"])
def test_plays_bit_exact_verilator(tmp_path, miniport, fmt):
    _play_format(tmp_path, "verilator", miniport, fmt)


@pytest.mark.parametrize("fmt", FORMATS, ids=FORMAT_IDS)
def test_plays_bit_exact_icarus(tmp_path, fmt):
    miniport = ("wavert", "wavecyclic", "wavepci")[FORMATS.index(fmt) % 3]
    _play_format(tmp_path, "icarus", miniport, fmt)
