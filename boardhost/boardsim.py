"""The simulated board: :class:`rtl.board_core.BoardCore` (bridge, RAM, audio_soc, Pmod I2S)
under Verilator with a C++ main that is the rest of the bench, driven by the host over pipes.

The C++ side models what surrounds the FPGA: the USB-UART (it serializes the host's bytes onto
``uart_rx`` and deserializes ``uart_tx``, 8N1 at the board's bit time) and a Philips I2S
receiver on the Pmod pins recording every frame the DAC would get. Python is never on the
per-bit path: the host sends bytes and asks for bytes, and the simulation runs only when the
host waits (lock-step), so its clock is the host's clock (:class:`BoardSim` is a
:class:`portdrv.hal.TimeBase`).

Pipe protocol (one line each way): ``W <hex>`` queue bytes for the line (no answer);
``R <n> <max_cycles>`` run until n bytes arrived -> ``D <hex> <cycle>``; ``A <cycle>`` run to
that cycle -> ``T <cycle>``; ``Q`` quit.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from amaranth.back import verilog

from harness import build as cb
from portdrv.hal import TimeBase
from rtl.board_core import BoardCore

from .bridge import BridgeTimeout

__all__ = ["BoardSim", "build_board_sim", "BOARD_SIM_CLK_HZ", "BOARD_SIM_BAUD"]

BOARD_SIM_CLK_HZ = 24_576_000
BOARD_SIM_BAUD = 3_000_000
TOP = "board_core"
RESET_CYCLES = 8
#: once the host's bytes are on the line: bit times allowed per byte awaited beyond the 10 an
#: 8N1 byte takes, and clocks for the bridge to start answering (bus access, FIFO)
SLACK_BITS = 10
ANSWER_CLOCKS = 10_000

MAIN_CPP = r"""
// pcsim board simulation: the USB-UART and a Pmod I2S receiver around the Verilated board core.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>
#include "Vboard_core.h"
#include "verilated.h"

static Vboard_core* dut;
static uint64_t cycle = 0;
static int div_clocks;
static FILE* i2s_out;

// host -> board: 8N1 frames on uart_rx, div_clocks per bit
static std::deque<uint8_t> to_board;
static int tx_bit = -1, tx_left = 0;
static uint16_t tx_frame = 0;
static int line_to_board() {
    if (tx_bit < 0) {
        if (to_board.empty()) return 1;
        tx_frame = (uint16_t)((to_board.front() << 1) | (1u << 9));   // start 0, data, stop 1
        to_board.pop_front();
        tx_bit = 0;
        tx_left = div_clocks;
    }
    int level = (tx_frame >> tx_bit) & 1;
    if (--tx_left == 0) {
        tx_left = div_clocks;
        if (++tx_bit == 10) tx_bit = -1;
    }
    return level;
}

// board -> host: sample mid-bit after the start edge
static std::vector<uint8_t> from_board;
static int rx_bit = -1, rx_wait = 0, rx_prev = 1;
static uint16_t rx_bits = 0;
static void line_from_board(int level) {
    if (rx_bit < 0) {
        if (rx_prev && !level) { rx_bit = 0; rx_wait = div_clocks / 2; rx_bits = 0; }
    } else if (--rx_wait == 0) {
        rx_wait = div_clocks;
        rx_bits |= (uint16_t)(level << rx_bit);
        if (rx_bit == 0 && level) rx_bit = -1;                         // a glitch
        else if (++rx_bit == 10) {
            if (rx_bits & (1u << 9)) from_board.push_back((uint8_t)(rx_bits >> 1));
            rx_bit = -1;
        }
    }
    rx_prev = level;
}

// Philips I2S on SCLK rising edges: a word starts one bit after each LRCK change (low = left)
static int sclk_prev = 0, lr_prev = -1, word_bit = 0;
static uint32_t word = 0;
static int32_t left_sample = 0;
static bool have_left = false;
static uint64_t frames = 0;
static int32_t sign24(uint32_t v) { return (int32_t)(v << 8) >> 8; }
static void i2s_pins(int lrck, int sclk, int sdin) {
    if (sclk && !sclk_prev) {
        if (lrck != lr_prev) { word_bit = 0; word = 0; }
        else if (word_bit < 24) { word = (word << 1) | (uint32_t)sdin; }
        if (lrck == lr_prev && ++word_bit == 24) {
            if (lrck == 0) { left_sample = sign24(word); have_left = true; }
            else if (have_left) {
                int32_t pair[2] = {left_sample, sign24(word)};
                fwrite(pair, sizeof pair, 1, i2s_out);
                ++frames;
                have_left = false;
            }
        }
        lr_prev = lrck;
    }
    sclk_prev = sclk;
}

static void step() {
    dut->uart_rx = line_to_board();
    dut->clk = 1;
    dut->eval();
    dut->clk = 0;
    dut->eval();
    ++cycle;
    line_from_board(dut->uart_tx);
    i2s_pins(dut->i2s_lrck, dut->i2s_sclk, dut->i2s_sdin);
}

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    div_clocks = std::atoi(argv[1]);
    i2s_out = std::fopen(argv[2], "wb");
    dut = new Vboard_core;
    dut->midi_rx = 1;
    dut->jack_sense = 0;
    dut->i2s_sdout = 0;
    dut->rst = 1;
    for (int i = 0; i < RESET_CYCLES; ++i) step();
    dut->rst = 0;
    static char line[1 << 20];
    while (std::fgets(line, sizeof line, stdin)) {
        if (line[0] == 'W') {
            for (char* p = line + 2; p[0] && p[1] && p[0] != '\n'; p += 2) {
                char hex[3] = {p[0], p[1], 0};
                to_board.push_back((uint8_t)std::strtoul(hex, nullptr, 16));
            }
        } else if (line[0] == 'R') {
            unsigned long n = 0, max_cycles = 0;
            std::sscanf(line + 2, "%lu %lu", &n, &max_cycles);
            while (from_board.size() < n && (!to_board.empty() || tx_bit >= 0)) step();
            uint64_t end = cycle + max_cycles;      // counted once the host's bytes are out
            while (from_board.size() < n && cycle < end) step();
            size_t take = from_board.size() < n ? from_board.size() : n;
            std::printf("D ");
            for (size_t i = 0; i < take; ++i) std::printf("%02x", from_board[i]);
            from_board.erase(from_board.begin(), from_board.begin() + take);
            std::printf(" %llu\n", (unsigned long long)cycle);
        } else if (line[0] == 'A') {
            unsigned long long target = std::strtoull(line + 2, nullptr, 10);
            while (cycle < target) step();
            std::printf("T %llu\n", (unsigned long long)cycle);
        } else if (line[0] == 'Q') {
            break;
        }
        std::fflush(stdout);
        std::fflush(i2s_out);
    }
    std::fclose(i2s_out);
    dut->final();
    delete dut;
    std::printf("T %llu %llu\n", (unsigned long long)cycle, (unsigned long long)frames);
    return 0;
}
""".replace("RESET_CYCLES", str(RESET_CYCLES))


def build_board_sim(clk_hz=BOARD_SIM_CLK_HZ, baud=BOARD_SIM_BAUD):
    """The board simulation executable (built once per design, cached by content hash);
    returns ``(path, core)`` with the elaborated :class:`BoardCore`'s parameters."""
    core = BoardCore(clk_hz, baud)
    text = verilog.convert(core, name=TOP, emit_src=False)
    cb.ensure_verilator_on_path()
    key = cb.content_key(text, MAIN_CPP, cb.simulator_version("verilator"),
                         " ".join(cb.VERILATOR_MAKE_VARS))
    root = cb.cache_root() / f"board-sim-{key[:16]}"
    exe = root / "obj_dir" / "board_sim"
    if exe.exists():
        return exe, core
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}."))
    try:
        (work / f"{TOP}.v").write_text(text)
        (work / "main.cpp").write_text(MAIN_CPP)
        with open(work / "build.log", "w") as log:
            # the same make variables as the cosim builds (the wheel's verilated.mk needs them)
            env = dict(os.environ, MAKEFLAGS=cb.makeflags(cb.make_vars()))
            done = subprocess.run(["verilator", "--cc", "--exe", "--build", "-j", "2",
                                   "-Wno-fatal", "-O3", "--x-assign", "fast", "--x-initial",
                                   "fast", "--top-module", TOP, f"{TOP}.v", "main.cpp",
                                   "-o", "board_sim"], cwd=work, stdout=log, env=env,
                                  stderr=subprocess.STDOUT)
        if done.returncode:
            tail = (work / "build.log").read_text().strip().splitlines()[-8:]
            raise RuntimeError("building the board simulation failed:\n" + "\n".join(tail))
        try:
            os.rename(work, root)       # atomic: a concurrent build of the same key may win
        except OSError:
            pass
    finally:
        if work.exists():
            shutil.rmtree(work)
    return exe, core


class BoardSim(TimeBase):
    """A running board simulation: a bridge transport (``write``/``read``) and the time base
    of the host's scheduler. ``frames()`` returns what the I2S receiver recorded."""

    def __init__(self, workdir, clk_hz=BOARD_SIM_CLK_HZ, baud=BOARD_SIM_BAUD):
        exe, core = build_board_sim(clk_hz, baud)
        self.clk_hz = clk_hz
        self.uart_div = core.uart_div
        self.workdir = Path(workdir)
        self.i2s_file = self.workdir / "i2s_frames.bin"
        self.cycle = 0
        self.proc = subprocess.Popen([str(exe), str(self.uart_div), str(self.i2s_file)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.name = "board simulation"

    # transport ----------------------------------------------------------------------------------

    def write(self, data):
        self.proc.stdin.write(f"W {bytes(data).hex()}\n")

    def read(self, n):
        max_cycles = n * (10 + SLACK_BITS) * self.uart_div + ANSWER_CLOCKS
        reply = self._ask(f"R {n} {max_cycles}")
        _, hexdata, cycle = reply.split(" ")
        self.cycle = int(cycle)
        data = bytes.fromhex(hexdata)
        if len(data) != n:
            raise BridgeTimeout(f"the simulated board answered {len(data)} of {n} bytes")
        return data

    # time base ----------------------------------------------------------------------------------

    def now_100ns(self):
        return self.cycle * 10_000_000 // self.clk_hz

    def advance_to(self, t_100ns):
        target = -(-t_100ns * self.clk_hz // 10_000_000)
        if target > self.cycle:
            self.cycle = int(self._ask(f"A {target}").split()[1])

    # results ------------------------------------------------------------------------------------

    def frames(self):
        """Every (left, right) frame the I2S receiver recorded, signed 24-bit."""
        raw = self.i2s_file.read_bytes()
        vals = [int.from_bytes(raw[i:i + 4], "little", signed=True)
                for i in range(0, len(raw) - len(raw) % 8, 4)]
        return list(zip(vals[0::2], vals[1::2]))

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("Q\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)

    def _ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        if not reply:
            raise BridgeTimeout(f"the board simulation ended (exit {self.proc.poll()})")
        return reply
