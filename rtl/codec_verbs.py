"""The codec's nodes as a driver sees them through verbs (the model is in :mod:`rtl.codec`'s
docstring): node ids, ``F00`` parameters, connection lists and configuration defaults; the
ports that carry the nodes' settings to the audio paths; :class:`VerbHandler`, which holds
those settings and answers every verb; and :class:`UnsolQueue`, the jack's unsolicited
responses."""

import operator
from functools import reduce

from amaranth.hdl import Module, Signal, Cat, Const, Mux
from amaranth.lib import data, stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .gain import AMP_0DB


__all__ = [
    "NID_ROOT", "NID_AFG", "NID_DAC_A", "NID_DAC_B", "NID_ADC", "NID_MIXER", "NID_HP",
    "NID_MIC", "NID_LINE",
    "VENDOR_ID", "AMP_CAPS", "PARAMS", "CONNECTIONS", "CONFIG_DEFAULT", "FMT_RESET",
    "AMPLIFIERS", "AMP_SETTINGS", "ConverterSettings", "PeakReadout", "VerbHandler",
    "UnsolQueue",
]


NID_ROOT, NID_AFG, NID_DAC_A, NID_DAC_B, NID_ADC, NID_MIXER, NID_HP, NID_MIC, NID_LINE = range(9)

VENDOR_ID = 0x1D17_A001          # made up: vendor 0x1D17, device 0xA001
REVISION_ID = 0x0010_0100        # HDA 1.0, revision 1
AMP_CAPS = (1 << 31) | (2 << 16) | (0x7F << 8) | AMP_0DB   # mute, 0.75 dB steps, 0 dB at 0x5F
PCM_CAPS = (1 << 19) | (1 << 17) | (1 << 6) | (1 << 4) | (1 << 2) | (1 << 0)  # 24/16 bit; 48/32/16/8k
STREAM_FORMATS = 0x1             # PCM
FMT_RESET = 0x0011               # 48 kHz, 16-bit, 2 channels

# Audio widget capabilities: [23:20] type, [8] connection list, [7] unsolicited, [4] format
# override, [3] amp parameter override, [2] out amp, [1] in amp, [0] stereo.
_WCAP_DAC = (0 << 20) | 0x01D
_WCAP_ADC = (1 << 20) | 0x11B
_WCAP_MIX = (2 << 20) | 0x10B
_WCAP_HP = (4 << 20) | 0x18D
_WCAP_IN_PIN = (4 << 20) | 0x001

#: Connection lists per NID.
CONNECTIONS = {
    NID_ADC:   (NID_MIC, NID_LINE),
    NID_MIXER: (NID_DAC_A, NID_DAC_B),
    NID_HP:    (NID_MIXER,),
}

#: Pin configuration defaults (F1C): front green headphone jack, front pink mic jack, rear blue
#: line-in jack; mic and line have no presence detect (misc bit 0).
CONFIG_DEFAULT = {
    NID_HP:   0x0221_4010,
    NID_MIC:  0x02A1_9120,
    NID_LINE: 0x0181_3130,
}

#: ``F00`` parameter values: ``PARAMS[nid][param]``; anything else reads 0.
PARAMS = {
    NID_ROOT: {0x00: VENDOR_ID, 0x02: REVISION_ID, 0x04: (NID_AFG << 16) | 1},
    # the function group's default formats and amp caps (every widget overrides them anyway)
    NID_AFG: {0x04: (NID_DAC_A << 16) | 7, 0x05: 0x01, 0x0A: PCM_CAPS, 0x0B: STREAM_FORMATS,
              0x0D: AMP_CAPS, 0x12: AMP_CAPS},
    NID_DAC_A: {0x09: _WCAP_DAC, 0x0A: PCM_CAPS, 0x0B: STREAM_FORMATS, 0x12: AMP_CAPS},
    NID_DAC_B: {0x09: _WCAP_DAC, 0x0A: PCM_CAPS, 0x0B: STREAM_FORMATS, 0x12: AMP_CAPS},
    NID_ADC: {0x09: _WCAP_ADC, 0x0A: PCM_CAPS, 0x0B: STREAM_FORMATS, 0x0D: AMP_CAPS,
              0x0E: len(CONNECTIONS[NID_ADC])},
    NID_MIXER: {0x09: _WCAP_MIX, 0x0D: AMP_CAPS, 0x0E: len(CONNECTIONS[NID_MIXER])},
    # pin caps (0x0C): [5] input, [4] output, [3] headphone drive, [2] presence detect
    NID_HP: {0x09: _WCAP_HP, 0x0C: 0x1C, 0x0E: len(CONNECTIONS[NID_HP]), 0x12: AMP_CAPS},
    NID_MIC: {0x09: _WCAP_IN_PIN, 0x0C: 0x20},
    NID_LINE: {0x09: _WCAP_IN_PIN, 0x0C: 0x20},
}

_PIN_CTL_RESET = {NID_HP: 0x40, NID_MIC: 0x20, NID_LINE: 0x20}   # out / in enabled

# The verbs: 4-bit ones (16-bit payload) below 0x10, the rest 12-bit (8-bit payload); a set
# verb's get verb is ``| _GET``.
_SET_FORMAT, _SET_AMP, _GET_FORMAT, _GET_AMP = 0x2, 0x3, 0xA, 0xB
_GET_PARAMETER, _GET_CONNECTION_LIST = 0xF00, 0xF02
_SET_CONNECTION_SELECT, _SET_STREAM, _SET_PIN_CTL, _SET_UNSOL = 0x701, 0x706, 0x707, 0x708
_GET = 0x800
_GET_PIN_SENSE, _GET_CONFIG_DEFAULT, _GET_PEAK = 0xF09, 0xF1C, 0xF80

#: The amplifiers by the name of their field in :data:`AMP_SETTINGS`: ``(nid, output,
#: index)``, ``output`` False for an input amp, whose connection index is ``index``.
AMPLIFIERS = {
    "dac_a":    (NID_DAC_A, True, 0),
    "dac_b":    (NID_DAC_B, True, 0),
    "mix_a":    (NID_MIXER, False, 0),      # mixer input 0: DAC A
    "mix_b":    (NID_MIXER, False, 1),      # mixer input 1: DAC B
    "hp":       (NID_HP, True, 0),
    "adc_mic":  (NID_ADC, False, 0),
    "adc_line": (NID_ADC, False, 1),
}

#: Every amplifier's setting, per channel (index 0 left, 1 right): [7] mute, [6:0] gain index,
#: the layout of the get-amp response. Each resets to 0 dB unmuted.
AMP_SETTINGS = data.StructLayout({name: data.ArrayLayout(8, 2) for name in AMPLIFIERS})


class ConverterSettings(wiring.Signature):
    """A converter's settings, from the side of :class:`VerbHandler`, which holds them.

    Members
    -------
    stream : Out(8)
        As set by 706: [7:4] stream tag (0 = none), [3:0] channel.
    format : Out(16)
        As set by the format verb (HDA FMT); resets to :data:`FMT_RESET`.
    """

    def __init__(self):
        super().__init__({"stream": Out(8), "format": Out(16, init=FMT_RESET)})


class PeakReadout(wiring.Signature):
    """F80's port onto the peak meter, from the reader's side.

    Members
    -------
    reading : In(32)
        [31:16] left, [15:0] right: each the top 16 of the 23 bits of the peak magnitude.
    clear : Out(1)
        High in the cycle the reading is taken: the meter starts a new peak.
    """

    def __init__(self):
        super().__init__({"reading": In(32), "clear": Out(1)})


class VerbHandler(wiring.Component):
    """The codec's node settings and the verbs that read and write them.

    Each accepted command gets its response one clock later; ``cmd`` is ready while no
    response waits or the waiting one is taken. Commands for a codec address other than 0, and
    unknown verbs and NIDs, answer 0 and change nothing. Pin controls are stored and read back
    only; every other setting is an output.

    Members
    -------
    cmd : In(stream.Signature(32)); resp : Out(stream.Signature(32))
        Verbs and their responses, one each, in order.
    dac_a, dac_b, adc : Out(ConverterSettings())
        The converters' stream and format settings.
    adc_format_written : Out(1)
        High in the cycle a format verb for the ADC is accepted (its sample rate restarts).
    amps : Out(AMP_SETTINGS)
        Every amplifier's setting.
    adc_input : Out(1)
        The ADC's connection select (701): 0 mic, 1 line.
    unsol_enable : Out(8)
        The headphone pin's 708 setting: [7] enable, [5:0] tag.
    jack_present : In(1)
        Headphone presence, synchronized (F09 bit 31).
    peak : Out(PeakReadout())
        F80 on the mixer reads and resets the peak meter.
    """

    def __init__(self):
        super().__init__({
            "cmd":                In(stream.Signature(32)),
            "resp":               Out(stream.Signature(32)),
            "dac_a":              Out(ConverterSettings()),
            "dac_b":              Out(ConverterSettings()),
            "adc":                Out(ConverterSettings()),
            "adc_format_written": Out(1),
            "amps":               Out(AMP_SETTINGS, init={
                name: [AMP_0DB, AMP_0DB] for name in AMPLIFIERS}),
            "adc_input":          Out(1),
            "unsol_enable":       Out(8),
            "jack_present":       In(1),
            "peak":               Out(PeakReadout()),
        })

    def elaborate(self, platform):
        m = Module()
        word = self.cmd.payload
        nid, verb, payload = word[20:28], word[8:20], word[0:16]
        accept = Signal()
        m.d.comb += [self.cmd.ready.eq(~self.resp.valid | self.resp.ready),
                     accept.eq(self.cmd.valid & self.cmd.ready)]
        with m.If(self.resp.ready):
            m.d.sync += self.resp.valid.eq(0)

        # The command is decoded once, for every verb's answer and write: the node (one-hot,
        # and only for codec address 0) and the verb.
        node = {}
        for n in range(NID_LINE + 1):
            node[n] = Signal(name=f"node_{n}")
            m.d.comb += node[n].eq((word[28:32] == 0) & (nid == n))
        verbs = {}

        def verb_is(code):
            """High for the 12-bit verb ``code``, or 4-bit if below 0x10 (any 12-bit verb
            with those top bits)."""
            if code not in verbs:
                verbs[code] = Signal(name=f"verb_{code:X}")
                m.d.comb += verbs[code].eq(verb[8:] == code if code < 0x10 else verb == code)
            return verbs[code]

        registers = self._registers()
        answer = Signal(32)
        m.d.comb += answer.eq(self._answer(m, node, verb_is, payload, registers))
        with m.If(accept):
            m.d.sync += [self.resp.valid.eq(1), self.resp.payload.eq(answer)]
            self._write(m, node, verb_is, payload, registers)
        return m

    def _registers(self):
        """The settings by the name of their verbs, each ``{nid: register}``."""
        return {
            "format":    {NID_DAC_A: self.dac_a.format, NID_DAC_B: self.dac_b.format,
                          NID_ADC: self.adc.format},
            "stream":    {NID_DAC_A: self.dac_a.stream, NID_DAC_B: self.dac_b.stream,
                          NID_ADC: self.adc.stream},
            "adc_input": {NID_ADC: self.adc_input},
            # pin controls are stored and read back only
            "pin_ctl":   {n: Signal(8, init=v, name=f"pin_ctl_{n}")
                          for n, v in _PIN_CTL_RESET.items()},
            "unsol":     {NID_HP: self.unsol_enable},
        }

    def _answer(self, m, node, verb_is, payload, registers):
        """The command's answer: the OR of every candidate answer, each 0 unless its command
        is the one decoded (so at most one is not). Unknown verbs and nodes answer 0."""
        candidates = []         # (command, value)
        for get_verb, name in ((_GET_FORMAT, "format"), (_SET_STREAM | _GET, "stream"),
                               (_SET_CONNECTION_SELECT | _GET, "adc_input"),
                               (_SET_PIN_CTL | _GET, "pin_ctl"), (_SET_UNSOL | _GET, "unsol")):
            for n, register in registers[name].items():
                candidates.append((verb_is(get_verb) & node[n], register))
        candidates.append((verb_is(_GET_PIN_SENSE) & node[NID_HP], self.jack_present << 31))
        candidates.append((verb_is(_GET_PEAK) & node[NID_MIXER], self.peak.reading))
        # output amps: [15] set; input amps: [15] clear and [3:0] the index; [13] left
        for name, (n, output, index) in AMPLIFIERS.items():
            picked = payload[15] if output else ~payload[15] & (payload[0:4] == index)
            candidates.append((verb_is(_GET_AMP) & node[n] & picked,
                               Mux(payload[13], self.amps[name][0], self.amps[name][1])))
        candidates += self._constant_answers(m, node, verb_is, payload[0:8])
        return reduce(operator.or_, (Mux(command, value, 0) for command, value in candidates))

    def _constant_answers(self, m, node, verb_is, payload):
        """F00 parameters, F02 connection lists, F1C configuration defaults (a driver's walk):
        one candidate per distinct value, under any of the commands that read it."""
        commands = {}           # value -> the commands it answers
        params = {}
        for n, values in PARAMS.items():
            for param, value in values.items():
                if param not in params:
                    params[param] = Signal(name=f"param_{param:02X}")
                    m.d.comb += params[param].eq(payload == param)
                commands.setdefault(value, []).append(
                    verb_is(_GET_PARAMETER) & node[n] & params[param])
        for n, conns in CONNECTIONS.items():
            # four entries a response, from the offset in the payload
            for base in range(0, len(conns), 4):
                value = sum(c << (8 * i) for i, c in enumerate(conns[base:base + 4]))
                commands.setdefault(value, []).append(
                    verb_is(_GET_CONNECTION_LIST) & node[n] & (payload == base))
        for n, value in CONFIG_DEFAULT.items():
            commands.setdefault(value, []).append(verb_is(_GET_CONFIG_DEFAULT) & node[n])
        return [(reduce(operator.or_, whens), value) for value, whens in commands.items()]

    def _write(self, m, node, verb_is, payload, registers):
        """The set verbs, and the ports that pulse for a command (in its accepting cycle)."""
        for n, register in registers["format"].items():
            with m.If(verb_is(_SET_FORMAT) & node[n]):
                m.d.sync += register.eq(payload)
        m.d.comb += self.adc_format_written.eq(verb_is(_SET_FORMAT) & node[NID_ADC])
        # output amps: [15] set; input amps: [14] set and [11:8] the index; [13] left,
        # [12] right
        for name, (n, output, index) in AMPLIFIERS.items():
            picked = payload[15] if output else payload[14] & (payload[8:12] == index)
            for channel, selected in enumerate((payload[13], payload[12])):
                with m.If(verb_is(_SET_AMP) & node[n] & picked & selected):
                    m.d.sync += self.amps[name][channel].eq(payload[0:8])
        with m.If(verb_is(_SET_CONNECTION_SELECT) & node[NID_ADC] &
                  (payload[0:8] < len(CONNECTIONS[NID_ADC]))):      # ignores other values
            m.d.sync += self.adc_input.eq(payload)
        for set_verb, name, value in (
                (_SET_STREAM, "stream", payload[0:8]), (_SET_PIN_CTL, "pin_ctl", payload[0:8]),
                (_SET_UNSOL, "unsol", Cat(payload[0:6], Const(0, 1), payload[7]))):
            for n, register in registers[name].items():
                with m.If(verb_is(set_verb) & node[n]):
                    m.d.sync += register.eq(value)
        m.d.comb += self.peak.clear.eq(verb_is(_GET_PEAK) & node[NID_MIXER])


class UnsolQueue(wiring.Component):
    """The headphone jack's unsolicited responses.

    ``jack_sense`` goes through a 2-flop synchronizer (``jack_present``). While
    ``unsol_enable`` [7] is set, each change of ``jack_present`` queues one response in a FIFO
    of ``depth`` entries (a change while it is full is dropped): [31:26] the tag from
    ``unsol_enable`` [5:0], [0] presence after the change.

    Members
    -------
    jack_sense : In(1)
        The pin, asynchronous.
    jack_present : Out(1)
        ``jack_sense`` synchronized.
    unsol_enable : In(8)
        The headphone pin's 708 setting.
    unsol : Out(stream.Signature(32))
        The responses.
    """

    def __init__(self, depth):
        self.depth = depth
        super().__init__({
            "jack_sense":   In(1),
            "jack_present": Out(1),
            "unsol_enable": In(8),
            "unsol":        Out(stream.Signature(32)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.jack_sync = FFSynchronizer(self.jack_sense, self.jack_present)
        # an entry: [6:1] tag, [0] presence
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=7, depth=self.depth)
        jack_prev = Signal()
        m.d.sync += jack_prev.eq(self.jack_present)
        enable, tag = self.unsol_enable[7], self.unsol_enable[0:6]
        m.d.comb += [
            fifo.w_data.eq(Cat(self.jack_present, tag)),
            fifo.w_en.eq(enable & (self.jack_present != jack_prev)),    # dropped when full
            self.unsol.payload.eq(Cat(fifo.r_data[0], Const(0, 25), fifo.r_data[1:])),
            self.unsol.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.unsol.ready),
        ]
        return m
