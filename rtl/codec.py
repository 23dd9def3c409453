"""HDA-style audio codec: verbs, DAC mixer, ADC capture and jack sense behind the link slave.

Verbs
-----
A verb is ``CAd[31:28] NID[27:20]`` followed by either a 12-bit verb ``[19:8]`` with an 8-bit
payload ``[7:0]``, or (when ``[19:16]`` is 0x2, 0x3, 0xA or 0xB) a 4-bit verb ``[19:16]`` with a
16-bit payload ``[15:0]``. Every command gets exactly one 32-bit response, in order, one clock
after it is accepted. Unknown verbs and NIDs answer 0; so do commands for a codec address other
than 0, which have no effect (a real link would time out; our controller need not).

Nodes (:data:`PARAMS` has every ``F00`` parameter value)::

    0x00 root            vendor id 0x1D17A001, revision 0x00100100, nodes 0x01..0x01
    0x01 audio function  nodes 0x02..0x08; 16/24-bit PCM at 8, 16, 32, 48 kHz; amp caps
    0x02 DAC A           output converter, output amp      (plays stream tag of its 0x706)
    0x03 DAC B           output converter, output amp
    0x04 ADC             input converter, input amps,   connections [0x07 mic, 0x08 line]
    0x05 output mixer    input amps, sum of DAC A and B, connections [0x02, 0x03]; F80 peak
    0x06 headphone pin   output amp, presence detect,   connection  [0x05]; unsolicited
    0x07 mic pin         input
    0x08 line-in pin     input

Supported verbs: F00 get parameter; F02 connection list (4 entries from the offset in the
payload); 701/F01 connection select (ADC: 0 mic, 1 line; other nodes read 0); 706/F06 converter
stream [7:4] / channel [3:0]; 2/A converter format (HDA FMT, reset 0x0011 = 48 kHz 16-bit
stereo); 3/B amplifier gain/mute; 707/F07 pin control; F09 pin sense (bit 31 presence, headphone
pin only); 708/F08 unsolicited enable ([7] enable, [5:0] tag; headphone pin only); F1C
configuration default (pins); F80 (vendor, mixer 0x05) peak meter.

Amplifiers: 7-bit gain, :data:`AMP_CAPS` = 0x80027F5F: mute capable, step 0.75 dB, 128 steps,
0 dB at index 0x5F (:data:`AMP_0DB`), so the range is -71.25 dB .. +24 dB. Every amp resets to
0x5F unmuted. Amps exist on DAC A/B and the headphone pin (output, one per channel), on the
mixer (input, one per channel and connection index: 0 = DAC A, 1 = DAC B) and on the ADC
(input, one per channel and connection index; the one of the selected connection applies).
Every widget with amps sets the amp-override bit and answers its own F00 0x0D (input) or 0x12
(output) amp caps; the function group answers both as defaults. Gain is applied as
:mod:`rtl.gain` defines it, bit for bit :func:`rtl.gain.apply_gain`: a Q4.20 coefficient from a
128-entry ROM (``GAIN_TABLE[0x5F]`` is exactly 1.0, so 0 dB is bit-exact passthrough; every step
within 0.01 dB of nominal), the product rounded to nearest with ties away from zero and
saturated to signed 24 bits. A muted amp (bit 7) outputs exact zeros whatever its gain index.
Pin controls are stored and read back; the ADC's mic/line selection picks which input amp
applies (both inputs are the one ``adc_l``/``adc_r`` port pair).

Audio path
----------
On every frame received from the controller (link ``rx_valid``), each slot with a non-zero tag
equal to DAC A's (or B's) stream tag goes to that DAC's left or right per the channel bit; if
the DAC's format is mono (CHAN = 0) a channel-0 slot feeds both sides. If DAC A or B got any
slot, one output frame is computed, per channel (a DAC that got nothing contributes 0)::

    mix   = sat24(mixamp0(dacamp_A(A)) + mixamp1(dacamp_B(B)))
    dac_l = hpamp(mix)                       (likewise dac_r with the right-channel amps)

Each channel has one pipelined :class:`rtl.amp.GainUnit` (a result four cycles after an
operation) that does the five gains, overlapping the two DAC paths, and the ADC's gain
(nothing is clocked between frames). The output frame appears :data:`DAC_PIPELINE` = 14 cycles after the ``rx_valid``
cycle, with a one-cycle ``dac_valid`` pulse: the controller's ``frame_tick`` to ``dac_valid`` is
273 clocks (259 on the link + 14). ``dac_l``/``dac_r`` hold until the next frame.
Amp settings changed by a verb while a frame is in the pipeline apply from the next gain step.

The ADC samples at ``48000 * (MULT+1) / (DIV+1)`` Hz from its format: at every link frame start
``acc += MULT+1`` and when ``acc >= DIV+1`` it subtracts ``DIV+1`` and samples (``acc`` restarts
at 0 when the format is written). Formats faster than 48 kHz, or of the 44.1 kHz family, never
sample. A sample is taken only while the ADC's stream tag is non-zero: ``adc_strobe`` is high in
the cycle whose clock edge captures ``adc_l``/``adc_r`` into a register per channel; the
selected input's amp then applies on that channel's GainUnit (the DAC path's, in the first cycle
in which the DAC path starts no operation, at most a few cycles later), and the next frame the codec sends carries slot 0 = (tag, left) and
slot 1 = (tag, right) with the gain applied. Other slots and frames carry tag 0.
Latency (frame_clocks = 256): strobe in the frame-start cycle of frame N (one clock after the
controller's ``frame_tick``), data in the controller's ``rx_slots`` with ``rx_valid`` in cycle 3
of frame N+2.

Unsolicited responses: when the headphone pin's unsolicited enable bit is set (708 payload
``0x80 | tag``), each change of ``jack_sense`` (after a 2-flop synchronizer) queues one response
in a small FIFO (``unsol_depth``) on the ``unsol`` stream; if the FIFO is full the change is
dropped. The response is 32 bits in the HDA layout: ``[31:26]`` the tag from 708, ``[25:1]`` 0,
``[0]`` presence after the change (1 = plugged, as F09 bit 31). In ``audio_soc`` the controller
queues them for the driver's UNSOL register and raises INTSTS.CIS while any remain.

Peak meter: F80 on 0x05 answers ``[31:16]`` left, ``[15:0]`` right, each the top 16 bits of the
23-bit peak magnitude (full scale 0xFFFF; ``|-2^23|`` saturates to 2^23-1) since the previous
F80, and resets both peaks. It measures ``mix`` above: after the DAC and mixer input amps and
the saturating sum, before the headphone amp (so the headphone volume and mute do not move it).
"""

from amaranth.hdl import *
from amaranth.lib import wiring, stream
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .amp import GainUnit, saturate24
from .checked import CheckedComponent
from .gain import AMP_0DB, SAMPLE_MAX
from .i2s_link import LinkSlave, SLOTS, SLOT_BITS, check_frame_clocks


__all__ = [
    "Codec",
    "NID_ROOT", "NID_AFG", "NID_DAC_A", "NID_DAC_B", "NID_ADC", "NID_MIXER", "NID_HP",
    "NID_MIC", "NID_LINE",
    "VENDOR_ID", "AMP_CAPS", "AMP_0DB", "PARAMS", "CONNECTIONS", "CONFIG_DEFAULT",
    "FMT_RESET", "DAC_PIPELINE",
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

#: Cycles from the link's ``rx_valid`` to ``dac_valid``: five gain operations on a pipelined
#: GainUnit (two pairs of dependent ones, then the headphone amp), the output register and the
#: valid pulse (see ``Codec.elaborate``).
DAC_PIPELINE = 3 * GainUnit.LATENCY + 2

_PIN_CTL_RESET = {NID_HP: 0x40, NID_MIC: 0x20, NID_LINE: 0x20}   # out / in enabled


class _Amp:
    """One amplifier's registers (elaboration-time helper): 8 bits per channel, [7] mute,
    [6:0] gain, the layout of the get-amp response."""

    def __init__(self, nid, output, index, name):
        self.nid, self.output, self.index = nid, output, index
        self.left = Signal(8, init=AMP_0DB, name=f"{name}_l")
        self.right = Signal(8, init=AMP_0DB, name=f"{name}_r")

    def side(self, side):
        """The setting of channel ``side`` ("l" or "r")."""
        return self.left if side == "l" else self.right


class Codec(CheckedComponent):
    """HDA-style codec on the slave end of the link (see the module docstring for the model).

    Parameters
    ----------
    frame_clocks : int
        Clocks per link frame; only validated (the link timing comes from the pins).
    unsol_depth : int
        Entries in the unsolicited response FIFO.

    Members
    -------
    bclk, lrclk, sdo : In(1); sdi : Out(1)
        Link pins (slave side).
    cmd : In(stream.Signature(32)); resp : Out(stream.Signature(32))
        Verbs and their responses, one each, in order.
    unsol : Out(stream.Signature(32))
        Unsolicited responses (jack changes).
    dac_l, dac_r : Out(signed(24)); dac_valid : Out(1)
        Mixer output, with a one-cycle pulse per output frame.
    adc_l, adc_r : In(signed(24)); adc_strobe : Out(1)
        Capture inputs; ``adc_strobe`` marks the cycle they are sampled in.
    jack_sense : In(1)
        Headphone jack presence, 1 = plugged.
    """

    @classmethod
    def check_parameters(cls, frame_clocks=256, unsol_depth=4):
        check_frame_clocks(frame_clocks)
        if not isinstance(unsol_depth, int) or unsol_depth < 1:
            raise ValueError(f"unsol_depth must be a positive integer, not {unsol_depth!r}")

    def __init__(self, frame_clocks=256, unsol_depth=4):
        self.frame_clocks = check_frame_clocks(frame_clocks)
        self.unsol_depth = unsol_depth
        super().__init__({
            "bclk":       In(1),
            "lrclk":      In(1),
            "sdo":        In(1),
            "sdi":        Out(1),
            "cmd":        In(stream.Signature(32)),
            "resp":       Out(stream.Signature(32)),
            "unsol":      Out(stream.Signature(32)),
            "dac_l":      Out(signed(24)),
            "dac_r":      Out(signed(24)),
            "dac_valid":  Out(1),
            "adc_l":      In(signed(24)),
            "adc_r":      In(signed(24)),
            "adc_strobe": Out(1),
            "jack_sense": In(1),
        })

    def elaborate(self, platform):
        m = Module()

        m.submodules.link = link = LinkSlave()
        m.d.comb += [
            link.bclk.eq(self.bclk),
            link.lrclk.eq(self.lrclk),
            link.sdo.eq(self.sdo),
            self.sdi.eq(link.sdi),
        ]

        # ---- node state ----------------------------------------------------------------------
        convs = (NID_DAC_A, NID_DAC_B, NID_ADC)
        stream_ch = {n: Signal(8, name=f"stream_{n}") for n in convs}     # 706: [7:4] tag
        fmt = {n: Signal(16, init=FMT_RESET, name=f"fmt_{n}") for n in convs}
        amps = [
            _Amp(NID_DAC_A, True, 0, "amp_dac_a"),
            _Amp(NID_DAC_B, True, 0, "amp_dac_b"),
            _Amp(NID_MIXER, False, 0, "amp_mix_a"),     # mixer input 0: DAC A
            _Amp(NID_MIXER, False, 1, "amp_mix_b"),     # mixer input 1: DAC B
            _Amp(NID_HP, True, 0, "amp_hp"),
            _Amp(NID_ADC, False, 0, "amp_adc_mic"),
            _Amp(NID_ADC, False, 1, "amp_adc_line"),
        ]
        amp_dac_a, amp_dac_b, amp_mix_a, amp_mix_b, amp_hp, amp_adc_mic, amp_adc_line = amps
        adc_sel = Signal(1)
        pin_ctl = {n: Signal(8, init=v, name=f"pin_ctl_{n}") for n, v in _PIN_CTL_RESET.items()}
        unsol_en = Signal(8)
        peak_l = Signal(23)
        peak_r = Signal(23)
        jack = Signal()
        m.submodules.jack_sync = FFSynchronizer(self.jack_sense, jack)

        # ---- DAC path ------------------------------------------------------------------------
        # Slot matching and sample selection only run in a process guarded by ``rx_valid`` (no
        # free-running 128-bit muxing); the mixer arithmetic that follows is 25-bit.
        frame = link.rx_slots
        slots = [frame[SLOT_BITS * (SLOTS - 1 - i):][:SLOT_BITS] for i in range(SLOTS)]
        ins = {}
        for n in (NID_DAC_A, NID_DAC_B):
            got, left, right = Signal(name=f"got_{n}"), Signal(24, name=f"in_{n}_l"), \
                Signal(24, name=f"in_{n}_r")
            ins[n] = got, left, right
            tag = stream_ch[n][4:8]
            with m.If(link.rx_valid):
                # highest slot first, so that the lowest matching slot wins
                for s in reversed(slots):
                    with m.Switch(Cat(tag, s[28:32])):
                        for t in range(1, 16):
                            with m.Case(t * 0x11):
                                m.d.comb += got.eq(1)
                                with m.Switch(Cat(s[27], fmt[n][0:4])):
                                    with m.Case("00000"):      # mono, channel 0: both sides
                                        m.d.comb += [left.eq(s[0:24]), right.eq(s[0:24])]
                                    with m.Case("----0"):
                                        m.d.comb += left.eq(s[0:24])
                                    with m.Default():
                                        m.d.comb += right.eq(s[0:24])

        # Gain: per side one pipelined GainUnit (results LATENCY = L cycles after an operation)
        # runs five operations, starting in the cycle of ``emit`` (t = 0); ``step[k]`` is high
        # in cycle t = k + 1:
        #   t = 0      DAC A amp (x = A's sample)
        #   t = 1      DAC B amp (x = B's sample, held)
        #   t = L      mixer input 0 amp (x = y: DAC A's output)
        #   t = L+1    mixer input 1 amp (x = y: DAC B's output)
        #   t = 2L     y is mixer input 0's output: held
        #   t = 2L+1   headphone amp (x = sat(held + y)); the peak meters see this sum
        #   t = 3L+1   the headphone amp's output goes to dac_l/dac_r, dac_valid follows
        lat = GainUnit.LATENCY
        got_a, got_b = ins[NID_DAC_A][0], ins[NID_DAC_B][0]
        emit = Signal()
        m.d.comb += emit.eq(got_a | got_b)      # only ever set while rx_valid
        step = Signal(DAC_PIPELINE - 1)
        with m.If(emit | step.any()):
            m.d.sync += step.eq(Cat(emit, step[:-1]))
        m.d.sync += self.dac_valid.eq(step[-1])
        peak_stb = step[2 * lat]
        # the cycles in which the DAC path starts a gain operation (the ADC path uses the
        # units in the others)
        dac_issue = Signal()
        m.d.comb += dac_issue.eq(emit | step[0] | step[lat - 1] | step[lat] | peak_stb)
        units = {}
        mixes = []
        for side, out in (("l", self.dac_l), ("r", self.dac_r)):
            m.submodules[f"gain_{side}"] = units[side] = unit = GainUnit()
            sample = {n: ins[n][1 if side == "l" else 2] for n in (NID_DAC_A, NID_DAC_B)}
            held_b = Signal(signed(24), name=f"held_b_{side}")
            mixed_a = Signal(signed(24), name=f"mixed_a_{side}")
            total = Signal(signed(25), name=f"sum_{side}")
            with m.If(peak_stb):
                m.d.comb += total.eq(mixed_a + unit.y)
            mix = saturate24(m, total, f"mix_{side}")
            mixes.append(mix)
            ops = [(emit, sample[NID_DAC_A], amp_dac_a), (step[0], held_b, amp_dac_b),
                   (step[lat - 1], unit.y, amp_mix_a), (step[lat], unit.y, amp_mix_b),
                   (peak_stb, mix, amp_hp)]
            for k, (when, x, amp) in enumerate(ops):
                with (m.Elif if k else m.If)(when):
                    m.d.comb += [unit.en.eq(1), unit.x.eq(x), unit.setting.eq(amp.side(side))]
            with m.If(emit):
                m.d.sync += held_b.eq(sample[NID_DAC_B])
            with m.If(step[2 * lat - 1]):
                m.d.sync += mixed_a.eq(unit.y)
            with m.If(step[3 * lat]):
                m.d.sync += out.eq(unit.y)

        # Peak meters: |mixer sum| saturated to 23 bits (|-2^23| would need 24), updated at 2L+1.
        # F80 (in the verb handler below, which has priority) clears them.
        mags = []
        for peak, x, name in ((peak_l, mixes[0], "l"), (peak_r, mixes[1], "r")):
            mag = Signal(23, name=f"mag_{name}")
            with m.If(peak_stb):
                with m.If(x[23]):
                    with m.If(x == -SAMPLE_MAX - 1):
                        m.d.comb += mag.eq(SAMPLE_MAX)
                    with m.Else():
                        m.d.comb += mag.eq((-x)[:23])
                with m.Else():
                    m.d.comb += mag.eq(x[:23])
                with m.If(mag > peak):
                    m.d.sync += peak.eq(mag)
            mags.append(mag)

        # ---- ADC path ------------------------------------------------------------------------
        adc_fmt = fmt[NID_ADC]
        mult, div = adc_fmt[11:14], adc_fmt[8:11]
        # acc + MULT+1 >= DIV+1  <=>  acc + MULT >= DIV
        acc = Signal(4)                                # stays below DIV+1 <= 8
        acc_next = Signal(4)
        take = Signal()
        adc_tag = stream_ch[NID_ADC][4:8]
        with m.If(link.frame_start):
            m.d.comb += acc_next.eq(acc + mult)
            with m.If(~adc_fmt[14] & (mult <= div)):       # 48 kHz family, at most 48 kHz
                with m.If(acc_next >= div):
                    m.d.comb += take.eq(1)
                    m.d.sync += acc.eq(acc_next - div)
                with m.Else():
                    m.d.sync += acc.eq(acc_next + 1)
        m.d.comb += self.adc_strobe.eq(take & (adc_tag != 0))

        # The selected input's amp applies, on the DAC path's GainUnit of the same side: the
        # pins are registered in the strobe cycle, and the operation starts in the first cycle
        # after it in which the DAC path starts none (the unit is a pipeline: each result is in
        # ``y`` exactly LATENCY cycles after its operation, so operations in different cycles
        # never disturb each other). The results go into slots 0-1 of the next frame.
        adc_pending = Signal()
        adc_issue = Signal()
        m.d.comb += adc_issue.eq(adc_pending & ~dac_issue)
        with m.If(self.adc_strobe):
            m.d.sync += adc_pending.eq(1)
        with m.Elif(adc_issue):
            m.d.sync += adc_pending.eq(0)
        for side, pin in (("l", self.adc_l), ("r", self.adc_r)):
            unit = units[side]
            held = Signal(signed(24), name=f"adc_in_{side}")
            with m.If(self.adc_strobe):
                m.d.sync += held.eq(pin)
            with m.If(adc_issue):
                m.d.comb += [unit.en.eq(1), unit.x.eq(held)]
                with m.Switch(adc_sel):
                    for sel, amp in ((0, amp_adc_mic), (1, amp_adc_line)):
                        with m.Case(sel):
                            m.d.comb += unit.setting.eq(amp.side(side))
        adc_l, adc_r = units["l"].y, units["r"].y
        adc_pipe = Signal(GainUnit.LATENCY)           # adc_pipe[-1]: the results are in y
        with m.If(adc_issue | adc_pipe.any()):
            m.d.sync += adc_pipe.eq(Cat(adc_issue, adc_pipe[:-1]))
        adc_done = adc_pipe[-1]

        # Only slots 0-1 can carry data: the upper half of the frame is a register, the rest 0.
        tx_hi = Signal(2 * SLOT_BITS)
        m.d.comb += link.tx_slots.eq(Cat(Const(0, 2 * SLOT_BITS), tx_hi))
        with m.If(link.frame_start):
            # the link latches the previous value in this same cycle: data goes out next frame
            m.d.sync += tx_hi.eq(0)
        with m.If(adc_done):
            m.d.sync += tx_hi.eq(Cat(
                adc_r, Const(0, 3), Const(1, 1), adc_tag,      # slot 1: right
                adc_l, Const(0, 3), Const(0, 1), adc_tag,      # slot 0: left
            ))

        # ---- verbs ---------------------------------------------------------------------------
        # Everything is decoded inside one process branch taken only when a command is
        # accepted, straight into the response register and the node state (no free-running
        # decode of cmd.payload). Placed last: its assignments win over the audio paths'.
        word = self.cmd.payload
        nid = word[20:28]
        pl8, pl16 = word[0:8], word[0:16]

        m.d.comb += self.cmd.ready.eq(~self.resp.valid | self.resp.ready)
        accept = Signal()
        m.d.comb += accept.eq(self.cmd.valid & self.cmd.ready)
        with m.If(self.resp.ready):
            m.d.sync += self.resp.valid.eq(0)
        resp = self.resp.payload

        def answer(value):
            m.d.sync += resp.eq(value)

        def per_node(regs, body):
            with m.Switch(nid):
                for n, reg in regs.items():
                    with m.Case(n):
                        body(n, reg)

        with m.If(accept):
            m.d.sync += [self.resp.valid.eq(1), resp.eq(0)]
            with m.Switch(word[28:32]):
                with m.Case(0):
                    with m.Switch(word[8:20]):
                        # 4-bit verbs first: they take any 12-bit verb with these top bits
                        with m.Case("0010--------"):            # 2: set converter format
                            def set_fmt(n, reg):
                                m.d.sync += reg.eq(pl16)
                                if n == NID_ADC:
                                    m.d.sync += acc.eq(0)
                            per_node(fmt, set_fmt)
                        with m.Case("1010--------"):            # A: get converter format
                            per_node(fmt, lambda n, reg: answer(reg))
                        with m.Case("0011--------"):            # 3: set amp
                            with m.Switch(nid):
                                for n in sorted({a.nid for a in amps}):
                                    with m.Case(n):
                                        for a in (a for a in amps if a.nid == n):
                                            if a.output:
                                                hit = m.If(pl16[15])
                                            else:
                                                hit = m.If(pl16[14] & (pl16[8:12] == a.index))
                                            with hit:
                                                with m.If(pl16[13]):
                                                    m.d.sync += a.left.eq(pl8)
                                                with m.If(pl16[12]):
                                                    m.d.sync += a.right.eq(pl8)
                        with m.Case("1011--------"):            # B: get amp
                            with m.Switch(nid):
                                for n in sorted({a.nid for a in amps}):
                                    with m.Case(n):
                                        for a in (a for a in amps if a.nid == n):
                                            # output: [15] set; input: [15] clear, [3:0] index
                                            sel = "1" + "-" * 4 if a.output else \
                                                "0" + format(a.index, "04b")
                                            with m.Switch(Cat(pl16[0:4], pl16[15])):
                                                with m.Case(sel):
                                                    with m.If(pl16[13]):
                                                        answer(a.left)
                                                    with m.Else():
                                                        answer(a.right)
                        with m.Case(0xF00):
                            with m.Switch(nid):
                                for n, params in PARAMS.items():
                                    with m.Case(n):
                                        with m.Switch(pl8):
                                            for p, value in params.items():
                                                with m.Case(p):
                                                    answer(value)
                        with m.Case(0xF02):
                            with m.Switch(nid):
                                for n, conns in CONNECTIONS.items():
                                    with m.Case(n):
                                        with m.Switch(pl8):
                                            for base in range(0, len(conns), 4):
                                                with m.Case(base):
                                                    answer(sum(
                                                        c << (8 * i) for i, c in
                                                        enumerate(conns[base:base + 4])))
                        with m.Case(0x701):
                            with m.Switch(nid):
                                with m.Case(NID_ADC):
                                    with m.Switch(pl8):
                                        with m.Case(*range(len(CONNECTIONS[NID_ADC]))):
                                            m.d.sync += adc_sel.eq(pl8)
                        with m.Case(0xF01):
                            per_node({NID_ADC: adc_sel}, lambda n, reg: answer(reg))
                        with m.Case(0x706):
                            per_node(stream_ch, lambda n, reg: m.d.sync.__iadd__(reg.eq(pl8)))
                        with m.Case(0xF06):
                            per_node(stream_ch, lambda n, reg: answer(reg))
                        with m.Case(0x707):
                            per_node(pin_ctl, lambda n, reg: m.d.sync.__iadd__(reg.eq(pl8)))
                        with m.Case(0xF07):
                            per_node(pin_ctl, lambda n, reg: answer(reg))
                        with m.Case(0x708):
                            per_node({NID_HP: unsol_en}, lambda n, reg: m.d.sync.__iadd__(
                                reg.eq(Cat(pl8[0:6], Const(0, 1), pl8[7]))))
                        with m.Case(0xF08):
                            per_node({NID_HP: unsol_en}, lambda n, reg: answer(reg))
                        with m.Case(0xF09):
                            per_node({NID_HP: jack}, lambda n, reg: answer(reg << 31))
                        with m.Case(0xF1C):
                            with m.Switch(nid):
                                for n, value in CONFIG_DEFAULT.items():
                                    with m.Case(n):
                                        answer(value)
                        with m.Case(0xF80):
                            with m.Switch(nid):
                                with m.Case(NID_MIXER):
                                    answer(Cat(peak_r[7:], peak_l[7:]))
                                    # read and reset; a sample arriving now starts the new peak
                                    for peak, mag in zip((peak_l, peak_r), mags):
                                        m.d.sync += peak.eq(0)
                                        with m.If(peak_stb):
                                            m.d.sync += peak.eq(mag)

        # ---- unsolicited responses -----------------------------------------------------------
        m.submodules.unsol_fifo = unsol_fifo = SyncFIFOBuffered(width=7, depth=self.unsol_depth)
        jack_prev = Signal()
        m.d.sync += jack_prev.eq(jack)
        m.d.comb += [
            unsol_fifo.w_data.eq(Cat(jack, unsol_en[0:6])),
            unsol_fifo.w_en.eq(unsol_en[7] & (jack != jack_prev)),    # dropped when full
            self.unsol.payload.eq(Cat(unsol_fifo.r_data[0], Const(0, 25), unsol_fifo.r_data[1:])),
            self.unsol.valid.eq(unsol_fifo.r_rdy),
            unsol_fifo.r_en.eq(self.unsol.ready),
        ]

        return m
