"""The generated testbench wrapper and its AXI burst transactor, as text (no simulator): which
ports get a transactor, what Python can reach, how the DUT's inputs are connected."""

import re

import pytest

from harness.axi_transactor import DRIVEN, SAMPLED, transactor_ports
from harness.wrapper import wrapper_verilog

AXI_WIDTHS = {"awaddr": 32, "awlen": 8, "araddr": 32, "arlen": 8, "wdata": 32, "wstrb": 4,
              "rdata": 32, "bresp": 2, "rresp": 2}


def axi_master(prefix="m_axi", drop=()):
    ports = [(f"{prefix}_{s}", "input", AXI_WIDTHS.get(s, 1)) for s in DRIVEN if s not in drop]
    ports += [(f"{prefix}_{s}", "output", AXI_WIDTHS.get(s, 1)) for s in SAMPLED
              if s not in drop]
    return ports


def design(*extra):
    return [("clk", "input", 1), ("rst", "input", 1), *extra]


def test_a_whole_axi4_master_gets_a_transactor_with_its_python_interface():
    text = wrapper_verilog("dut_top", design(*axi_master()), 12.288e6, axi_burst_beats=16)
    for name, kind in (("enable", "rw"), ("go", "rw"), ("flush", "rw"), ("rdata", "rw"),
                       ("resp", "rw"), ("pause", "rw"), ("pause_on", "rw"), ("req", "rd"),
                       ("kind", "rd"), ("chan", "rd"), ("addr", "rd"), ("beats", "rd"),
                       ("wdata", "rd"), ("wstrb", "rd")):
        assert re.search(rf"reg (\[\d+:0\] )?m_axi_tx_{name} /\*verilator public_flat_{kind}\*/;",
                         text), name
    # 16 beats of 32 bits in each direction
    assert "reg [511:0] m_axi_tx_rdata" in text and "reg [511:0] m_axi_tx_wdata" in text
    assert "reg [63:0] m_axi_tx_wstrb" in text
    # each slave-side input is the transactor's while it is selected, else the Python-driven reg
    for s in DRIVEN:
        assert re.search(rf"\.m_axi_{s}\(m_axi_tx_on \? \S+ : m_axi_{s}__dut\)", text), s
    # the select is a flop of the VPI-written enable
    assert "always @(posedge clk__dut) m_axi_tx_on <= m_axi_tx_enable;" in text


def test_no_transactor_without_a_whole_master_port():
    partial = axi_master(drop=("rlast",))
    assert not transactor_ports(design(*partial), "m_axi")
    text = wrapper_verilog("dut_top", design(*partial), 12.288e6)
    assert "m_axi_tx_" not in text
    assert ".m_axi_rvalid(m_axi_rvalid__dut)" in text


def test_one_transactor_per_master_port():
    text = wrapper_verilog("dut_top", design(*axi_master("a"), *axi_master("b")), 48e6,
                           axi_burst_beats=4)
    assert "reg [127:0] a_tx_rdata" in text and "reg [127:0] b_tx_rdata" in text


def test_read_and_write_data_must_match():
    ports = [(n, d, 64 if n == "m_axi_wdata" else w) for n, d, w in axi_master()]
    with pytest.raises(ValueError, match="same whole number of bytes"):
        wrapper_verilog("dut_top", design(*ports), 12.288e6)
