"""The pcsim command line: verilog and regmap exports, and bad input handling."""

import json
import os
import subprocess
import sys

import pytest

from harness.build import ensure_verilator_on_path
from pcsim.cli import main


def pcsim(*args):
    return subprocess.run([sys.executable, "-m", "pcsim", *args], capture_output=True,
                          text=True)


def test_regmap_formats(tmp_path, capsys):
    assert main(["regmap", "--format", "json"]) == 0
    regs = {r["name"]: r for r in json.loads(capsys.readouterr().out)["registers"]}
    assert regs["SD1CTL"]["offset"] == 0xA0
    assert [f["name"] for f in regs["SD1STS"]["fields"]] == ["BCIS", "FIFOE", "DESE", "FIFORDY",
                                                             "LVBCI"]
    header = tmp_path / "regs.h"
    assert main(["regmap", "--format", "c", "-o", str(header)]) == 0
    text = header.read_text()
    assert "#define PCSIM_GCTL 0x0008u" in text and text.rstrip().endswith("*/")
    assert main(["regmap"]) == 0
    assert "| 0x0080 | SD0CTL | 3 | SRST | 0 | RWA |" in capsys.readouterr().out


@pytest.mark.parametrize("top", ["audio_soc", "controller"])
def test_verilog_export_lints_and_compiles(tmp_path, top):
    """The exported Verilog passes verilator --lint-only (warnings only) and compiles in Icarus."""
    assert main(["verilog", "--top", top, "-o", str(tmp_path)]) == 0
    source = tmp_path / f"{top}.v"
    assert f"module {top}(" in source.read_text()
    ensure_verilator_on_path()
    lint = subprocess.run(["verilator", "--lint-only", "-Wno-fatal", "--top-module", top,
                           str(source)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr
    assert "%Error" not in lint.stderr
    ivl = subprocess.run(["iverilog", "-g2005", "-o", str(tmp_path / "sim.vvp"), "-s", top,
                          str(source)], capture_output=True, text=True)
    assert ivl.returncode == 0, ivl.stderr


def test_verilog_other_clock(tmp_path):
    assert main(["verilog", "--clk-hz", "24576000", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "audio_soc.v").stat().st_size > 0


@pytest.mark.parametrize("args,message", [
    (["verilog", "--top", "dsp"], "unknown top 'dsp'"),
    (["verilog", "--clk-hz", "1000000"], "clock 1000000 Hz is not a multiple of 48 kHz"),
    (["verilog", "--clk-hz", "12345678"], "not a multiple of 48 kHz"),
])
def test_bad_input_one_line_error_and_no_output(tmp_path, args, message):
    result = pcsim(*args, "-o", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_option_fails():
    result = pcsim("regmap", "--format", "xml")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_verilog_export_is_deterministic():
    """The build cache is keyed by the Verilog text: it must not depend on the hash seed."""
    code = ("import hashlib; from rtl.export import verilog_text; "
            "print(hashlib.sha256(verilog_text().encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
               for seed in (1, 2, 3)}
    assert len(digests) == 1 and len(next(iter(digests))) > 60, digests
