"""The codec's audio paths (the model is in :mod:`rtl.codec`'s docstring): the two pipelined
gain units they share (:class:`SharedGain`), the DAC path from the received link frame to
``dac_l``/``dac_r`` (:class:`SlotPicker`, :class:`DacPath`), the peak meter on the mixer sum
(:class:`PeakMeter`), and the ADC path from the pins to the sent frame (:class:`AdcRate`,
:class:`AdcPath`)."""

import operator
from functools import reduce

from amaranth.hdl import Module, Signal, Cat, Const, Mux, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .amp import GainUnit, saturate24
from .codec_verbs import AMP_SETTINGS, ConverterSettings, PeakReadout
from .gain import SAMPLE_MAX
from .i2s_link import FRAME_BITS, RX_SLOT, SLOTS, SLOT_BITS


__all__ = [
    "DAC_PIPELINE", "STEREO", "GainRequest", "SharedGain", "SlotPicker", "DacPath",
    "PeakMeter", "AdcRate", "AdcPath",
]


#: Cycles from the link's ``rx_valid`` to ``dac_valid``: five gain operations on a pipelined
#: GainUnit (two pairs of dependent ones, then the headphone amp), the output register and the
#: valid pulse (see :class:`DacPath`).
DAC_PIPELINE = 3 * GainUnit.LATENCY + 2

#: A signed 24-bit sample per channel: index 0 left, 1 right.
STEREO = data.ArrayLayout(signed(24), 2)


class GainRequest(wiring.Signature):
    """A path's port onto :class:`SharedGain`, from the path's side: one gain operation on
    each channel's :class:`rtl.amp.GainUnit` at once.

    Members
    -------
    valid : Out(1); ready : In(1)
        The operation (``x`` with ``setting``, per channel) starts in a cycle with both high.
    x : Out(STEREO); setting : Out(ArrayLayout(8, 2))
        The operands: sample, and amp setting ([7] mute, [6:0] gain index).
    y : In(STEREO)
        The units' results: an operation's is there ``GainUnit.LATENCY`` cycles after it
        started, until the next result (of either port).
    """

    def __init__(self):
        super().__init__({
            "valid":   Out(1),
            "ready":   In(1),
            "x":       Out(STEREO),
            "setting": Out(data.ArrayLayout(8, 2)),
            "y":       In(STEREO),
        })


class SharedGain(wiring.Component):
    """One :class:`rtl.amp.GainUnit` per channel, shared by the DAC and ADC paths.

    The DAC path has priority (its schedule is fixed: ``dac.ready`` is always high); the ADC
    path's operation starts in a cycle in which the DAC path starts none. The units are
    pipelines, so operations started in different cycles never disturb each other.

    Members
    -------
    dac, adc : In(GainRequest())
        The two paths' ports.
    """

    def __init__(self):
        super().__init__({"dac": In(GainRequest()), "adc": In(GainRequest())})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.dac.ready.eq(1), self.adc.ready.eq(~self.dac.valid)]
        for channel, side in enumerate("lr"):
            m.submodules[f"unit_{side}"] = unit = GainUnit()
            for port, branch in ((self.dac, m.If), (self.adc, m.Elif)):
                with branch(port.valid):
                    m.d.comb += [unit.en.eq(1), unit.x.eq(port.x[channel]),
                                 unit.setting.eq(port.setting[channel])]
            m.d.comb += [self.dac.y[channel].eq(unit.y), self.adc.y[channel].eq(unit.y)]
        return m


class SlotPicker(wiring.Component):
    """A DAC's samples in a received link frame, matched slot by slot as the slots arrive.

    Each slot whose non-zero tag equals the converter's stream tag goes to the left or right
    sample per its channel bit (a channel-0 slot to both when the format is mono); per side the
    lowest matching slot wins. Slots 0-2 are captured into a register per side; the last slot
    is not stored but looked at in its own cycle, in which ``got`` (some slot matched) and
    ``sample`` are the frame's result. Outside that cycle the outputs are 0. The converter's
    settings apply as each slot arrives.

    Members
    -------
    slot : In(RX_SLOT); slot_valid : In(1)
        The link's ``rx_slot`` and ``rx_slot_valid``: slots 0 to 3 of each frame in order,
        slot 3 in the frame's ``rx_valid`` cycle.
    converter : In(ConverterSettings())
        The DAC's stream tag and format.
    got : Out(1); sample : Out(STEREO)
    """

    def __init__(self):
        super().__init__({
            "slot":       In(RX_SLOT),
            "slot_valid": In(1),
            "converter":  In(ConverterSettings()),
            "got":        Out(1),
            "sample":     Out(STEREO),
        })

    def elaborate(self, platform):
        m = Module()
        word, index = self.slot.word, self.slot.index
        tag, channels = self.converter.stream[4:8], self.converter.format[0:4]
        with m.If(self.slot_valid):
            match = Signal()
            m.d.comb += match.eq((word[28:32] == tag) & (tag != 0))
            # a channel-0 slot feeds the left side, and the right one too when mono
            hits = [match & ~word[27], match & (word[27] | (channels == 0))]
            haves = []
            for channel, side in enumerate("lr"):
                hit = Signal(name=f"hit_{side}")
                kept = Signal(signed(24), name=f"kept_{side}")
                have = Signal(name=f"have_{side}")          # kept holds this frame's sample
                m.d.comb += hit.eq(hits[channel])
                with m.If(index == SLOTS - 1):
                    # the last slot is not stored: it counts if no earlier one matched. An
                    # AND-OR of two selects (named: ABC then maps each bit to one LUT4)
                    take_kept = Signal(name=f"take_kept_{side}")
                    take_word = Signal(name=f"take_word_{side}")
                    m.d.comb += [
                        take_kept.eq(have),
                        take_word.eq(hit & ~have),
                        self.sample[channel].eq(Mux(take_kept, kept, 0) |
                                                Mux(take_word, word[:24], 0)),
                    ]
                with m.Elif((index == 0) | ~have):             # slot 0 starts a new frame
                    m.d.sync += have.eq(hit)
                    with m.If(hit):
                        m.d.sync += kept.eq(word[:24])
                haves.append(have)
            with m.If(index == SLOTS - 1):
                m.d.comb += self.got.eq(match | haves[0] | haves[1])
        return m


class DacPath(wiring.Component):
    """From the received link frame to ``dac_l``/``dac_r``: DAC A and B's amps, the mixer's
    input amps and saturating sum, the headphone amp.

    Per channel the five gain operations run on the shared GainUnit (results L =
    ``GainUnit.LATENCY`` cycles after an operation), starting in the cycle in which either DAC
    got a slot (``emit``, t = 0); ``step[k]`` is high in cycle t = k + 1:

    - t = 0: DAC A amp (x = A's sample); t = 1: DAC B amp (x = B's sample, held)
    - t = L: mixer input 0 amp (x = y: DAC A's output); t = L+1: mixer input 1 amp (DAC B's)
    - t = 2L: y is mixer input 0's output: held
    - t = 2L+1: headphone amp (x = ``mix`` = sat(held + y), which goes to the peak meter)
    - t = 3L+1: the headphone amp's output goes to ``dac_l``/``dac_r``, ``dac_valid`` follows

    so ``dac_valid`` pulses :data:`DAC_PIPELINE` cycles after the ``rx_valid`` cycle. A frame's
    operations are done before the next frame's slots arrive (frames are far more than
    :data:`DAC_PIPELINE` cycles apart), so at most one operation starts in a cycle.

    Members
    -------
    rx_slot : In(RX_SLOT); rx_slot_valid : In(1)
        The link's slots as they arrive (the last of a frame in its ``rx_valid`` cycle).
    dac_a, dac_b : In(ConverterSettings()); amps : In(AMP_SETTINGS)
        The settings.
    gain : Out(GainRequest())
        The priority port of :class:`SharedGain` (never refused: the schedule is fixed).
    mix : Out(stream.Signature(STEREO, always_ready=True))
        The mixer sum, valid at t = 2L+1.
    dac_l, dac_r : Out(signed(24)); dac_valid : Out(1)
        The output frame, with a one-cycle pulse; held until the next one.
    """

    def __init__(self):
        super().__init__({
            "rx_slot":       In(RX_SLOT),
            "rx_slot_valid": In(1),
            "dac_a":         In(ConverterSettings()),
            "dac_b":         In(ConverterSettings()),
            "amps":          In(AMP_SETTINGS),
            "gain":          Out(GainRequest()),
            "mix":           Out(stream.Signature(STEREO, always_ready=True)),
            "dac_l":         Out(signed(24)),
            "dac_r":         Out(signed(24)),
            "dac_valid":     Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        pickers = []
        for name, converter in (("a", self.dac_a), ("b", self.dac_b)):
            m.submodules[f"slots_{name}"] = picker = SlotPicker()
            m.d.comb += [picker.slot.eq(self.rx_slot), picker.slot_valid.eq(self.rx_slot_valid)]
            wiring.connect(m, wiring.flipped(converter), picker.converter)
            pickers.append(picker)
        picker_a, picker_b = pickers

        lat = GainUnit.LATENCY
        emit = Signal()
        m.d.comb += emit.eq(picker_a.got | picker_b.got)      # only in a frame's last slot
        step = Signal(DAC_PIPELINE - 1)
        with m.If(emit | step.any()):
            m.d.sync += step.eq(Cat(emit, step[:-1]))
        m.d.sync += self.dac_valid.eq(step[-1])
        mix_now = step[2 * lat]
        m.d.comb += self.mix.valid.eq(mix_now)

        amps, gain = self.amps, self.gain
        # (when, amp) of the five operations; one frame's are done before the next frame's
        # slots arrive, so at most one is high in a cycle and the operands are an AND-OR
        operations = [(emit, amps.dac_a), (step[0], amps.dac_b), (step[lat - 1], amps.mix_a),
                      (step[lat], amps.mix_b), (mix_now, amps.hp)]
        m.d.comb += gain.valid.eq(Cat(when for when, _ in operations).any())
        for channel, (side, out) in enumerate((("l", self.dac_l), ("r", self.dac_r))):
            y = gain.y[channel]
            held_b = Signal(signed(24), name=f"held_b_{side}")
            mixed_a = Signal(signed(24), name=f"mixed_a_{side}")
            total = Signal(signed(25), name=f"sum_{side}")
            with m.If(mix_now):             # 0 outside its cycle, and so is mix
                m.d.comb += total.eq(mixed_a + y)
            mix = saturate24(m, total, f"mix_{side}")
            m.d.comb += self.mix.payload[channel].eq(mix)
            # A's sample (0 but when a DAC got a slot) and mix need no select; y is the
            # operand of both mixer input amps
            m.d.comb += [
                gain.x[channel].eq(picker_a.sample[channel] | Mux(step[0], held_b, 0) |
                                   Mux(step[lat - 1] | step[lat], y, 0) | mix),
                gain.setting[channel].eq(reduce(operator.or_, (
                    Mux(when, amp[channel], 0) for when, amp in operations))),
            ]
            with m.If(emit):
                m.d.sync += held_b.eq(picker_b.sample[channel])
            with m.If(step[2 * lat - 1]):
                m.d.sync += mixed_a.eq(y)
            with m.If(step[3 * lat]):
                m.d.sync += out.eq(y)
        return m


#: bits per channel in the peak meter's reading: the top of the 23-bit magnitude
PEAK_BITS = 16


class PeakMeter(wiring.Component):
    """Per channel the largest magnitude of the ``samples`` since the last reading.

    The magnitude is saturated to 23 bits (``|-2^23|`` reads 2^23-1); only its top
    :data:`PEAK_BITS`, which the reading shows, are compared and kept. A reading
    (``read.clear``) resets both peaks; a sample arriving in the same cycle starts the new
    ones (and is not in the reading).

    Members
    -------
    samples : In(stream.Signature(STEREO, always_ready=True))
        The measured samples.
    read : In(PeakReadout())
        The reader's port.
    """

    def __init__(self):
        super().__init__({
            "samples": In(stream.Signature(STEREO, always_ready=True)),
            "read":    In(PeakReadout()),
        })

    def elaborate(self, platform):
        m = Module()
        peaks = []
        for channel, side in enumerate("lr"):
            x = self.samples.payload[channel]
            # only the reading's bits are kept: the largest of the magnitudes' top bits is
            # the top bits of the largest magnitude
            peak = Signal(PEAK_BITS, name=f"peak_{side}")
            magnitude = Signal(23, name=f"magnitude_{side}")
            top = magnitude[23 - PEAK_BITS:]
            with m.If(self.samples.valid):
                with m.If(x[23]):
                    with m.If(x == -SAMPLE_MAX - 1):
                        m.d.comb += magnitude.eq(SAMPLE_MAX)
                    with m.Else():
                        m.d.comb += magnitude.eq((-x)[:23])
                with m.Else():
                    m.d.comb += magnitude.eq(x[:23])
                with m.If(top > peak):
                    m.d.sync += peak.eq(top)
            # after the update, so that a reading wins over it
            with m.If(self.read.clear):
                m.d.sync += peak.eq(0)
                with m.If(self.samples.valid):
                    m.d.sync += peak.eq(top)
            peaks.append(peak)
        peak_l, peak_r = peaks
        m.d.comb += self.read.reading.eq(Cat(peak_r, peak_l))
        return m


class AdcRate(wiring.Component):
    """The ADC's sample clock: ``take`` is high on the link frame starts on which the ADC
    samples, ``48000 * (MULT+1) / (DIV+1)`` times a second.

    At every ``frame_start`` ``acc += MULT+1``, and when ``acc >= DIV+1`` it subtracts
    ``DIV+1`` and samples; ``restart`` (the format was written) sets ``acc`` to 0 and wins.
    Formats faster than 48 kHz, or of the 44.1 kHz family, never sample.

    Members
    -------
    frame_start : In(1)
        The link's frame start.
    converter : In(ConverterSettings())
        The ADC's settings (the format's rate fields are used).
    restart : In(1)
        The format is written in this cycle.
    take : Out(1)
    """

    def __init__(self):
        super().__init__({
            "frame_start": In(1),
            "converter":   In(ConverterSettings()),
            "restart":     In(1),
            "take":        Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        fmt = self.converter.format
        mult, div = fmt[11:14], fmt[8:11]
        # acc + MULT+1 >= DIV+1  <=>  acc + MULT >= DIV
        acc = Signal(4)                                # stays below DIV+1 <= 8
        acc_next = Signal(4)
        with m.If(self.frame_start):
            m.d.comb += acc_next.eq(acc + mult)
            with m.If(~fmt[14] & (mult <= div)):           # 48 kHz family, at most 48 kHz
                with m.If(acc_next >= div):
                    m.d.comb += self.take.eq(1)
                    m.d.sync += acc.eq(acc_next - div)
                with m.Else():
                    m.d.sync += acc.eq(acc_next + 1)
        with m.If(self.restart):
            m.d.sync += acc.eq(0)
        return m


class AdcPath(wiring.Component):
    """From the ADC pins to slots 0-1 of the next frame the codec sends.

    A sample is taken when :class:`AdcRate` says so while the ADC's stream tag is non-zero:
    ``strobe`` is high in the cycle whose clock edge registers ``adc_l``/``adc_r``. The
    selected input's amp then applies on :class:`SharedGain` (its first cycle free of DAC
    operations), and the results go into slot 0 = (tag, left) and slot 1 = (tag, right) of
    ``tx_slots``, which the link latches at its next ``frame_start``; other slots and frames
    carry tag 0.

    Members
    -------
    frame_start : In(1)
        The link's frame start.
    converter : In(ConverterSettings()); amps : In(AMP_SETTINGS); input_select : In(1)
        The settings (the input: 0 mic, 1 line).
    format_written : In(1)
        The ADC's format is written in this cycle (the rate restarts).
    adc_l, adc_r : In(signed(24)); strobe : Out(1)
        The pins, and the cycle they are sampled in.
    gain : Out(GainRequest())
        The port of :class:`SharedGain` that waits for the DAC path.
    tx_slots : Out(FRAME_BITS)
        The link's frame to send.
    """

    def __init__(self):
        super().__init__({
            "frame_start":    In(1),
            "converter":      In(ConverterSettings()),
            "format_written": In(1),
            "amps":           In(AMP_SETTINGS),
            "input_select":   In(1),
            "adc_l":          In(signed(24)),
            "adc_r":          In(signed(24)),
            "strobe":         Out(1),
            "gain":           Out(GainRequest()),
            "tx_slots":       Out(FRAME_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.rate = rate = AdcRate()
        m.d.comb += [rate.frame_start.eq(self.frame_start), rate.restart.eq(self.format_written)]
        wiring.connect(m, wiring.flipped(self.converter), rate.converter)
        tag = self.converter.stream[4:8]
        gain = self.gain
        m.d.comb += self.strobe.eq(rate.take & (tag != 0))

        # The pins are registered into the operands and the request stays valid until the
        # operation starts (the results are in y exactly LATENCY cycles later).
        issue = Signal()
        m.d.comb += issue.eq(gain.valid & gain.ready)
        with m.If(self.strobe):
            m.d.sync += gain.valid.eq(1)
        with m.Elif(issue):
            m.d.sync += gain.valid.eq(0)
        for channel, pin in enumerate((self.adc_l, self.adc_r)):
            with m.If(self.strobe):
                m.d.sync += gain.x[channel].eq(pin)
            with m.If(issue):
                with m.Switch(self.input_select):
                    for select, amp in enumerate((self.amps.adc_mic, self.amps.adc_line)):
                        with m.Case(select):
                            m.d.comb += gain.setting[channel].eq(amp[channel])
        in_flight = Signal(GainUnit.LATENCY)          # in_flight[-1]: the results are in y
        with m.If(issue | in_flight.any()):
            m.d.sync += in_flight.eq(Cat(issue, in_flight[:-1]))

        # Only slots 0-1 can carry data: the upper half of the frame is a register, the rest 0.
        tx_hi = Signal(2 * SLOT_BITS)
        m.d.comb += self.tx_slots.eq(Cat(Const(0, 2 * SLOT_BITS), tx_hi))
        with m.If(self.frame_start):
            # the link latches the previous value in this same cycle: data goes out next frame
            m.d.sync += tx_hi.eq(0)
        with m.If(in_flight[-1]):
            left, right = gain.y[0], gain.y[1]
            m.d.sync += tx_hi.eq(Cat(
                right, Const(0, 3), Const(1, 1), tag,      # slot 1: right
                left, Const(0, 3), Const(0, 1), tag,       # slot 0: left
            ))
        return m
