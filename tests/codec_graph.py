"""Test helper: walk the codec's widget graph with parameter (F00), connection-list (F02) and
configuration-default (F1C) verbs only, as a driver discovers it, and the topology DESIGN.md 3.4
says it must find (written out by hand, not taken from rtl/codec.py)."""

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
