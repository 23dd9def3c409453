"""The generated C header compiles cleanly with gcc and its values, as a C program computes
them, equal the register map's: offsets, sizes, access widths, field shifts/widths/masks and
every stream register reached through SD_REG(n, NAME)."""

import subprocess

from rtl.regmap import (REGMAP, NUM_STREAMS, STREAM_BASE, STREAM_STRIDE, VENDOR_STREAM_BASE,
                        VENDOR_STREAM_STRIDE, stream_reg)

PREFIX = "PCSIM"


def expected_values():
    """``{C expression: value}`` derived from the register map independently of the header."""
    want = {}
    for r in REGMAP:
        want[f"{PREFIX}_{r.name}"] = r.offset
        want[f"{PREFIX}_{r.name}_SIZE"] = r.size
        want[f"{PREFIX}_{r.name}_ACCESS"] = {1: 8, 2: 16, 3: 32, 4: 32}[r.size]
        for f in r.fields:
            want[f"{PREFIX}_{r.name}_{f.name}_SHIFT"] = f.lsb
            want[f"{PREFIX}_{r.name}_{f.name}_WIDTH"] = f.width
            want[f"{PREFIX}_{r.name}_{f.name}_MASK"] = ((1 << f.width) - 1) << f.lsb
    prefix0 = stream_reg("", 0)
    for r in REGMAP:
        if r.group != "sd0" or r.alias_of:
            continue
        name = r.name[len(prefix0):]
        for n in range(NUM_STREAMS):
            want[f"{PREFIX}_SD_REG({n}, {name})"] = REGMAP[stream_reg(name, n)].offset
        want[f"{PREFIX}_SD_{name}_SIZE"] = r.size
        for f in r.fields:
            want[f"{PREFIX}_SD_{name}_{f.name}_MASK"] = ((1 << f.width) - 1) << f.lsb
    want.update({f"{PREFIX}_NUM_STREAMS": NUM_STREAMS, f"{PREFIX}_SD_STRIDE": STREAM_STRIDE,
                 f"{PREFIX}_SD_BASE": STREAM_BASE, f"{PREFIX}_SDV_BASE": VENDOR_STREAM_BASE,
                 f"{PREFIX}_SDV_STRIDE": VENDOR_STREAM_STRIDE})
    return want


def test_sizes_are_the_documented_ones():
    """The issue's example: SD0STS is one byte at 0x83, accessed as a byte."""
    want = expected_values()
    assert want["PCSIM_SD0STS"] == 0x83 and want["PCSIM_SD0STS_SIZE"] == 1
    assert want["PCSIM_SD0STS_ACCESS"] == 8
    assert want["PCSIM_SD_REG(2, CTL)"] == 0xC0 and want["PCSIM_SD_REG(1, XRUN)"] == 0x101C


def test_header_compiles_and_matches(tmp_path):
    """gcc (installed by `make setup` with the Verilator tools) compiles it warning-free."""
    (tmp_path / "regs.h").write_text(REGMAP.to_c_header(PREFIX))
    want = expected_values()
    body = "\n".join(f'    printf("%s %lu\\n", "{expr}", (unsigned long)({expr}));'
                     for expr in want)
    (tmp_path / "check.c").write_text(
        '#include <stdio.h>\n#include "regs.h"\n#include "regs.h" /* include guard */\n'
        f"int main(void)\n{{\n{body}\n    return 0;\n}}\n")
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                    "-o", str(tmp_path / "check"), str(tmp_path / "check.c")],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(tmp_path / "check")], check=True, capture_output=True,
                         text=True).stdout
    got = {}
    for line in out.splitlines():
        expr, value = line.rsplit(" ", 1)
        got[expr] = int(value)
    assert got == want
