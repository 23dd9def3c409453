"""A GTKWave save file for a recorded waveform: the signals a driver engineer looks at, grouped.

:func:`write_save_file` reads the names of the signals a waveform holds (pywellen) and writes,
beside it, ``<name>.gtkw`` and the translate filter ``<name>.regs.txt`` that shows the register
window's address buses as register names (generated from :mod:`rtl.regmap`). Only signals
present in the file are listed, so a waveform narrowed with ``--waves-scope top`` opens as
cleanly as a full one. Groups, top to bottom:

- clocks: the DUT's clock (``clk__dut``), its reset and the interrupt line;
- driver: the ``tb.driver`` scope (:mod:`cosim.trace`), strings in ASCII;
- register window: the AXI4-Lite port as the DUT sees it, addresses shown as register names;
- registers: the controller's register fields by name (collapsed);
- one group per stream engine (SD0 capture, SD1/SD2 render);
- DMA bus (the AXI4 master port), codec link, DAC/ADC, MIDI.
"""

from __future__ import annotations

from pathlib import Path

import pywellen

from rtl.regmap import REGMAP

from .wrapper import DRIVER_NUMBERS, DRIVER_SCOPE, DRIVER_TEXT, DUT_CLOCK, TB_TOP

__all__ = ["write_save_file", "save_files", "save_file_text", "register_filter_text", "save_file_path",
           "filter_path", "signal_widths"]

# GTKWave trace flags (the numbers after '@' in a save file)
HEX, DEC, BIN, SIGNED, ASCII = 0x22, 0x24, 0x28, 0x424, 0x820
TRANSLATED = 0x2000
GROUP_BEGIN, GROUP_END, GROUP_CLOSED, BLANK = 0x800000, 0x1000000, 0x400000, 0x200

CONTROLLER = f"{TB_TOP}.dut.controller"
#: the register window's address bus as the DUT sees it (the filter is made for its width)
ADDRESS_BUS = f"{TB_TOP}.s_axil_awaddr__dut"
STREAM_SIGNALS = ("run_r", "srst_r", "lpib", "civ", "lvi", "cbl", "picb", "fifos", "fifordy",
                  "xrun", "tx_valid", "tx_l", "tx_r", "bdpl", "fmt")
AXIL_INPUTS = ("awaddr", "awvalid", "wdata", "wstrb", "wvalid", "bready", "araddr", "arvalid",
               "rready")
AXIL_OUTPUTS = ("awready", "wready", "bvalid", "bresp", "arready", "rvalid", "rdata", "rresp")
DMA_SIGNALS = ("araddr", "arlen", "arvalid", "arready", "rvalid", "rready", "rlast", "rdata",
               "awaddr", "awlen", "awvalid", "awready", "wvalid", "wready", "wlast", "wdata",
               "bvalid", "bready")


def save_file_path(waves) -> Path:
    """``w.gtkw`` for ``w.fst``."""
    return Path(waves).with_suffix(".gtkw")


def filter_path(waves) -> Path:
    """``w.regs.txt`` for ``w.fst``: the register-name translate filter."""
    return Path(waves).with_suffix(".regs.txt")


def register_filter_text(address_bits: int) -> str:
    """GTKWave translate filter: each 32-bit register word's address in hex as GTKWave shows
    an ``address_bits`` wide bus (every digit, leading zeros included) and the names of the
    registers in that word."""
    digits = -(-address_bits // 4)
    lines = [f"{offset:0{digits}X} {'/'.join(r.name for r in regs)}"
             for offset, regs in REGMAP.words().items()]
    return "\n".join(lines) + "\n"


def signal_widths(waves) -> dict[str, int]:
    """``{full name: bit width}`` of every signal in a waveform file."""
    return {v.full_name: v.bitwidth for v in pywellen.Waveform(str(waves)).all_vars()}


def _trace_line(name, width):
    return name if width == 1 else f"{name}[{width - 1}:0]"


class _Writer:
    def __init__(self, widths):
        self.widths = widths
        self.lines = []
        self.flags = None

    def signal(self, name, flags=HEX, translate=None):
        if name not in self.widths:
            return False
        if translate is not None:
            self.lines.append(f"^1 {translate}")
            flags |= TRANSLATED
        if self.widths[name] == 1 and flags == HEX:
            flags = BIN
        if flags != self.flags:
            self.lines.append(f"@{flags:x}")
            self.flags = flags
        self.lines.append(_trace_line(name, self.widths[name]))
        return True

    def group(self, title, members, closed=False):
        """``members`` is a list of ``(name, flags, translate)``; nothing if none exists."""
        present = [m for m in members if m[0] in self.widths]
        if not present:
            return
        self.flags = None
        self.lines.append(f"@{GROUP_BEGIN | BLANK | (GROUP_CLOSED if closed else 0):x}")
        self.lines.append(f"-{title}")
        for name, flags, translate in present:
            self.signal(name, flags, translate)
        self.lines.append(f"@{GROUP_END | BLANK | (GROUP_CLOSED if closed else 0):x}")
        self.lines.append(f"-{title}")
        self.flags = None


def _register_members():
    out = []
    for reg in REGMAP:
        for field in reg.fields:
            for kind in ("data", "r_data"):
                out.append((f"{CONTROLLER}.fields__{reg.name}__{field.name}__{kind}", HEX, None))
    return out


def save_file_text(waves, widths: dict[str, int], regs_filter, save_file=None) -> str:
    """The save file ``save_file`` (default ``w.gtkw``) for ``waves``, whose signals and
    widths are ``widths``."""
    w = _Writer(widths)
    tb = TB_TOP
    w.group("clocks", [(f"{tb}.{DUT_CLOCK}", BIN, None), (f"{tb}.rst__dut", BIN, None),
                       (f"{tb}.irq", BIN, None)])
    driver = f"{tb}.{DRIVER_SCOPE}"
    w.group("driver", [(f"{driver}.{n}", ASCII, None) for n in DRIVER_TEXT]
            + [(f"{driver}.{n}", DEC if n == "count" else HEX, None) for n in DRIVER_NUMBERS])
    regs = str(regs_filter)
    w.group("register window (AXI4-Lite)",
            [(f"{tb}.s_axil_{n}__dut", HEX, regs if n.endswith("addr") else None)
             for n in AXIL_INPUTS] + [(f"{tb}.s_axil_{n}", HEX, None) for n in AXIL_OUTPUTS])
    w.group("registers", _register_members(), closed=True)
    for n, title in ((0, "SD0 capture engine"), (1, "SD1 render engine"),
                     (2, "SD2 render engine")):
        w.group(title, [(f"{CONTROLLER}.sd{n}.{s}", SIGNED if s in ("tx_l", "tx_r") else HEX,
                         None) for s in STREAM_SIGNALS])
    w.group("DMA bus (AXI4)", [(f"{tb}.m_axi_{n}", HEX, None) for n in DMA_SIGNALS])
    link = f"{CONTROLLER}.link"
    codec = f"{tb}.dut.codec"
    w.group("codec link", [(f"{link}.{n}", HEX, None) for n in ("bclk", "lrclk", "dout", "din")]
            + [(f"{codec}.{n}", HEX, None) for n in ("cmd__valid", "cmd__payload",
                                                     "resp__valid", "resp__payload")])
    w.group("DAC / ADC", [(f"{tb}.{n}", SIGNED if n[-2:] in ("_l", "_r") else HEX, None)
                          for n in ("dac_valid", "dac_l", "dac_r", "adc_strobe", "adc_l",
                                    "adc_r")])
    w.group("MIDI", [(f"{tb}.{n}", HEX, None) for n in ("midi_tx", "midi_rx")]
            + [(f"{CONTROLLER}.midi.{n}", HEX, None) for n in ("mq_free", "wallclk")])
    header = [
        "[*] GTKWave save file written by pcsim (harness.gtkw)",
        f'[dumpfile] "{Path(waves).resolve()}"',
        f'[savefile] "{Path(save_file or save_file_path(waves)).resolve()}"',
        "[timestart] 0",
        "[size] 1600 900",
        "[sst_width] 260",
        "[signals_width] 300",
        "[sst_expanded] 1",
        "[sst_vpaned_height] 300",
    ]
    return "\n".join(header + w.lines) + "\n"


def save_files(waves, save_file=None, regs_filter=None, recorded=None) -> dict[Path, str]:
    """``{path: text}`` of the save file (default ``w.gtkw``) and the register filter
    (default ``w.regs.txt``) for ``waves``; the save file names the waveform and the filter
    by their absolute paths. ``recorded`` is the file to read the signal list from, if the
    waveform is not (yet) at ``waves``."""
    save_file = Path(save_file or save_file_path(waves))
    regs_filter = Path(regs_filter or filter_path(waves))
    widths = signal_widths(recorded or waves)
    return {regs_filter: register_filter_text(widths.get(ADDRESS_BUS, 32)),
            save_file: save_file_text(waves, widths, regs_filter.resolve(), save_file)}


def write_save_file(waves, save_file=None, regs_filter=None) -> Path:
    """Write :func:`save_files` for ``waves``; returns the save file's path."""
    files = save_files(waves, save_file, regs_filter)
    for path, text in files.items():
        path.write_text(text)
    return list(files)[-1]
