"""Test helpers shared by the codec's unit tests (test_codec.py) and cosim tests
(codec_tests.py): the amplifiers' set verbs, the model of the DAC path, and a walk of the
widget graph with parameter (F00), connection-list (F02) and configuration-default (F1C) verbs
only, as a driver discovers it, with the topology rtl/codec.py builds (written out
by hand, not taken from rtl/codec.py)."""

from rtl.gain import SAMPLE_MAX, SAMPLE_MIN, apply_gain

#: amplifier name -> (nid, output amp?, input index)
AMPS = {
    "dac_a": (0x02, True, 0), "dac_b": (0x03, True, 0),
    "mix_a": (0x05, False, 0), "mix_b": (0x05, False, 1), "hp": (0x06, True, 0),
    "mic": (0x04, False, 0), "line": (0x04, False, 1),
}
#: the amps of the DAC path, in signal order per DAC, then the headphone amp
DAC_PATH_AMPS = ("dac_a", "mix_a", "dac_b", "mix_b", "hp")


def amp_verbs(name, left=None, right=None):
    """Set-amplifier verbs (4-bit verb 3) giving one or both channels of amp ``name`` an 8-bit
    setting (bit 7 mute, bits 6:0 gain index)."""
    nid, output, index = AMPS[name]
    head = (0x8000 if output else 0x4000) | (index << 8)
    return [(nid << 20) | (0x3 << 16) | head | side | value
            for side, value in ((0x2000, left), (0x1000, right)) if value is not None]


def dac_path(settings, a, b):
    """One channel of the DAC path: DAC amp -> mixer input amp -> saturating sum -> headphone
    amp. ``settings`` maps each of :data:`DAC_PATH_AMPS` to its setting; ``a``/``b`` are the
    DACs' samples (0 for a DAC that got no slot). Returns (output, mixer sum): the sum is what
    the F80 peak meter sees."""
    ma = apply_gain(apply_gain(a, settings["dac_a"]), settings["mix_a"])
    mb = apply_gain(apply_gain(b, settings["dac_b"]), settings["mix_b"])
    mixed = max(SAMPLE_MIN, min(SAMPLE_MAX, ma + mb))
    return apply_gain(mixed, settings["hp"]), mixed


def peak_reading(left_sums, right_sums):
    """The F80 answer for mixer sums seen since the last read: per side the top 16 bits of the
    23-bit peak magnitude (|-2^23| saturates), left in [31:16]."""
    top = [min(max((abs(v) for v in sums), default=0), SAMPLE_MAX) >> 7
           for sums in (left_sums, right_sums)]
    return top[0] << 16 | top[1]

WIDGET_TYPES = {0: "dac", 1: "adc", 2: "mixer", 3: "selector", 4: "pin"}
#: AMP_CAPS of the design: mute, 0.75 dB steps (field 2), 128 steps, 0 dB at 0x5F
AMP = (1 << 31) | (2 << 16) | (0x7F << 8) | 0x5F

#: nid -> what the walk must find; amps are the (in, out) amp caps, None where there is none
EXPECTED = {
    0x02: dict(type="dac", stereo=True, unsol=False, amps=(None, AMP), connections=()),
    0x03: dict(type="dac", stereo=True, unsol=False, amps=(None, AMP), connections=()),
    0x04: dict(type="adc", stereo=True, unsol=False, amps=(AMP, None), connections=(7, 8)),
    0x05: dict(type="mixer", stereo=True, unsol=False, amps=(AMP, None), connections=(2, 3)),
    # pin caps: output, headphone drive, presence detect; config default: headphone jack
    0x06: dict(type="pin", stereo=True, unsol=True, amps=(None, AMP), connections=(5,),
               pin_caps=0x1C, device=0x2),
    # input pins (mic, line in) without presence detect
    0x07: dict(type="pin", stereo=True, unsol=False, amps=(None, None), connections=(),
               pin_caps=0x20, device=0xA),
    0x08: dict(type="pin", stereo=True, unsol=False, amps=(None, None), connections=(),
               pin_caps=0x20, device=0x8),
}


def _word(nid, verb, payload=0):
    return (nid << 20) | (verb << 8) | payload


async def walk_codec(command):
    """Discover the codec through ``await command(verb_word) -> response``.

    Returns ``(vendor_id, afg_nid, widgets)`` with ``widgets[nid]`` in the shape of
    :data:`EXPECTED`. Amp caps come from the widget when its amp-override bit is set, else from
    the function group."""
    param = lambda nid, p: command(_word(nid, 0xF00, p))
    vendor = await param(0, 0x00)
    root = await param(0, 0x04)
    groups = range(root >> 16 & 0xFF, (root >> 16 & 0xFF) + (root & 0xFF))
    afgs = [g for g in groups if await param(g, 0x05) & 0xFF == 0x01]
    assert len(afgs) == 1, f"expected one audio function group among {list(groups)}"
    afg = afgs[0]
    sub = await param(afg, 0x04)
    default_amps = (await param(afg, 0x0D), await param(afg, 0x12))
    widgets = {}
    for nid in range(sub >> 16 & 0xFF, (sub >> 16 & 0xFF) + (sub & 0xFF)):
        caps = await param(nid, 0x09)
        override = caps >> 3 & 1
        amps = []
        for present, p, default in ((caps >> 1 & 1, 0x0D, default_amps[0]),
                                    (caps >> 2 & 1, 0x12, default_amps[1])):
            amps.append((await param(nid, p) if override else default) if present else None)
        connections = ()
        if caps >> 8 & 1:
            length = await param(nid, 0x0E)
            assert not length & 0x80, f"node {nid:#x}: long-form connection list"
            entries = []
            for base in range(0, length & 0x7F, 4):
                word = await command(_word(nid, 0xF02, base))
                entries += [word >> (8 * i) & 0xFF for i in range(4)]
            connections = tuple(entries[:length & 0x7F])
        w = dict(type=WIDGET_TYPES.get(caps >> 20 & 0xF, hex(caps >> 20 & 0xF)),
                 stereo=bool(caps & 1), unsol=bool(caps >> 7 & 1), amps=tuple(amps),
                 connections=connections)
        if w["type"] == "pin":
            w["pin_caps"] = await param(nid, 0x0C)
            w["device"] = await command(_word(nid, 0xF1C)) >> 20 & 0xF
        widgets[nid] = w
    return vendor, afg, widgets
