"""portdrv's pure-Python core: status values, KS state stepping, wave formats and the PortCls
data-range intersection contract."""

import asyncio
import uuid

import pytest

from portdrv.formats import (
    KSDATAFORMAT_SUBTYPE_PCM,
    WAVE_FORMAT_EXTENSIBLE,
    WAVE_FORMAT_PCM,
    AudioDataRange,
    Intersection,
    WaveFormat,
    data_range_intersection,
    intersect_range,
    normalize_physical_position,
    port_intersection,
)
from portdrv.ksstate import KSSTATE, StreamState, state_steps
from portdrv.status import (
    NTSTATUS,
    StatusError,
    check_status,
    nt_error,
    nt_information,
    nt_success,
    nt_warning,
    status_name,
)

S, A, P, R = KSSTATE.STOP, KSSTATE.ACQUIRE, KSSTATE.PAUSE, KSSTATE.RUN


# ---------------------------------------------------------------- status

@pytest.mark.parametrize("name, code", [
    ("SUCCESS", 0x00000000),
    ("PENDING", 0x00000103),
    ("BUFFER_OVERFLOW", 0x80000005),
    ("UNSUCCESSFUL", 0xC0000001),
    ("NOT_IMPLEMENTED", 0xC0000002),
    ("INVALID_PARAMETER", 0xC000000D),
    ("INVALID_DEVICE_REQUEST", 0xC0000010),
    ("NO_MEMORY", 0xC0000017),
    ("BUFFER_TOO_SMALL", 0xC0000023),
    ("INSUFFICIENT_RESOURCES", 0xC000009A),
    ("DEVICE_NOT_READY", 0xC00000A3),
    ("NOT_SUPPORTED", 0xC00000BB),
    ("CANCELLED", 0xC0000120),
    ("INVALID_DEVICE_STATE", 0xC0000184),
    ("NOT_FOUND", 0xC0000225),
    ("NO_MATCH", 0xC0000272),
])
def test_status_codes_are_the_ntstatus_values(name, code):
    assert NTSTATUS[name] == code


def test_nt_success_follows_the_severity_bits():
    assert nt_success(NTSTATUS.SUCCESS) and nt_success(NTSTATUS.PENDING)
    # BUFFER_OVERFLOW is a warning: neither success nor error
    assert not nt_success(NTSTATUS.BUFFER_OVERFLOW)
    assert nt_warning(NTSTATUS.BUFFER_OVERFLOW) and not nt_error(NTSTATUS.BUFFER_OVERFLOW)
    for status in (NTSTATUS.UNSUCCESSFUL, NTSTATUS.NO_MATCH, NTSTATUS.BUFFER_TOO_SMALL,
                   NTSTATUS.NOT_IMPLEMENTED, NTSTATUS.CANCELLED):
        assert not nt_success(status) and nt_error(status)
    assert nt_information(0x40000000) and nt_success(0x40000000)
    # C's signed view of 0xC0000001
    assert nt_error(-1073741823) and not nt_success(-1073741823)
    with pytest.raises(TypeError):
        nt_success("0")
    with pytest.raises(ValueError, match="0x100000000"):
        nt_success(0x1_0000_0000)


def test_status_error_names_the_status():
    err = StatusError(NTSTATUS.NO_MATCH, "no common format")
    assert err.status is NTSTATUS.NO_MATCH
    assert str(err) == "no common format: STATUS_NO_MATCH (0xc0000272)"
    assert "0xc0001234" in str(StatusError(0xC0001234, "x"))
    assert status_name(-1073741823) == "STATUS_UNSUCCESSFUL (0xc0000001)"
    assert check_status(NTSTATUS.PENDING) == NTSTATUS.PENDING
    with pytest.raises(StatusError, match="STATUS_BUFFER_OVERFLOW"):
        check_status(NTSTATUS.BUFFER_OVERFLOW, "query")


# ---------------------------------------------------------------- KS states

def test_ksstate_numbering():
    assert [int(s) for s in (S, A, P, R)] == [0, 1, 2, 3]


@pytest.mark.parametrize("current, target, steps", [
    (S, S, []), (S, A, [A]), (S, P, [A, P]), (S, R, [A, P, R]),
    (A, S, [S]), (A, A, []), (A, P, [P]), (A, R, [P, R]),
    (P, S, [A, S]), (P, A, [A]), (P, P, []), (P, R, [R]),
    (R, S, [P, A, S]), (R, A, [P, A]), (R, P, [P]), (R, R, []),
])
def test_every_state_jump_is_walked_one_step_at_a_time(current, target, steps):
    assert state_steps(current, target) == steps
    assert state_steps(int(current), int(target)) == steps


def test_bad_state_is_named():
    with pytest.raises(ValueError, match="target state 4"):
        state_steps(S, 4)
    with pytest.raises(ValueError, match="current state 'run'"):
        state_steps("run", S)


def test_stream_state_stops_at_first_failed_step():
    stream = StreamState()
    assert stream.state is S
    seen = []

    def miniport(step):
        seen.append(step)
        return NTSTATUS.DEVICE_NOT_READY if step is P else NTSTATUS.SUCCESS

    assert stream.set_state(R, miniport) == NTSTATUS.DEVICE_NOT_READY
    assert seen == [A, P]  # RUN never reached the miniport
    assert stream.state is A  # the last step that succeeded

    seen.clear()
    assert stream.set_state(R, lambda step: seen.append(step) or NTSTATUS.SUCCESS) == 0
    assert seen == [P, R] and stream.state is R
    assert stream.set_state(R, lambda step: pytest.fail("no step for same state")) == 0


def test_stream_state_async_miniport():
    stream = StreamState(R)
    seen = []

    async def miniport(step):
        await asyncio.sleep(0)
        seen.append(step)
        return NTSTATUS.UNSUCCESSFUL if step is S else NTSTATUS.SUCCESS

    status = asyncio.run(stream.set_state_async(S, miniport))
    assert status == NTSTATUS.UNSUCCESSFUL
    assert seen == [P, A, S] and stream.state is A
    # plain (non-coroutine) callbacks work too
    assert asyncio.run(stream.set_state_async(S, lambda step: NTSTATUS.SUCCESS)) == 0
    assert stream.state is S


# ---------------------------------------------------------------- wave formats

PCM_48K_STEREO_16 = bytes.fromhex("0100 0200 80bb0000 00ee0200 0400 1000 0000")
GUID_PCM_LE = bytes.fromhex("01000000 0000 1000 8000 00aa00389b71")
EXT_48K_51_24IN32 = (bytes.fromhex("feff 0600 80bb0000 00941100 1800 2000 1600")
                     + bytes.fromhex("1800 3f000000") + GUID_PCM_LE)


def test_pcm_constructor_computes_derived_fields():
    fmt = WaveFormat.pcm(2, 48000, 16)
    assert fmt.format_tag == WAVE_FORMAT_PCM
    assert (fmt.block_align, fmt.avg_bytes_per_sec) == (4, 192000)
    assert fmt.to_bytes() == PCM_48K_STEREO_16
    assert fmt.size == 18 and fmt.ks_format_size == 82
    assert WaveFormat.from_bytes(PCM_48K_STEREO_16) == fmt


def test_extensible_bytes():
    fmt = WaveFormat.pcm(6, 48000, 24, container_bits=32)
    assert fmt.format_tag == WAVE_FORMAT_EXTENSIBLE
    assert (fmt.bits_per_sample, fmt.valid_bits, fmt.channel_mask) == (32, 24, 0x3F)
    assert (fmt.block_align, fmt.avg_bytes_per_sec) == (24, 1152000)
    assert fmt.subformat == KSDATAFORMAT_SUBTYPE_PCM
    assert fmt.to_bytes() == EXT_48K_51_24IN32 and len(EXT_48K_51_24IN32) == 40
    assert WaveFormat.from_bytes(EXT_48K_51_24IN32) == fmt


@pytest.mark.parametrize("args, kwargs, tag", [
    ((1, 8000, 8), {}, WAVE_FORMAT_PCM),
    ((2, 44100, 16), {}, WAVE_FORMAT_PCM),
    ((2, 48000, 16), {"extensible": True}, WAVE_FORMAT_EXTENSIBLE),
    ((2, 96000, 24), {}, WAVE_FORMAT_EXTENSIBLE),
    ((2, 96000, 24), {"extensible": False}, WAVE_FORMAT_PCM),
    ((4, 48000, 16), {}, WAVE_FORMAT_EXTENSIBLE),
    ((8, 192000, 32), {}, WAVE_FORMAT_EXTENSIBLE),
    ((2, 48000, 20), {}, WAVE_FORMAT_EXTENSIBLE),
    ((3, 48000, 16), {"channel_mask": 0x7}, WAVE_FORMAT_EXTENSIBLE),
])
def test_byte_round_trip(args, kwargs, tag):
    fmt = WaveFormat.pcm(*args, **kwargs)
    assert fmt.format_tag == tag
    raw = fmt.to_bytes()
    assert len(raw) == fmt.size
    assert WaveFormat.from_bytes(raw) == fmt
    assert WaveFormat.from_bytes(bytearray(raw) + b"\xAA" * 6) == fmt  # trailing bytes ignored


def test_from_bytes_ignores_pcm_cbsize_and_checks_extensible_cbsize():
    raw = bytearray(PCM_48K_STEREO_16)
    raw[16] = 22  # WAVEFORMATEX says cbSize is ignored for WAVE_FORMAT_PCM
    assert WaveFormat.from_bytes(raw) == WaveFormat.pcm(2, 48000, 16)
    ext = bytearray(EXT_48K_51_24IN32)
    ext[16] = 0
    with pytest.raises(ValueError, match="cbSize 0"):
        WaveFormat.from_bytes(ext)
    with pytest.raises(ValueError, match="got 17"):
        WaveFormat.from_bytes(PCM_48K_STEREO_16[:17])
    with pytest.raises(ValueError, match="got 39"):
        WaveFormat.from_bytes(EXT_48K_51_24IN32[:39])
    bad_align = bytearray(PCM_48K_STEREO_16)
    bad_align[12] = 3
    with pytest.raises(ValueError, match="block_align 3"):
        WaveFormat.from_bytes(bad_align)


def _pcm_fields(**override):
    fields = dict(format_tag=WAVE_FORMAT_PCM, channels=2, samples_per_sec=48000,
                  bits_per_sample=16, block_align=4, avg_bytes_per_sec=192000)
    fields.update(override)
    return fields


def _ext_fields(**override):
    fields = _pcm_fields(format_tag=WAVE_FORMAT_EXTENSIBLE, valid_bits_per_sample=16,
                         channel_mask=0x3, subformat=KSDATAFORMAT_SUBTYPE_PCM)
    fields.update(override)
    return fields


@pytest.mark.parametrize("fields, match", [
    (_pcm_fields(format_tag=3), "format_tag 3"),
    (_pcm_fields(channels=0), "channels 0"),
    (_pcm_fields(samples_per_sec=0), "samples_per_sec 0"),
    (_pcm_fields(samples_per_sec=48000.0), "samples_per_sec must be an int"),
    (_pcm_fields(bits_per_sample=12), "bits_per_sample 12"),
    (_pcm_fields(block_align=3), "block_align 3"),
    (_pcm_fields(avg_bytes_per_sec=1), "avg_bytes_per_sec 1"),
    (_pcm_fields(channel_mask=0x3), "channel_mask 3 is only for EXTENSIBLE"),
    (_ext_fields(valid_bits_per_sample=None), "valid_bits_per_sample missing"),
    (_ext_fields(valid_bits_per_sample=17), "valid_bits_per_sample 17"),
    (_ext_fields(channel_mask=None), "channel_mask missing"),
    (_ext_fields(channel_mask=0x7), "channel_mask 0x7"),
    (_ext_fields(subformat=uuid.UUID(int=3)), "subformat"),
])
def test_wave_format_validation_names_the_field(fields, match):
    with pytest.raises(ValueError, match=match):
        WaveFormat(**fields)


def test_pcm_constructor_validation():
    with pytest.raises(ValueError, match="container_bits 16"):
        WaveFormat.pcm(2, 48000, 24, container_bits=16)
    with pytest.raises(ValueError, match="bits 20 in a 24-bit container"):
        WaveFormat.pcm(2, 48000, 20, extensible=False)
    with pytest.raises(ValueError, match="bits 0"):
        WaveFormat.pcm(2, 48000, 0)
    with pytest.raises(ValueError, match="channels 0"):
        WaveFormat.pcm(0, 48000, 16)


# ---------------------------------------------------------------- data ranges and intersection

def test_data_range_contains_and_validation():
    rng = AudioDataRange(2, 16, 24, 44100, 48000)
    assert rng.contains(WaveFormat.pcm(2, 48000, 16))
    assert rng.contains(WaveFormat.pcm(1, 44100, 24, container_bits=32))  # valid bits count
    assert not rng.contains(WaveFormat.pcm(4, 48000, 16))
    assert not rng.contains(WaveFormat.pcm(2, 96000, 16))
    assert not rng.contains(WaveFormat.pcm(2, 48000, 8))
    with pytest.raises(ValueError, match="max_bits_per_sample 8"):
        AudioDataRange(2, 16, 8, 44100, 48000)
    with pytest.raises(ValueError, match="max_sample_frequency 8000"):
        AudioDataRange(2, 16, 16, 44100, 8000)


DRIVER = [AudioDataRange(2, 16, 16, 44100, 48000)]
CLIENT = AudioDataRange(8, 8, 24, 8000, 192000)


def test_size_query_returns_buffer_overflow_and_size():
    assert data_range_intersection(DRIVER, CLIENT, 0) == (NTSTATUS.BUFFER_OVERFLOW, None, 82)


def test_too_small_buffer():
    assert data_range_intersection(DRIVER, CLIENT, 81) == (NTSTATUS.BUFFER_TOO_SMALL, None, 82)


def test_no_match():
    assert data_range_intersection(DRIVER, AudioDataRange(2, 16, 16, 96000, 192000), 200) \
        == (NTSTATUS.NO_MATCH, None, 0)
    assert data_range_intersection(DRIVER, AudioDataRange(2, 24, 32, 8000, 48000), 0) \
        == (NTSTATUS.NO_MATCH, None, 0)  # a size query with no match is still NO_MATCH
    assert data_range_intersection(DRIVER, WaveFormat.pcm(6, 48000, 16), 200).status \
        == NTSTATUS.NO_MATCH
    assert data_range_intersection([], CLIENT, 200).status == NTSTATUS.NO_MATCH


def test_success_picks_the_best_format():
    status, fmt, size = data_range_intersection(DRIVER, CLIENT, 82)
    assert status == NTSTATUS.SUCCESS and size == 82
    assert fmt == WaveFormat.pcm(2, 48000, 16)
    # most channels both allow, highest bits and rate inside both ranges; the port's default
    # handler answers a plain WAVEFORMATEX, never WAVEFORMATEXTENSIBLE (was: EXTENSIBLE,
    # 104 bytes) - "Data-Intersection Handlers" / "Default Data-Intersection Handler"
    status, fmt, size = data_range_intersection(
        [AudioDataRange(8, 16, 24, 8000, 192000)], AudioDataRange(6, 16, 32, 44100, 96000), 200)
    assert status == NTSTATUS.SUCCESS and size == 82
    assert (fmt.channels, fmt.valid_bits, fmt.samples_per_sec) == (6, 24, 96000)
    assert not fmt.is_extensible and fmt.bits_per_sample == 24


def test_client_format_is_accepted_as_is():
    want = WaveFormat.pcm(1, 44100, 16)
    assert data_range_intersection(DRIVER, want, 82) == (NTSTATUS.SUCCESS, want, 82)


def test_first_matching_range_wins():
    ranges = [AudioDataRange(2, 16, 16, 48000, 48000), AudioDataRange(8, 16, 32, 8000, 192000)]
    assert data_range_intersection(ranges, CLIENT, 200).format == WaveFormat.pcm(2, 48000, 16)


# only the last range fits a 48 kHz 24-bit stereo request
SEVERAL = [AudioDataRange(2, 16, 16, 44100, 44100),
           AudioDataRange(2, 8, 8, 8000, 22050),
           AudioDataRange(2, 16, 24, 48000, 48000)]
WANT = WaveFormat.pcm(2, 48000, 24)


def test_not_implemented_falls_back_to_default_over_every_range():
    asked = []

    def miniport(client, driver_range, output_size):
        asked.append(driver_range)
        return NTSTATUS.NOT_IMPLEMENTED

    assert port_intersection(miniport, SEVERAL, WANT, 200) == (NTSTATUS.SUCCESS, WANT, 104)
    assert asked == SEVERAL  # the miniport was offered every range, in order
    assert port_intersection(None, SEVERAL, WANT, 0) == (NTSTATUS.BUFFER_OVERFLOW, None, 104)
    assert data_range_intersection(SEVERAL, WANT, 200).format == WANT
    assert port_intersection(miniport, SEVERAL[:2], WANT, 200).status == NTSTATUS.NO_MATCH


def test_miniport_answers_are_final_unless_no_match_or_not_implemented():
    mine = WaveFormat.pcm(2, 44100, 16)

    def miniport(client, driver_range, output_size):
        if driver_range is SEVERAL[0]:
            return Intersection(NTSTATUS.NO_MATCH, None, 0)
        return NTSTATUS.SUCCESS, mine, 82  # a plain tuple is accepted

    assert port_intersection(miniport, SEVERAL, WANT, 200) == (NTSTATUS.SUCCESS, mine, 82)
    # an error other than NO_MATCH ends the search even though a later range would match
    assert port_intersection(lambda c, r, n: NTSTATUS.INVALID_PARAMETER, SEVERAL, WANT, 200) \
        == (NTSTATUS.INVALID_PARAMETER, None, 0)


def test_intersection_argument_errors():
    with pytest.raises(ValueError, match="output_size -1"):
        intersect_range(DRIVER[0], CLIENT, -1)
    with pytest.raises(TypeError, match="client 'pcm'"):
        intersect_range(DRIVER[0], "pcm", 0)


# ---------------------------------------------------------------- positions

@pytest.mark.parametrize("args, hns", [
    ((2, 48000, 16), {192000: 10_000_000, 4: 208, 0: 0, 96000: 5_000_000}),
    ((2, 44100, 16), {176400: 10_000_000, 4: 226, 1764: 100_000}),
    ((6, 48000, 24, 32), {24 * 48000 * 3600: 36_000_000_000, 24 * 480: 100_000}),
])
def test_normalize_physical_position(args, hns):
    fmt = WaveFormat.pcm(*args)
    for nbytes, want in hns.items():
        assert normalize_physical_position(nbytes, fmt) == want
    with pytest.raises(ValueError, match="byte_position -4"):
        normalize_physical_position(-4, fmt)
