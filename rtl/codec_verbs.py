"""The codec's nodes as a driver sees them through verbs (the model is in :mod:`rtl.codec`'s
docstring): node ids, ``F00`` parameters, connection lists and configuration defaults; the
ports that carry the nodes' settings to the audio paths; :class:`VerbHandler`, which holds
those settings and answers every verb; and :class:`UnsolQueue`, the jack's unsolicited
responses."""

from amaranth.hdl import Module, Signal, Cat, Const
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
        # pin controls are stored and read back only
        pin_ctl = {n: Signal(8, init=v, name=f"pin_ctl_{n}") for n, v in _PIN_CTL_RESET.items()}
        m.d.comb += self.cmd.ready.eq(~self.resp.valid | self.resp.ready)
        with m.If(self.resp.ready):
            m.d.sync += self.resp.valid.eq(0)
        # Everything is decoded inside the branch taken when a command is accepted, straight
        # into the response register and the settings (no free-running decode of the payload).
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [self.resp.valid.eq(1), self.resp.payload.eq(0)]
            with m.Switch(word[28:32]):
                with m.Case(0):
                    with m.Switch(word[8:20]):
                        # 4-bit verbs first: they take any 12-bit verb with these top bits
                        self._format_verbs(m, word)
                        self._amp_verbs(m, word)
                        self._graph_verbs(m, word)
                        self._setting_verbs(m, word, pin_ctl)
                        self._peak_verb(m, word)
        return m

    def _respond(self, m, value):
        m.d.sync += self.resp.payload.eq(value)

    def _answer_from(self, m, table, key):
        """Answer ``table[key]`` (``key`` a Value; a key not in the table answers 0)."""
        with m.Switch(key):
            for k, value in table.items():
                with m.Case(k):
                    self._respond(m, value)

    def _write_to(self, m, registers, key, value):
        """Set ``registers[key]`` (``key`` a Value, usually the NID) to ``value``."""
        with m.Switch(key):
            for k, register in registers.items():
                with m.Case(k):
                    m.d.sync += register.eq(value)

    def _format_verbs(self, m, word):
        """2 / A: set / get converter format."""
        nid, payload = word[20:28], word[0:16]
        formats = {NID_DAC_A: self.dac_a.format, NID_DAC_B: self.dac_b.format,
                   NID_ADC: self.adc.format}
        with m.Case("0010--------"):
            self._write_to(m, formats, nid, payload)
            with m.If(nid == NID_ADC):
                m.d.comb += self.adc_format_written.eq(1)
        with m.Case("1010--------"):
            self._answer_from(m, formats, nid)

    def _amp_verbs(self, m, word):
        """3 / B: set / get amplifier gain and mute."""
        nid, payload = word[20:28], word[0:16]
        amps_of = {}
        for name, (n, output, index) in AMPLIFIERS.items():
            amps_of.setdefault(n, []).append((self.amps[name], output, index))
        with m.Case("0011--------"):
            with m.Switch(nid):
                for n, amps in amps_of.items():
                    with m.Case(n):
                        for amp, output, index in amps:
                            # output: [15] set; input: [14] set and [11:8] the index
                            with m.If(payload[15] if output else
                                      payload[14] & (payload[8:12] == index)):
                                for channel, selected in enumerate((payload[13], payload[12])):
                                    with m.If(selected):
                                        m.d.sync += amp[channel].eq(payload[0:8])
        with m.Case("1011--------"):
            with m.Switch(nid):
                for n, amps in amps_of.items():
                    with m.Case(n):
                        for amp, output, index in amps:
                            # output: [15] set; input: [15] clear, [3:0] the index
                            with m.Switch(Cat(payload[0:4], payload[15])):
                                with m.Case("1----" if output else f"0{index:04b}"):
                                    with m.If(payload[13]):     # [13]: left
                                        self._respond(m, amp[0])
                                    with m.Else():
                                        self._respond(m, amp[1])

    def _graph_verbs(self, m, word):
        """F00 parameters, F02 connection list, F1C configuration default: a driver's walk."""
        nid, payload = word[20:28], word[0:8]
        with m.Case(0xF00):
            with m.Switch(nid):
                for n, params in PARAMS.items():
                    with m.Case(n):
                        self._answer_from(m, params, payload)
        with m.Case(0xF02):
            with m.Switch(nid):
                for n, conns in CONNECTIONS.items():
                    with m.Case(n):
                        # four entries a response, from the offset in the payload
                        entries = {
                            base: sum(c << (8 * i) for i, c in enumerate(conns[base:base + 4]))
                            for base in range(0, len(conns), 4)}
                        self._answer_from(m, entries, payload)
        with m.Case(0xF1C):
            self._answer_from(m, CONFIG_DEFAULT, nid)

    def _setting_verbs(self, m, word, pin_ctl):
        """701/F01 connection select, 706/F06 stream, 707/F07 pin control, 708/F08
        unsolicited enable, F09 pin sense."""
        nid, payload = word[20:28], word[0:8]
        adc_input = {NID_ADC: self.adc_input}
        with m.Case(0x701):
            with m.Switch(payload):
                with m.Case(*range(len(CONNECTIONS[NID_ADC]))):     # ignores other values
                    self._write_to(m, adc_input, nid, payload)
        with m.Case(0xF01):
            self._answer_from(m, adc_input, nid)
        streams = {NID_DAC_A: self.dac_a.stream, NID_DAC_B: self.dac_b.stream,
                   NID_ADC: self.adc.stream}
        for set_verb, registers, value in (
                (0x706, streams, payload),
                (0x707, pin_ctl, payload),
                (0x708, {NID_HP: self.unsol_enable}, Cat(payload[0:6], Const(0, 1), payload[7]))):
            with m.Case(set_verb):
                self._write_to(m, registers, nid, value)
            with m.Case(set_verb | 0x800):                       # the matching get verb
                self._answer_from(m, registers, nid)
        with m.Case(0xF09):
            self._answer_from(m, {NID_HP: self.jack_present << 31}, nid)

    def _peak_verb(self, m, word):
        """F80 on the mixer: the peak meter's reading; the meter starts a new peak."""
        with m.Case(0xF80):
            with m.If(word[20:28] == NID_MIXER):
                self._respond(m, self.peak.reading)
                m.d.comb += self.peak.clear.eq(1)


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
