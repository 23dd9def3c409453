"""Analog-side models on the codec's sample ports: a speaker and a microphone."""

import os

import cocotb
from cocotb.triggers import RisingEdge, FallingEdge

__all__ = ["Speaker", "Microphone", "to_signed24"]


def to_signed24(v):
    v = int(v) & 0xFFFFFF
    return v - (1 << 24) if v & 0x800000 else v


class Speaker:
    """Every DAC frame (left, right as signed 24-bit) since this object was made.

    The testbench wrapper records the frames into the file named by its ``+pcsim_dac``
    plusarg (:func:`harness.build.run` always passes one), so no Python runs per audio frame;
    :attr:`frames` reads what has arrived whenever it is asked."""

    def __init__(self, dut, path=None):
        self.dut = dut
        path = path or cocotb.plusargs.get("pcsim_dac")
        if not path:
            raise RuntimeError("no DAC recording: the simulation needs the +pcsim_dac=PATH "
                               "plusarg (harness.build.run passes it)")
        self._path = str(path)
        # frames written before this speaker existed (an earlier test) are not ours
        self._start = os.path.getsize(self._path) if os.path.exists(self._path) else 0
        self._fh = None
        self._pending = ""
        self._frames = []

    @property
    def frames(self):
        if self._fh is None:
            if not os.path.exists(self._path):
                return self._frames
            self._fh = open(self._path, "r")
            self._fh.seek(self._start)
        text = self._pending + self._fh.read()
        lines = text.split("\n")
        self._pending = lines.pop()          # an unfinished line waits for the next read
        for line in lines:
            left, right = line.split()
            self._frames.append((to_signed24(int(left, 16)), to_signed24(int(right, 16))))
        return self._frames

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
