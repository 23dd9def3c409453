"""amaranth.sim unit tests of the MIDI block (rtl/midi.py): serial bit timing both ways, the
MPU-401 ports and commands, FIFOs and error counters, and the timestamped queue (release time,
order, WALLCLK wrap, sharing the transmitter, MQ_FREE). The block's wall clock is an input, so
the harness can preset it near 2^32."""

import pytest
from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.sim import Simulator

from rtl.csr_bank import RegisterBank
from rtl.midi import FRAME_BITS, MidiUart, QUEUE_LEAD, RX_DEPTH, TX_DEPTH
from rtl.regmap import (MIDI_DIV_MIN, MIDI_QUEUE_DEPTH, MPU_ACK, MPU_RESET, MPU_UART_MODE,
                        REGMAP, midi_divisor)

#: short bit times keep the Python simulation quick
DIV = 8
BYTE = FRAME_BITS * DIV
#: an already-due entry written to an empty queue on an idle line: clocks from the write's
#: clock to the start bit (two through the queue FIFO, QUEUE_LEAD through "due" and the load)
LATE_ENTRY_CLOCKS = 2 + QUEUE_LEAD


class Harness(Elaboratable):
    """The MIDI block with a wall clock the testbench can preset."""

    def __init__(self, **params):
        self.uart = MidiUart(**params)
        self.wallclk = Signal(32)
        self.preset = Signal()
        self.preset_value = Signal(32)

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart = self.uart
        with m.If(self.preset):
            m.d.sync += self.wallclk.eq(self.preset_value)
        with m.Else():
            m.d.sync += self.wallclk.eq(self.wallclk + 1)
        m.d.comb += self.uart.wallclk.eq(self.wallclk)
        return m


class Bench:
    """Register-side actions on the block, one bus access per clock at most."""

    def __init__(self, ctx, harness):
        self.ctx, self.h, self.u = ctx, harness, harness.uart

    async def ticks(self, n):
        for _ in range(n):
            await self.ctx.tick()

    async def _pulse(self, stb, data, value):
        self.ctx.set(data, value)
        self.ctx.set(stb, 1)
        await self.ctx.tick()
        self.ctx.set(stb, 0)

    async def command(self, cmd):
        await self._pulse(self.u.cmd_w_stb, self.u.cmd_w_data, cmd)

    async def write(self, *data):
        for byte in data:
            await self._pulse(self.u.data_w_stb, self.u.data_w_data, byte)

    async def read(self):
        """One MIDI_DATA read: the value the bank would capture, and the pop."""
        self.ctx.set(self.u.data_r_stb, 1)
        value = self.ctx.get(self.u.data_r_data)
        await self.ctx.tick()
        self.ctx.set(self.u.data_r_stb, 0)
        return value

    async def read_all(self):
        out = []
        while not self.ctx.get(self.u.dsr):
            out.append(await self.read())
        return out

    async def queue(self, time, *data):
        self.ctx.set(self.u.mq_time, time & 0xFFFF_FFFF)
        for byte in data:
            await self._pulse(self.u.mq_w_stb, self.u.mq_w_data, byte)

    async def preset_wallclk(self, value):
        await self._pulse(self.h.preset, self.h.preset_value, value & 0xFFFF_FFFF)

    async def uart_mode(self):
        await self.command(MPU_UART_MODE)
        assert await self.read() == MPU_ACK

    async def send_line(self, levels):
        """Drive ``rx`` with one level per clock, then leave it idle (high)."""
        for level in levels:
            self.ctx.set(self.u.rx, level)
            await self.ctx.tick()
        self.ctx.set(self.u.rx, 1)

    def get(self, signal):
        return self.ctx.get(signal)


def frame_levels(byte, div=DIV, stop=1):
    """The line, one level per clock, for one 8N1 frame of ``byte``."""
    bits = [0] + [(byte >> i) & 1 for i in range(8)] + [stop]
    return [b for b in bits for _ in range(div)]


def simulate(body, div=DIV, **params):
    """Run ``body(bench)``; return the line trace: ``(tx, wallclk)`` after every clock edge."""
    harness = Harness(**params)
    trace = []
    sim = Simulator(harness)
    sim.add_clock(1e-6)

    async def recorder(ctx):
        while True:
            await ctx.tick()
            trace.append((ctx.get(harness.uart.tx), ctx.get(harness.wallclk)))

    async def main(ctx):
        ctx.set(harness.uart.div, div)
        await body(Bench(ctx, harness))

    sim.add_testbench(recorder, background=True)
    sim.add_testbench(main)
    sim.run()
    return trace


def decode(trace, div=DIV):
    """Frames on the line as ``[(index of the start bit's first clock, byte)]``; asserts that
    every bit of every frame holds its level for exactly ``div`` clocks and that the line is
    high between frames."""
    line = [tx for tx, _ in trace]
    frames, i = [], 0
    while i < len(line):
        if line[i]:
            i += 1
            continue
        assert i > 0 and line[i - 1] == 1, f"line low at clock {i} without a start edge"
        assert i + FRAME_BITS * div <= len(line), f"frame at clock {i} cut off by the trace end"
        bits = []
        for b in range(FRAME_BITS):
            cell = line[i + b * div:i + (b + 1) * div]
            assert len(set(cell)) == 1, f"bit {b} of the frame at clock {i} is not steady: {cell}"
            bits.append(cell[0])
        assert bits[0] == 0 and bits[-1] == 1, f"frame at clock {i}: bits {bits}"
        frames.append((i, sum(bit << n for n, bit in enumerate(bits[1:9]))))
        i += FRAME_BITS * div
    return frames


def starts_at(trace, frames):
    """WALLCLK in the first clock of each frame's start bit."""
    return [trace[i][1] for i, _ in frames]


# ---- serial transmitter ---------------------------------------------------------------------

@pytest.mark.parametrize("div,effective", [(8, 8), (13, 13), (3, MIDI_DIV_MIN)])
def test_tx_bit_timing_lsb_first_back_to_back(div, effective):
    """Exact bit period (values below the minimum act as it), LSB first, start 0 / stop 1, and
    back-to-back frames with no gap."""
    async def body(b):
        await b.uart_mode()
        await b.write(0x35, 0xCA, 0x01)
        await b.ticks(3 * FRAME_BITS * effective + 10)

    trace = simulate(body, div=div)
    frames = decode(trace, effective)
    assert [byte for _, byte in frames] == [0x35, 0xCA, 0x01]
    starts = [i for i, _ in frames]
    assert starts[1] - starts[0] == starts[2] - starts[1] == FRAME_BITS * effective
    # 0x35 = 0b00110101 goes out as 1,0,1,0,1,1,0,0 after the start bit
    first = [tx for tx, _ in trace[starts[0]:starts[0] + FRAME_BITS * effective:effective]]
    assert first == [0, 1, 0, 1, 0, 1, 1, 0, 0, 1]
    assert all(tx == 1 for tx, _ in trace[:starts[0]] + trace[starts[2] + FRAME_BITS * effective:])


# ---- serial receiver ------------------------------------------------------------------------

def test_rx_back_to_back_and_divider_change():
    """Back-to-back frames at one divider, then at another; a start glitch shorter than half a
    bit is ignored; DSR and the interrupt follow the receive FIFO."""
    got = {}

    async def body(b):
        await b.uart_mode()
        assert b.get(b.u.dsr) == 1 and b.get(b.u.irq) == 0
        await b.send_line(frame_levels(0x90) + frame_levels(0x3C) + frame_levels(0x7F))
        await b.ticks(2 * DIV)
        assert b.get(b.u.dsr) == 0 and b.get(b.u.irq) == 1
        got["first"] = await b.read_all()
        assert b.get(b.u.dsr) == 1 and b.get(b.u.irq) == 0
        b.ctx.set(b.u.div, 21)
        await b.send_line([0, 0, 0] + [1] * 30)          # glitch: 3 clocks < half a bit
        await b.send_line(frame_levels(0x00, 21) + frame_levels(0xFF, 21) + frame_levels(0xA5, 21))
        await b.ticks(2 * 21)
        got["second"] = await b.read_all()
        got["errors"] = b.get(b.u.framing_errors), b.get(b.u.overruns)

    simulate(body)
    assert got["first"] == [0x90, 0x3C, 0x7F]
    assert got["second"] == [0x00, 0xFF, 0xA5]
    assert got["errors"] == (0, 0)


def test_rx_tolerates_a_slightly_fast_sender():
    """Mid-bit sampling: a sender 4 % fast (bits of 24 clocks against 25) is still received."""
    got = {}

    async def body(b):
        await b.uart_mode()
        await b.send_line(frame_levels(0x55, 24) + frame_levels(0xF0, 24))
        await b.ticks(40)
        got["bytes"] = await b.read_all()

    simulate(body, div=25)
    assert got["bytes"] == [0x55, 0xF0]


def test_framing_error_counted_dropped_and_resynchronised():
    """A stop bit of 0 drops the byte and counts it; the receiver waits for the line to go idle
    (a break that holds it low gives no bytes) and takes the next frame."""
    got = {}

    async def body(b):
        await b.uart_mode()
        await b.send_line(frame_levels(0x12, stop=0) + [0] * (3 * DIV) + [1] * DIV
                          + frame_levels(0x34))
        await b.ticks(2 * DIV)
        got["framing"] = b.get(b.u.framing_errors)
        got["bytes"] = await b.read_all()

    simulate(body)
    assert got["framing"] == 1
    assert got["bytes"] == [0x34]


def test_rx_fifo_full_counts_overruns():
    got = {}
    sent = list(range(0x40, 0x40 + RX_DEPTH + 2))

    async def body(b):
        await b.uart_mode()
        for byte in sent:
            await b.send_line(frame_levels(byte))
        await b.ticks(2 * DIV)
        got["overruns"] = b.get(b.u.overruns)
        got["bytes"] = await b.read_all()

    simulate(body)
    assert got["overruns"] == 2
    assert got["bytes"] == sent[:RX_DEPTH]


# ---- MPU-401 ports and commands -------------------------------------------------------------

def test_tx_fifo_full_sets_drr_and_drops():
    """With one byte on the line, the transmit FIFO takes TX_DEPTH more; DRR then reads 1, a
    further write is dropped, and DRR clears once a byte leaves."""
    got = {"drr": []}
    data = list(range(1, TX_DEPTH + 2))

    async def body(b):
        await b.uart_mode()
        await b.write(data[0])
        await b.ticks(4)                   # the transmitter has taken it
        for byte in data[1:]:
            await b.write(byte)
            got["drr"].append(b.get(b.u.drr))
        await b.write(0xEE)                # dropped
        await b.ticks(BYTE)
        got["drr_after"] = b.get(b.u.drr)
        await b.ticks((TX_DEPTH + 1) * BYTE)

    trace = simulate(body)
    assert got["drr"] == [0] * (TX_DEPTH - 1) + [1]
    assert got["drr_after"] == 0
    assert [byte for _, byte in decode(trace)] == data


def test_mpu401_commands_and_modes():
    """Outside UART mode nothing is sent or received; every command answers 0xFE there. In UART
    mode only reset and UART-mode are answered; reset flushes the receive FIFO, the transmit
    FIFO and the queue but lets the byte on the line finish."""
    got = {}

    async def body(b):
        assert (b.get(b.u.dsr), b.get(b.u.drr), b.get(b.u.irq)) == (1, 0, 0)
        assert await b.read() == 0                         # nothing to read
        await b.write(0x90)                                # ignored: not in UART mode
        await b.queue(0, 0x91)
        got["free_outside"] = b.get(b.u.mq_free)
        await b.send_line(frame_levels(0x55))              # dropped by the receiver
        await b.ticks(2 * DIV)
        got["dsr_outside"] = b.get(b.u.dsr)
        await b.command(0xAC)                              # unknown: answered outside UART
        await b.command(0xAC)                              # one pending answer, not two
        got["irq_ack"] = b.get(b.u.irq)
        got["acks"] = await b.read_all()
        await b.command(MPU_UART_MODE)
        got["uart_ack"] = await b.read_all()
        await b.command(0xAC)                              # ignored in UART mode
        got["no_ack"] = b.get(b.u.dsr)
        await b.send_line(frame_levels(0x66))
        await b.ticks(2 * DIV)
        await b.write(0x01, 0x02, 0x03)
        await b.queue(0, 0x04)
        await b.ticks(DIV)                                 # 0x01 is on the line
        await b.command(MPU_RESET)
        got["reset_read"] = await b.read_all()             # the ack; 0x66 was flushed
        got["free_after_reset"] = b.get(b.u.mq_free)
        await b.write(0x05)                                # ignored again
        await b.ticks(3 * BYTE)

    trace = simulate(body)
    assert got["free_outside"] == MIDI_QUEUE_DEPTH
    assert got["dsr_outside"] == 1
    assert got["irq_ack"] == 1 and got["acks"] == [MPU_ACK]
    assert got["uart_ack"] == [MPU_ACK]
    assert got["no_ack"] == 1
    assert got["reset_read"] == [MPU_ACK]
    assert got["free_after_reset"] == MIDI_QUEUE_DEPTH
    assert [byte for _, byte in decode(trace)] == [0x01]


# ---- timestamped queue ----------------------------------------------------------------------

def test_queue_releases_at_the_timestamp_in_order():
    """Each start bit begins on the edge at which WALLCLK reaches the entry's time; entries
    leave in the order written, an earlier time waiting behind the head; MQ_FREE counts."""
    got = {}

    async def body(b):
        await b.uart_mode()
        await b.preset_wallclk(1000)
        await b.queue(1200, 0xA1)
        await b.queue(1100, 0xA2)          # earlier than the head: right after it
        await b.queue(1300, 0xA3)          # due while 0xA2 is on the line: right after it
        await b.queue(1700, 0xA4, 0xA5)    # same time: back to back
        got["free"] = b.get(b.u.mq_free)
        await b.ticks(1700 + 2 * BYTE - 1000)
        got["free_end"] = b.get(b.u.mq_free)

    trace = simulate(body)
    frames = decode(trace)
    assert [byte for _, byte in frames] == [0xA1, 0xA2, 0xA3, 0xA4, 0xA5]
    assert starts_at(trace, frames) == [1200, 1200 + BYTE, 1200 + 2 * BYTE, 1700, 1700 + BYTE]
    assert got["free"] == MIDI_QUEUE_DEPTH - 5 and got["free_end"] == MIDI_QUEUE_DEPTH


def test_queue_is_wrap_aware():
    """Times compare as a signed 32-bit difference: across the WALLCLK wrap an entry after the
    wrap waits for it, and one just before the current time is due at once."""
    got = {}

    async def body(b):
        await b.uart_mode()
        await b.preset_wallclk(2**32 - 300)
        await b.queue(2**32 - 100, 0xB1)
        await b.queue(60, 0xB2)                    # after the wrap: not due before it
        await b.ticks(300 + 60 + BYTE)
        got["late_at"] = b.get(b.h.wallclk)
        await b.queue(2**32 - 20, 0xB3)            # 20 + ~BYTE clocks ago: due now
        await b.ticks(BYTE + 10)

    trace = simulate(body)
    frames = decode(trace)
    assert [byte for _, byte in frames] == [0xB1, 0xB2, 0xB3]
    starts = starts_at(trace, frames)
    assert starts[:2] == [2**32 - 100, 60]
    # written in the clock got["late_at"]: through the queue FIFO and the due flag
    assert starts[2] - got["late_at"] == LATE_ENTRY_CLOCKS


def test_queue_shares_the_transmitter():
    """A due queue entry goes out right after the frame on the line, ahead of the transmit
    FIFO's other bytes; it never splits a frame."""
    async def body(b):
        await b.uart_mode()
        await b.preset_wallclk(5000)
        await b.queue(5000 + 20 + DIV, 0xC0)       # due while the first FIFO byte is sent
        await b.write(0x11, 0x22, 0x33)
        await b.ticks(5 * BYTE)

    trace = simulate(body)
    frames = decode(trace)
    assert [byte for _, byte in frames] == [0x11, 0xC0, 0x22, 0x33]
    starts = [i for i, _ in frames]
    assert all(b - a == BYTE for a, b in zip(starts, starts[1:]))


def test_queue_full_drops_and_mq_free():
    got = {}

    async def body(b):
        await b.uart_mode()
        await b.preset_wallclk(0)
        await b.queue(400, *range(MIDI_QUEUE_DEPTH))
        got["full"] = b.get(b.u.mq_free)
        await b.queue(400, 0xFF)                    # dropped
        await b.ticks(400 + MIDI_QUEUE_DEPTH * BYTE)
        got["empty"] = b.get(b.u.mq_free)

    trace = simulate(body)
    frames = decode(trace)
    assert got["full"] == 0 and got["empty"] == MIDI_QUEUE_DEPTH
    assert [byte for _, byte in frames] == list(range(MIDI_QUEUE_DEPTH))
    assert starts_at(trace, frames)[0] == 400


# ---- parameters and the MIDI_DIV reset ------------------------------------------------------

@pytest.mark.parametrize("params,message", [
    ({"tx_depth": 1}, "tx_depth must be an integer from 2 to 65535, not 1"),
    ({"queue_depth": "64"}, "queue_depth must be an integer from 2 to 65535, not '64'"),
])
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        MidiUart(**params)


def test_midi_div_reset_follows_the_clock():
    """MIDI_DIV's documented reset is the 12.288 MHz value; the bank takes the real one from
    the clock through a reset override, and returns to it when the midi group is cleared."""
    assert REGMAP["MIDI_DIV"]["DIV"].reset == midi_divisor(12_288_000) == 393
    assert midi_divisor(24_576_000) == 786
    with pytest.raises(ValueError, match="clock 100000 Hz gives a MIDI divisor of 3"):
        midi_divisor(100_000)
    bank = RegisterBank(REGMAP, resets={("MIDI_DIV", "DIV"): 786})
    div = bank.reg("MIDI_DIV").DIV.data
    assert div.init == 786
    group = bank.groups.index("midi")
    values = []

    async def bench(ctx):
        ctx.set(bank.bus.addr, 0x1108 >> 2)
        ctx.set(bank.bus.w_data, 100)
        ctx.set(bank.bus.w_strb, 0b0011)
        ctx.set(bank.bus.w_stb, 1)
        await ctx.tick()
        ctx.set(bank.bus.w_stb, 0)
        values.append(ctx.get(div))
        ctx.set(bank.clear, 1 << group)
        await ctx.tick()
        values.append(ctx.get(div))

    sim = Simulator(bank)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert values == [100, 786]
    with pytest.raises(ValueError, match="reset override 70000 of MIDI_DIV.DIV"):
        RegisterBank(REGMAP, resets={("MIDI_DIV", "DIV"): 70000})
