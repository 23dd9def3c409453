"""Pure-Python parts of the driver trace: register decoding, ASCII vectors, the null tracer,
the wave selection's plusargs, the wrapper's driver scope and recording block, the GTKWave
register filter."""

import pytest

from cosim.trace import ascii_value, describe_access, format_line
from harness.gtkw import register_filter_text
from harness.waves import WaveSelection
from harness.wrapper import DRIVER_MODULE, DRIVER_TEXT, dump_verilog, wrapper_verilog
from portdrv.hal import NULL_TRACER, ResourceList, SimpleScheduler


def test_register_accesses_are_named_and_decoded():
    assert describe_access(True, 0xA3, b"\x04") == ("SD1STS", "SD1STS <- 0x4 BCIS=1")
    names, detail = describe_access(False, 0xA0, (0x100016 | 0x24 << 24).to_bytes(4, "little"))
    assert names == "SD1CTL/SD1STS"
    assert detail == ("SD1CTL = 0x100016 RUN=1 IOCE=1 DEIE=1 STRM=1; "
                      "SD1STS = 0x24 BCIS=1 FIFORDY=1")
    # a word no register covers is shown by its address
    assert describe_access(False, 0x7FC, bytes(4)) == ("0x07fc", "0x07fc = 0x0")


def test_text_vectors_and_timeline_lines():
    assert ascii_value("ab", 4) == int.from_bytes(b"ab  ", "big")
    assert ascii_value("toolong", 3) == int.from_bytes(b"too", "big")
    assert format_line(1_546_219, "miniport", "REG_WRITE", "GCTL <- 0x0") == \
        "        1546.219 ns  miniport REG_WRITE       GCTL <- 0x0"


def test_null_tracer_is_the_default():
    scheduler = SimpleScheduler()
    assert scheduler.tracer is NULL_TRACER and not NULL_TRACER.enabled
    assert NULL_TRACER.event("port", "ISR_ENTER") is None
    resources = ResourceList(registers=None, interrupt=None, memory=None, scheduler=scheduler)
    assert resources.tracer is NULL_TRACER


def test_wave_selection_plusargs_and_checks():
    assert WaveSelection().plusargs() == []
    assert WaveSelection(0.001, 0.0015, "top").plusargs() == [
        "+pcsim_waves_top", "+pcsim_waves_from_ps=1000000000",
        "+pcsim_waves_to_ps=1500000000"]
    with pytest.raises(ValueError, match="before it starts"):
        WaveSelection(0.002, 0.001)
    with pytest.raises(ValueError, match="scope"):
        WaveSelection(scope="dut")
    window = WaveSelection(0.001, 0.003)
    assert window.covered_s(0.010, "icarus") == pytest.approx(0.002)
    assert window.covered_s(0.010, "verilator") == pytest.approx(0.009)   # no $dumpoff
    assert window.covered_s(0.002, "icarus") == pytest.approx(0.001)
    assert WaveSelection().covered_s(0.010, "icarus") == 0.010


def test_wrapper_has_the_driver_scope_and_records_only_when_asked():
    ports = [("clk", "input", 1), ("rst", "input", 1), ("irq", "output", 1)]
    text = wrapper_verilog("d", ports, 12_288_000, dump=True)
    assert f"  {DRIVER_MODULE} driver ();" in text
    for name, chars in DRIVER_TEXT.items():
        assert f"reg [{8 * chars - 1}:0] {name} /*verilator public_flat_rw*/;" in text
    assert "\n".join(dump_verilog()) in text
    assert 'initial if ($value$plusargs("pcsim_dumpfile=%s", pcsim_dumpfile)) begin' in text
    assert "$dumpvars" not in wrapper_verilog("d", ports, 12_288_000)


def test_register_filter_matches_the_bus_width():
    lines = register_filter_text(16).splitlines()
    assert "00A0 SD1CTL/SD1STS" in lines and "0024 INTSTS" in lines
    assert "000000A0 SD1CTL/SD1STS" in register_filter_text(32).splitlines()
