"""ECP5 EHXPLLL configuration: the divider search and the primitive instance."""

from dataclasses import dataclass

from amaranth.hdl import Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PllConfig", "pll_config", "Ecp5Pll"]

# ECP5 sysCLOCK PLL limits (Lattice TN1263 "ECP5 and ECP5-5G sysCLOCK PLL/DLL Design and Usage
# Guide", the same limits the open tool ecppll searches within)
PFD_MIN_MHZ, PFD_MAX_MHZ = 3.125, 400.0
VCO_MIN_MHZ, VCO_MAX_MHZ = 400.0, 800.0
CLKI_DIV_MAX, CLKFB_DIV_MAX, OUT_DIV_MAX = 128, 80, 128


@dataclass(frozen=True)
class PllConfig:
    """Dividers of an EHXPLLL whose CLKOP feeds back and whose CLKOS is the output:
    ``vco = fin / clki_div * clkfb_div * clkop_div`` and ``fout = vco / clkos_div``."""
    fin_hz: int
    clki_div: int
    clkfb_div: int
    clkop_div: int
    clkos_div: int

    @property
    def vco_hz(self):
        return self.fin_hz / self.clki_div * self.clkfb_div * self.clkop_div

    @property
    def fout_hz(self):
        return self.vco_hz / self.clkos_div

    def error_ppm(self, target_hz):
        return (self.fout_hz - target_hz) / target_hz * 1e6


def pll_config(fin_hz, fout_hz):
    """The dividers that bring ``fin_hz`` closest to ``fout_hz`` within the PLL's limits."""
    best = None
    for clki in range(1, CLKI_DIV_MAX + 1):
        pfd = fin_hz / clki / 1e6
        if not PFD_MIN_MHZ <= pfd <= PFD_MAX_MHZ:
            continue
        for fb in range(1, CLKFB_DIV_MAX + 1):
            for op in range(1, OUT_DIV_MAX + 1):
                vco = pfd * fb * op
                if vco > VCO_MAX_MHZ:
                    break
                if vco < VCO_MIN_MHZ:
                    continue
                os_div = min(OUT_DIV_MAX, max(1, round(vco * 1e6 / fout_hz)))
                cfg = PllConfig(fin_hz, clki, fb, op, os_div)
                if best is None or abs(cfg.error_ppm(fout_hz)) < abs(best.error_ppm(fout_hz)):
                    best = cfg
    if best is None:
        raise ValueError(f"no EHXPLLL setting makes {fout_hz} Hz from {fin_hz} Hz")
    return best


class Ecp5Pll(wiring.Component):
    """An EHXPLLL making ``config.fout_hz`` on ``clk_out`` from ``clk_in``; ``locked`` is the
    PLL's lock output (asynchronous)."""

    clk_in: In(1)
    clk_out: Out(1)
    locked: Out(1)

    def __init__(self, config):
        self.config = config
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        c = self.config
        feedback = Signal()
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=f"{c.fin_hz / 1e6:g}",
            a_FREQUENCY_PIN_CLKOS=f"{c.fout_hz / 1e6:.6f}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
            p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
            p_CLKI_DIV=c.clki_div, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=c.clkfb_div,
            p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=c.clkop_div, p_CLKOP_CPHASE=c.clkop_div - 1,
            p_CLKOP_FPHASE=0,
            p_CLKOS_ENABLE="ENABLED", p_CLKOS_DIV=c.clkos_div, p_CLKOS_CPHASE=c.clkos_div - 1,
            p_CLKOS_FPHASE=0,
            i_RST=0, i_STDBY=0, i_CLKI=self.clk_in, i_CLKFB=feedback,
            i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
            i_PLLWAKESYNC=0, i_ENCLKOP=0, i_ENCLKOS=0,
            o_CLKOP=feedback, o_CLKOS=self.clk_out, o_LOCK=self.locked)
        return m
