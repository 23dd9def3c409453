"""Board tops for ECP5 boards (amaranth-boards platforms): ULX3S 25F/45F/85F and ECPIX-5 85.

Each top is :class:`~rtl.board_core.BoardCore` plus an EHXPLLL making the system clock from the
board oscillator, a reset synchronizer held until the PLL locks, and the pin mapping below.

System clock: 24.576 MHz = 512 x 48 kHz. The Pmod I2S2 needs MCLK = 256 fs, which is this clock
halved, and SCLK/LRCK are power-of-two divisions of it; the controller needs a multiple of
48 kHz x 256. The design closes timing at about 27.6 MHz on a 25F (the codec's gain unit), so
24.576 MHz is the one multiple of 12.288 MHz above the link's minimum that also meets timing
with margin. The PLL gets within 156 ppm of it from the ULX3S's 25 MHz and 54 ppm from the
ECPIX-5's 100 MHz (the audio rate is off by as much; everything on the board shares the clock,
so nothing slips).

Pins (Pmod I2S2 pin numbers from the Digilent Pmod I2S2 reference manual: 1 D/A MCLK, 2 D/A
LRCK, 3 D/A SCLK, 4 D/A SDIN, 7 A/D MCLK, 8 A/D LRCK, 9 A/D SCLK, 10 A/D SDOUT):

- ULX3S: Pmod top row on GP0-GP3, bottom row on GN0-GN3 (header J1); MIDI out GP4, MIDI in
  GN4, jack sense GP5; LEDs 0-5; host serial on the FT231X USB port (``uart``).
- ECPIX-5: Pmod I2S2 on PMOD0; MIDI out PMOD1 pin 1, MIDI in pin 2, jack sense pin 3; LEDs are
  the red and green of RGB LEDs 0-2; host serial on the FT2232H's second channel (``uart``).
"""

from dataclasses import dataclass

from amaranth.build import Attrs, Pins, Resource, Subsignal
from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer
from amaranth_boards.ecpix5 import ECPIX585Platform
from amaranth_boards.ulx3s import ULX3S_25F_Platform, ULX3S_45F_Platform, ULX3S_85F_Platform

from ..board_core import BoardCore, LED_NAMES
from .pll import Ecp5Pll, pll_config

__all__ = ["BoardSpec", "BOARDS", "BoardTop", "SYS_CLK_HZ", "board_platform"]

SYS_CLK_HZ = 24_576_000
PMOD_I2S2_PINS = {"i2s_mclk": "1", "i2s_lrck": "2", "i2s_sclk": "3", "i2s_sdin": "4",
                  "adc_mclk": "7", "adc_lrck": "8", "adc_sclk": "9", "i2s_sdout": "10"}
LVCMOS33 = Attrs(IO_TYPE="LVCMOS33")


@dataclass(frozen=True)
class BoardSpec:
    """A supported board: its amaranth-boards platform, the oscillator resource, the
    connector pins of the Pmod I2S2, MIDI and jack sense, the host serial rate, and how
    openFPGALoader names it."""
    platform: type
    clock: str
    pmod_pins: dict         # PMOD_I2S2_PINS key -> (connector, pin)
    midi_tx: tuple
    midi_rx: tuple
    jack_sense: tuple
    baud: int
    loader_board: str
    leds: tuple             # (resource name, number, subsignal or None) per LED_NAMES entry


def _ulx3s(platform):
    gp = {"1": "0+", "2": "1+", "3": "2+", "4": "3+", "7": "0-", "8": "1-", "9": "2-",
          "10": "3-"}
    return BoardSpec(platform, "clk25",
                     {k: ("gpio", 0, gp[p]) for k, p in PMOD_I2S2_PINS.items()},
                     ("gpio", 0, "4+"), ("gpio", 0, "4-"), ("gpio", 0, "5+"),
                     baud=3_000_000, loader_board="ulx3s",
                     leds=tuple(("led", i, None) for i in range(len(LED_NAMES))))


BOARDS = {
    "ulx3s-25f": _ulx3s(ULX3S_25F_Platform),
    "ulx3s-45f": _ulx3s(ULX3S_45F_Platform),
    "ulx3s-85f": _ulx3s(ULX3S_85F_Platform),
    "ecpix5-85": BoardSpec(
        ECPIX585Platform, "clk100",
        {k: ("pmod", 0, p) for k, p in PMOD_I2S2_PINS.items()},
        ("pmod", 1, "1"), ("pmod", 1, "2"), ("pmod", 1, "3"),
        baud=3_000_000, loader_board="ecpix5",
        leds=tuple(("rgb_led", i // 2, "rg"[i % 2]) for i in range(len(LED_NAMES)))),
}


def _pin_resource(name, direction, conn):
    connector, number, pin = conn
    return Resource(name, 0, Pins(pin, dir=direction, conn=(connector, number)), LVCMOS33)


def board_platform(board):
    """A fresh platform for ``board`` with the Pmod I2S2, MIDI and jack-sense resources."""
    spec = BOARDS[board]
    platform = spec.platform()
    pins = [Subsignal(name, Pins(pin, dir="i" if name == "i2s_sdout" else "o",
                                 conn=(connector, number)))
            for name, (connector, number, pin) in spec.pmod_pins.items()]
    platform.add_resources([
        Resource("pmod_i2s2", 0, *pins, LVCMOS33),
        _pin_resource("midi_tx", "o", spec.midi_tx),
        _pin_resource("midi_rx", "i", spec.midi_rx),
        _pin_resource("jack_sense", "i", spec.jack_sense),
    ])
    return platform


class BoardTop(Elaboratable):
    """The top level of ``board``: PLL, reset synchronizer and :class:`BoardCore` on the
    board's pins."""

    def __init__(self, board, clk_hz=SYS_CLK_HZ):
        if board not in BOARDS:
            raise ValueError(f"unknown board {board!r}; choose one of {', '.join(BOARDS)}")
        self.spec = BOARDS[board]
        self.clk_hz = clk_hz
        self.core = BoardCore(clk_hz, baud=self.spec.baud)

    @staticmethod
    def _buffer(m, direction, port):
        buffer = io.Buffer(direction, port)
        m.submodules += buffer
        return buffer

    def pll(self, platform):
        osc = platform.resources[self.spec.clock, 0].clock.frequency
        return pll_config(int(osc), self.clk_hz)

    def elaborate(self, platform):
        m = Module()
        spec = self.spec
        m.domains.sync = sync = ClockDomain("sync")
        m.submodules.pll = pll = Ecp5Pll(self.pll(platform))
        osc = self._buffer(m, "i", platform.request(spec.clock, 0, dir="-"))
        m.d.comb += [pll.clk_in.eq(osc.i), ClockSignal("sync").eq(pll.clk_out)]
        platform.add_clock_constraint(sync.clk, self.clk_hz)
        m.submodules.reset_sync = ResetSynchronizer(~pll.locked, domain="sync")

        m.submodules.core = core = self.core
        uart = platform.request("uart", 0, dir="-")
        i2s = platform.request("pmod_i2s2", 0, dir="-")
        inputs = {"uart_rx": uart.rx, "i2s_sdout": i2s.i2s_sdout,
                  "midi_rx": platform.request("midi_rx", 0, dir="-"),
                  "jack_sense": platform.request("jack_sense", 0, dir="-")}
        outputs = [(uart.tx, core.uart_tx), (i2s.i2s_mclk, core.i2s_mclk),
                   (i2s.adc_mclk, core.i2s_mclk), (i2s.i2s_lrck, core.i2s_lrck),
                   (i2s.adc_lrck, core.i2s_lrck), (i2s.i2s_sclk, core.i2s_sclk),
                   (i2s.adc_sclk, core.i2s_sclk), (i2s.i2s_sdin, core.i2s_sdin),
                   (platform.request("midi_tx", 0, dir="-"), core.midi_tx)]
        for name, port in inputs.items():
            m.d.comb += getattr(core, name).eq(self._buffer(m, "i", port).i)
        requested = {}
        for index, (name, number, colour) in enumerate(spec.leds):
            if (name, number) not in requested:     # an RGB LED serves up to three LEDs
                requested[name, number] = platform.request(name, number, dir="-")
            led = requested[name, number]
            outputs.append((led if colour is None else getattr(led, colour), core.leds[index]))
        for port, signal in outputs:
            m.d.comb += self._buffer(m, "o", port).o.eq(signal)
        return m
