"""Verilog export of the top levels."""

from amaranth.back import verilog
from amaranth.hdl import Shape

from .soc import AudioSoC, ControllerTop

__all__ = ["TOPS", "build_top", "verilog_text", "top_ports", "verilog_and_ports"]

TOPS = {"audio_soc": AudioSoC, "controller": ControllerTop}


def build_top(top="audio_soc", clk_hz=12_288_000):
    """The Amaranth component for ``top``; ValueError names a bad top or clock."""
    if top not in TOPS:
        raise ValueError(f"unknown top {top!r}; choose one of {', '.join(TOPS)}")
    return TOPS[top](clk_hz=int(clk_hz))


def verilog_text(top="audio_soc", clk_hz=12_288_000):
    """Verilog source whose top module is named ``top``."""
    return verilog.convert(build_top(top, clk_hz), name=top, emit_src=False)


def top_ports(top="audio_soc", clk_hz=12_288_000):
    """``[(name, "input"|"output", width)]`` of the top module, ``clk`` and ``rst`` first."""
    return verilog_and_ports(top, clk_hz)[1]


def verilog_and_ports(top="audio_soc", clk_hz=12_288_000):
    """Both the Verilog text and the port list, from one elaboration."""
    component = build_top(top, clk_hz)
    return verilog.convert(component, name=top, emit_src=False), _ports(component)


def _ports(component):
    ports = [("clk", "input", 1), ("rst", "input", 1)]
    for name, member in component.signature.members.items():
        direction = "input" if member.flow.name == "In" else "output"
        ports.append((name, direction, Shape.cast(member.shape).width))
    return ports
