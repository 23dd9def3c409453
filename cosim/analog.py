"""Analog-side models on the codec's sample ports: a speaker and a microphone."""

import cocotb
from cocotb.triggers import RisingEdge, FallingEdge

__all__ = ["Speaker", "Microphone", "to_signed24"]


def to_signed24(v):
    v = int(v) & 0xFFFFFF
    return v - (1 << 24) if v & 0x800000 else v


class Speaker:
    """Records every DAC frame (left, right as signed 24-bit) with the cycle it appeared in."""

    def __init__(self, dut):
        self.dut = dut
        self.frames = []
        self._task = cocotb.start_soon(self._run())

    async def _run(self):
        edge = RisingEdge(self.dut.dac_valid)
        while True:
            await edge
            self.frames.append((to_signed24(self.dut.dac_l.value),
                                to_signed24(self.dut.dac_r.value)))

    def clear(self):
        self.frames.clear()


class Microphone:
    """Feeds ADC frames from ``source`` (an iterable of (left, right) signed 24-bit values);
    each ``adc_strobe`` samples the current pair and the next one is put on the pins."""

    def __init__(self, dut, source=()):
        self.dut = dut
        self._source = iter(source)
        self.sampled = []
        self._drive_next()
        self._task = cocotb.start_soon(self._run())

    def feed(self, source):
        self._source = iter(source)
        self._drive_next()

    def _drive_next(self):
        left, right = next(self._source, (0, 0))
        self._current = (left, right)
        self.dut.adc_l.value = left & 0xFFFFFF
        self.dut.adc_r.value = right & 0xFFFFFF

    async def _run(self):
        rise, fall = RisingEdge(self.dut.adc_strobe), FallingEdge(self.dut.adc_strobe)
        while True:
            await rise
            # the codec latches the pins at the end of the strobe cycle: change them after it
            await fall
            self.sampled.append(self._current)
            self._drive_next()
