"""The ULX3S-25F bitstream with the open toolchain from PyPI (built once, cached by content
under .cache/fpga): timing met at the board clock, utilisation reported; the nextpnr report
parser; the openFPGALoader command; the fpga CLI's errors."""

import pytest

from boardhost.fpga import FpgaBuildError, build_bitstream, parse_nextpnr_log, program_command
from pcsim.cli import main
from rtl.boards.tops import SYS_CLK_HZ

LOG = """Info: Device utilisation:
Info: 	          TRELLIS_IO:    21/  197    10%
Info: 	                DCCA:     2/   56     3%
Info: 	              DP16KD:    35/   56    62%
Info: 	          MULT18X18D:    16/   28    57%
Info: 	             EHXPLLL:     1/    2    50%
Info: 	          TRELLIS_FF:  3900/24288    16%
Info: 	        TRELLIS_COMB:  9100/24288    37%
Info: 	        TRELLIS_RAMW:    54/ 3036     1%
Info: Max frequency for clock '$glbnet$clk25$TRELLIS_IO_IN': 250.00 MHz (PASS at 25.00 MHz)
Info: Max frequency for clock '$glbnet$core.clk': 26.90 MHz (PASS at 24.58 MHz)
"""


def test_parse_nextpnr_log():
    util, fmax, target = parse_nextpnr_log(LOG, SYS_CLK_HZ)
    assert util["LUT4"] == (9100, 24288) and util["BRAM (DP16KD)"] == (35, 56)
    assert util["DSP (MULT18X18D)"] == (16, 28) and "DCCA" not in str(util)
    assert (fmax, target) == (26.90, 24.58)
    assert parse_nextpnr_log(LOG)[1:] == (26.90, 24.58)           # the last clock reported
    assert parse_nextpnr_log(LOG, 25e6)[1:] == (250.0, 25.0)
    with pytest.raises(FpgaBuildError, match="no clock"):
        parse_nextpnr_log("Info: nothing\n")


def test_program_command():
    assert program_command("ulx3s-25f", "b.bit") == ["openFPGALoader", "--board", "ulx3s",
                                                     "b.bit"]
    assert program_command("ecpix5-85", "b.bit", flash=True)[-2:] == ["--write-flash", "b.bit"]


def test_program_without_bitstream_is_a_user_error(tmp_path, capsys):
    assert main(["fpga", "program", "--board", "ulx3s-25f", "--bitstream",
                 str(tmp_path / "none.bit")]) == 2
    assert "no bitstream" in capsys.readouterr().err


def test_ulx3s_25f_bitstream(tmp_path, capsys):
    """One build of the CI board (cached by content): timing met at 24.576 MHz, resources
    printed, the bitstream copied to -o; the program command names it."""
    assert main(["fpga", "build", "--board", "ulx3s-25f", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("LUT4", "FF", "BRAM (DP16KD)", "DSP (MULT18X18D)", "Fmax", "timing met"):
        assert name in out, out
    bit = tmp_path / "ulx3s-25f.bit"
    assert bit.stat().st_size > 100_000
    result = build_bitstream("ulx3s-25f")          # the cache answers
    assert result.cached and result.timing_met
    assert result.target_mhz == pytest.approx(SYS_CLK_HZ / 1e6, abs=0.01)
    print(f"\n{result.summary()}")
    assert main(["fpga", "program", "--board", "ulx3s-25f", "--bitstream", str(bit),
                 "--dry-run"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"--board ulx3s {bit}")
