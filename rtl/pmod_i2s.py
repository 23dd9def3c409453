"""Standard (Philips) I2S for a Digilent Pmod I2S2 (CS4344 DAC, CS5343 ADC), master mode.

The FPGA drives MCLK = 256 fs, SCLK = 64 fs and LRCK = fs to both converters (the CS5343 runs
as a slave when it is given LRCK and SCLK). Each half of the LRCK period carries 32 SCLK bits:
the sample MSB first, starting one SCLK after the LRCK edge (the Philips one-bit delay), 24 bits,
then zeros. LRCK low is the left channel. Data changes on SCLK's falling edge and is sampled on
its rising edge (Digilent Pmod I2S2 reference manual; Cirrus CS4344 and CS5343 data sheets,
"I2S" format).
"""

from amaranth.hdl import Module, Signal, Cat, Const
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["PmodI2S", "SAMPLE_BITS", "BITS_PER_CHANNEL", "i2s_frame_clocks"]

SAMPLE_BITS = 24
BITS_PER_CHANNEL = 32
#: SCLK bits per LRCK period
FRAME_BITS = 2 * BITS_PER_CHANNEL
MCLK_PER_FS = 256
RATE = 48000


def i2s_frame_clocks(clk_hz):
    """Clocks per I2S frame; MCLK and SCLK are power-of-two divisions of the clock, so the
    clock must be 48 kHz times a power of two of at least 512 (24.576 MHz, 49.152 MHz...)."""
    frame = clk_hz // RATE
    if clk_hz % RATE or frame < 2 * MCLK_PER_FS or frame & (frame - 1):
        raise ValueError(f"clock {clk_hz} Hz is not 48 kHz x 2^n >= 512 (24.576 MHz, "
                         f"49.152 MHz...): the Pmod I2S2 needs MCLK = 256 fs")
    return frame


class PmodI2S(wiring.Component):
    """I2S master: ``dac_l``/``dac_r`` are taken when ``dac_valid`` pulses and sent in the next
    frame; ``adc_l``/``adc_r`` hold the last frame received on ``adc_sdout``. ``frame_start``
    pulses at the start of each LRCK period (left channel)."""

    def __init__(self, clk_hz):
        self.frame_clocks = i2s_frame_clocks(clk_hz)
        super().__init__({
            "dac_l": In(SAMPLE_BITS), "dac_r": In(SAMPLE_BITS), "dac_valid": In(1),
            "adc_l": Out(SAMPLE_BITS), "adc_r": Out(SAMPLE_BITS),
            "mclk": Out(1), "lrck": Out(1), "sclk": Out(1), "dac_sdin": Out(1),
            "adc_sdout": In(1),
            "frame_start": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        count = Signal(range(self.frame_clocks))
        m.d.sync += count.eq(count + 1)
        clocks_per_bit = self.frame_clocks // FRAME_BITS
        sub = count[:(clocks_per_bit - 1).bit_length()]    # clock within the SCLK bit
        bit = count[(clocks_per_bit - 1).bit_length():]     # SCLK bit within the frame, 0..63
        mclk_div = self.frame_clocks // MCLK_PER_FS
        # registered outputs so the pins are glitch-free; they lag `count` by one clock
        m.d.sync += [
            self.mclk.eq(count[(mclk_div - 1).bit_length() - 1] if mclk_div > 1 else ~self.mclk),
            self.sclk.eq(sub[-1]),
            self.lrck.eq(bit[-1]),
        ]
        pending = Signal(2 * SAMPLE_BITS)
        with m.If(self.dac_valid):
            m.d.sync += pending.eq(Cat(self.dac_r, self.dac_l))
        # shift register: left half then right half, each MSB first after one idle bit
        shift = Signal(FRAME_BITS)
        at_bit_start = sub == 0
        m.d.comb += self.frame_start.eq(count == 0)
        with m.If(count == 0):
            left, right = pending[SAMPLE_BITS:], pending[:SAMPLE_BITS]
            pad = Const(0, BITS_PER_CHANNEL - SAMPLE_BITS - 1)
            word = Cat(pad, right, Const(0, 1), pad, left, Const(0, 1))
            m.d.sync += [shift.eq(word << 1), self.dac_sdin.eq(word[-1])]
        with m.Elif(at_bit_start):
            m.d.sync += [shift.eq(shift << 1), self.dac_sdin.eq(shift[-1])]

        # receiver: sample mid-bit (SCLK rises at the middle of the bit on the pins, a clock
        # after `sub` says so; two more for the synchronizer)
        sdout = Signal()
        m.submodules.sync_sdout = FFSynchronizer(self.adc_sdout, sdout)
        rx = Signal(FRAME_BITS)
        sample_at = min(clocks_per_bit - 1, clocks_per_bit // 2 + 3)
        with m.If(sub == sample_at):
            m.d.sync += rx.eq(Cat(sdout, rx))
        # at the start of a frame rx holds the previous one: its bit j in rx[63 - j]
        with m.If(count == 0):
            m.d.sync += [
                self.adc_l.eq(rx[FRAME_BITS - 1 - SAMPLE_BITS:FRAME_BITS - 1]),
                self.adc_r.eq(rx[BITS_PER_CHANNEL - 1 - SAMPLE_BITS:BITS_PER_CHANNEL - 1]),
            ]
        return m
