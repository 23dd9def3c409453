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
the DAC's format is mono (CHAN = 0) a channel-0 slot feeds both sides; the lowest matching slot
wins. Slots are matched as each arrives on the link, with the stream tag and format of that
cycle, so a 706 or format verb that lands while a frame is being received applies from its next
slot. If DAC A or B got any slot, one output frame is computed, per channel (a DAC that got
nothing contributes 0)::

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

from amaranth.hdl import Module, signed
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from .checked import CheckedComponent
from .codec_audio import DAC_PIPELINE, AdcPath, DacPath, PeakMeter, SharedGain
from .codec_verbs import (
    NID_ROOT, NID_AFG, NID_DAC_A, NID_DAC_B, NID_ADC, NID_MIXER, NID_HP, NID_MIC, NID_LINE,
    VENDOR_ID, AMP_CAPS, PARAMS, CONNECTIONS, CONFIG_DEFAULT, FMT_RESET, UnsolQueue, VerbHandler,
)
from .gain import AMP_0DB
from .i2s_link import LinkSlave, check_frame_clocks


__all__ = [
    "Codec",
    "NID_ROOT", "NID_AFG", "NID_DAC_A", "NID_DAC_B", "NID_ADC", "NID_MIXER", "NID_HP",
    "NID_MIC", "NID_LINE",
    "VENDOR_ID", "AMP_CAPS", "AMP_0DB", "PARAMS", "CONNECTIONS", "CONFIG_DEFAULT",
    "FMT_RESET", "DAC_PIPELINE",
]


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

    Parts
    -----
    The link slave (:class:`rtl.i2s_link.LinkSlave`); the node settings and verbs
    (:class:`rtl.codec_verbs.VerbHandler`) and the jack's unsolicited responses
    (:class:`rtl.codec_verbs.UnsolQueue`); the two gain units
    (:class:`rtl.codec_audio.SharedGain`) shared by the DAC path
    (:class:`rtl.codec_audio.DacPath`, which has priority) and the ADC path
    (:class:`rtl.codec_audio.AdcPath`, with its :class:`rtl.codec_audio.AdcRate`); the peak
    meter on the mixer sum (:class:`rtl.codec_audio.PeakMeter`), read and reset by F80.
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
        m.submodules.verbs = verbs = VerbHandler()
        m.submodules.unsol = unsol = UnsolQueue(self.unsol_depth)
        m.submodules.gain = gain = SharedGain()
        m.submodules.dac = dac = DacPath()
        m.submodules.peak = peak = PeakMeter()
        m.submodules.adc = adc = AdcPath()

        # the ports
        m.d.comb += [
            link.bclk.eq(self.bclk), link.lrclk.eq(self.lrclk), link.sdo.eq(self.sdo),
            self.sdi.eq(link.sdi),
            self.dac_l.eq(dac.dac_l), self.dac_r.eq(dac.dac_r), self.dac_valid.eq(dac.dac_valid),
            adc.adc_l.eq(self.adc_l), adc.adc_r.eq(self.adc_r), self.adc_strobe.eq(adc.strobe),
            unsol.jack_sense.eq(self.jack_sense),
        ]
        wiring.connect(m, wiring.flipped(self.cmd), verbs.cmd)
        wiring.connect(m, verbs.resp, wiring.flipped(self.resp))
        wiring.connect(m, unsol.unsol, wiring.flipped(self.unsol))

        # the link's frames: received slot by slot (so the link's 128-bit rx_slots, unused
        # here, is trimmed by synthesis), sent whole
        m.d.comb += [
            dac.rx_slot.eq(link.rx_slot), dac.rx_slot_valid.eq(link.rx_slot_valid),
            adc.frame_start.eq(link.frame_start), link.tx_slots.eq(adc.tx_slots),
        ]

        # the node settings
        m.d.comb += [
            dac.amps.eq(verbs.amps), adc.amps.eq(verbs.amps),
            adc.input_select.eq(verbs.adc_input),
            adc.format_written.eq(verbs.adc_format_written),
            unsol.unsol_enable.eq(verbs.unsol_enable),
            verbs.jack_present.eq(unsol.jack_present),
        ]
        wiring.connect(m, verbs.dac_a, dac.dac_a)
        wiring.connect(m, verbs.dac_b, dac.dac_b)
        wiring.connect(m, verbs.adc, adc.converter)
        wiring.connect(m, verbs.peak, peak.read)

        # between the audio parts
        wiring.connect(m, dac.gain, gain.dac)
        wiring.connect(m, adc.gain, gain.adc)
        wiring.connect(m, dac.mix, peak.samples)
        return m
