"""MPU-401 compatible MIDI UART with a timestamped output queue.

Registers (offsets and fields in :mod:`rtl.regmap`; the controller wires them to this block):
MIDI_DATA (data port), MIDI_STAT (status read / command write), MIDI_DIV (clocks per bit),
MIDI_ERR (error counters), MQ_TIME, MQ_DATA and MQ_FREE (the timestamped queue).

MPU-401 modes
-------------
After reset (controller reset, or the 0xFF command) the block is *not* in UART mode: the
receiver drops every byte it receives, and writes to MIDI_DATA and MQ_DATA are ignored. The
intelligent mode of the real MPU-401 is not implemented; drivers use UART mode.

Commands (writes to MIDI_STAT):

- ``0xFF`` reset: empties the transmit FIFO, the receive FIFO and the timestamped queue, leaves
  UART mode and answers ``0xFE`` in the data port. A byte already on ``tx`` finishes (the line
  never carries a cut-off frame).
- ``0x3F`` enter UART mode; answers ``0xFE``.
- Any other command is answered with ``0xFE`` and otherwise ignored outside UART mode (as many
  MPU-401 clones do, so a driver probing an intelligent-mode command does not wait forever), and
  ignored without an answer in UART mode (where the MPU-401 only knows reset).

Status (reads of MIDI_STAT): DRR[6] = 1 while the transmit FIFO is full (a data byte written
then is dropped); DSR[7] = 1 while there is nothing to read in the data port.

Data port (MIDI_DATA): a write queues the byte in the transmit FIFO. A read returns the pending
``0xFE`` acknowledge if there is one (an acknowledge is one flag: a second command before the
read still leaves one ``0xFE``), else pops the oldest received byte; with nothing to read it
returns 0 and changes nothing.

Interrupt: ``irq`` (INTSTS.MIS) is high while DSR is 0, i.e. while the data port has a byte to
read, a received byte or an acknowledge (the MPU-401 raises its interrupt for both).

Serial format
-------------
8N1, LSB first, idle high, ``div`` clocks per bit in both directions (MIDI_DIV; values below
:data:`~rtl.regmap.MIDI_DIV_MIN` act as that minimum). A new MIDI_DIV applies from the next bit:
change it while the line is quiet.

- Transmitter: ``tx`` is a register. Frames leave back to back (the next start bit follows the
  stop bit directly) while there are bytes to send.
- Receiver: ``rx`` goes through a 2-flop synchronizer. A 1 -> 0 edge after the line was seen
  idle (high) starts a frame; the start bit is checked half a bit later (a line back at 1 was a
  glitch: the receiver waits for the next edge), then data and stop bits are sampled every
  ``div`` clocks, at mid-bit. A stop bit of 0 is a framing error: the byte is dropped,
  MIDI_ERR.FRAMING counts it (in any mode) and the receiver waits for the line to go idle
  before it accepts the next start edge. A byte received while the receive FIFO is full is
  dropped and counted in MIDI_ERR.OVERRUN. Both counters saturate at 0xFFFF and clear only on
  controller reset.

FIFOs: transmit :data:`TX_DEPTH` (16) bytes, receive :data:`RX_DEPTH` (16) bytes, timestamped
queue :data:`~rtl.regmap.MIDI_QUEUE_DEPTH` (64) entries of (byte, time). While the line is
busy the transmitter holds one more byte than the transmit FIFO: 17 writes are accepted before
DRR reads 1 when the line was idle.

Timestamped queue
-----------------
MQ_TIME (a register) is the WALLCLK time given to each byte written to MQ_DATA; a write enqueues
(byte, MQ_TIME), or is dropped when the queue is full (MQ_FREE = 0) or outside UART mode. Bytes
leave strictly in the order written: the head is released once WALLCLK >= its time, compared
as the signed 32-bit difference ``WALLCLK - time`` (so times up to 2^31 clocks, ~175 s at
12.288 MHz, ahead are in the future and anything else is due), and the entries behind it
wait for it even when their own times are earlier.

Sharing the transmitter: whenever the transmitter can take a byte (line idle, or the last clock
of a stop bit) it takes the queue's head if it is due, else the oldest byte of the transmit FIFO.
A byte is never split or preempted, so a due queue byte waits at most for the frame already on
the line (10 bits); the queue has priority, so a continuously due queue can hold back the
transmit FIFO.

Latency: the block decides :data:`QUEUE_LEAD` (2) clocks ahead, so when the line is idle and
the entry was at the head at least that many clocks before its time, its start bit begins on
the clock edge at which WALLCLK becomes the entry's time (zero latency). An entry written when
its time has already come, to an empty queue on an idle line, starts 4 clocks after the clock
in which the MQ_DATA write reaches the block (2 through the queue FIFO, 2 to decide and load
the transmitter); if the line is busy it starts right after the stop bit on the line.

Simulation cost: while idle the block evaluates little beyond the receiver's synchronizer and
an idle test per side; the 32-bit time compare runs only while a not-yet-due entry waits at the
queue's head, and bit counters only while a frame is in flight. What remains is Verilator's
fixed cost per register (next-state copies): measured with callgrind on a standalone
Verilator run of the idle audio_soc, the block adds about 300-400 instructions per clock to
about 5,600. A FIFO written for cheaper idling saved only ~50 of them, so the library FIFOs
stay.
"""

from amaranth.hdl import Module, Signal, Cat, Const, Mux, ResetInserter
from amaranth.lib import wiring, stream
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .checked import CheckedComponent
from .midi_parts import MpuCommands, MpuDataPort, SaturatingCounter, TimestampedQueue
from .regmap import MIDI_DIV_MIN, MIDI_QUEUE_DEPTH

__all__ = ["MidiUart", "SerialTx", "SerialRx", "TX_DEPTH", "RX_DEPTH", "QUEUE_LEAD",
           "FRAME_BITS", "DIV_WIDTH", "COUNTER_MAX"]

TX_DEPTH = 16
RX_DEPTH = 16
#: bits per frame: start, 8 data, stop
FRAME_BITS = 10
DIV_WIDTH = 16
#: the error counters saturate here
COUNTER_MAX = 0xFFFF
#: clocks the queue looks ahead: one to register "due", one to load the transmitter
QUEUE_LEAD = 2


class SerialTx(wiring.Component):
    """8N1 transmitter: each byte taken from ``data`` leaves on ``tx`` as a start bit (0), eight
    data bits LSB first and a stop bit (1), ``div`` clocks each (``div`` >= 1).

    ``tx`` is a register that idles high. ``data.ready`` is high while idle and in the last
    clock of a stop bit, so bytes offered back to back leave without a gap; a byte taken in
    cycle c is on the line (start bit) from cycle c+1."""

    def __init__(self):
        super().__init__({
            "data": In(stream.Signature(8)),
            "div": In(DIV_WIDTH),
            "tx": Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        busy = Signal()
        shift = Signal(FRAME_BITS - 1)      # data bits then the stop bit; next bit in [0]
        left = Signal(range(FRAME_BITS))    # bits still to send after the one on the line
        count = Signal(DIV_WIDTH)           # clocks of the current bit still to go, minus 1
        bit_end = Signal()
        with m.If(busy):
            m.d.comb += bit_end.eq(count == 0)
            m.d.sync += count.eq(count - 1)
            with m.If(bit_end):
                with m.If(left == 0):
                    m.d.sync += busy.eq(0)
                with m.Else():
                    m.d.sync += [self.tx.eq(shift[0]), shift.eq(shift >> 1),
                                 left.eq(left - 1), count.eq(self.div - 1)]
        m.d.comb += self.data.ready.eq(~busy | (bit_end & (left == 0)))
        # last: a new frame beats the end of the previous one in the same cycle
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [busy.eq(1), self.tx.eq(0),
                         shift.eq(Cat(self.data.payload, Const(1, 1))),
                         left.eq(FRAME_BITS - 1), count.eq(self.div - 1)]
        return m


class SerialRx(wiring.Component):
    """8N1 receiver on the asynchronous ``rx`` line, ``div`` clocks per bit (``div`` >= 2).

    A byte with a good stop bit is delivered on ``data`` with a one-cycle ``valid`` (no
    back-pressure: the consumer takes it then or loses it); a stop bit of 0 pulses
    ``framing_error`` instead. Start detection, mid-bit sampling and resynchronisation after a
    framing error are described in the module docstring. The receiver looks for the next start
    edge right after sampling a stop bit, so back-to-back frames are received."""

    def __init__(self):
        super().__init__({
            "rx": In(1, init=1),
            "div": In(DIV_WIDTH),
            "data": Out(stream.Signature(8, always_ready=True)),
            "framing_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)
        busy = Signal()
        idle_seen = Signal()                # the line was high since the last framing error
        bit = Signal(range(FRAME_BITS))     # bit being received: 0 start, 1-8 data, 9 stop
        count = Signal(DIV_WIDTH)           # clocks to the next sample, minus 1
        shift = Signal(8)
        m.d.comb += self.data.payload.eq(shift)
        with m.If(~busy):
            with m.If(line):
                m.d.sync += idle_seen.eq(1)
            with m.Elif(idle_seen):
                # first clock of a start bit: its middle is half a bit away
                m.d.sync += [busy.eq(1), bit.eq(0), count.eq((self.div >> 1) - 1)]
        with m.Else():
            m.d.sync += count.eq(count - 1)
            with m.If(count == 0):
                m.d.sync += [count.eq(self.div - 1), bit.eq(bit + 1)]
                with m.Switch(bit):
                    with m.Case(0):
                        with m.If(line):        # the start bit did not last: a glitch
                            m.d.sync += busy.eq(0)
                    with m.Case(FRAME_BITS - 1):
                        m.d.sync += busy.eq(0)
                        with m.If(line):
                            m.d.comb += self.data.valid.eq(1)
                        with m.Else():
                            m.d.comb += self.framing_error.eq(1)
                            m.d.sync += idle_seen.eq(0)
                    with m.Default():
                        m.d.sync += shift.eq(Cat(shift[1:], line))
        return m


class MidiUart(CheckedComponent):
    """The MIDI block: MPU-401 data/status ports, serial transmitter and receiver, their FIFOs
    and the timestamped output queue (behaviour in the module docstring). It wires together
    :class:`SerialTx`, :class:`SerialRx` and the parts in :mod:`rtl.midi_parts`, and shares
    the transmitter between the queue and the transmit FIFO.

    Register-side ports follow the MIDI registers: ``data_*`` MIDI_DATA (``data_r_stb`` is the
    read strobe that pops; ``data_r_data`` is what a read returns), ``cmd_*`` writes of
    MIDI_STAT, ``drr``/``dsr`` its read bits, ``div`` MIDI_DIV, ``framing_errors``/``overruns``
    MIDI_ERR, ``mq_time`` MQ_TIME, ``mq_w_*`` writes of MQ_DATA, ``mq_free`` MQ_FREE. ``wallclk``
    is the controller's wall clock, ``irq`` the MIDI interrupt cause (MIS), ``tx``/``rx`` the
    serial pins (idle high)."""

    @classmethod
    def check_parameters(cls, tx_depth=TX_DEPTH, rx_depth=RX_DEPTH,
                         queue_depth=MIDI_QUEUE_DEPTH):
        for name, depth in (("tx_depth", tx_depth), ("rx_depth", rx_depth),
                            ("queue_depth", queue_depth)):
            if not isinstance(depth, int) or not 2 <= depth <= COUNTER_MAX:
                raise ValueError(f"{name} must be an integer from 2 to {COUNTER_MAX}, "
                                 f"not {depth!r}")

    def __init__(self, tx_depth=TX_DEPTH, rx_depth=RX_DEPTH, queue_depth=MIDI_QUEUE_DEPTH):
        self.tx_depth, self.rx_depth, self.queue_depth = tx_depth, rx_depth, queue_depth
        super().__init__({
            "data_w_stb": In(1), "data_w_data": In(8),
            "data_r_stb": In(1), "data_r_data": Out(8),
            "cmd_w_stb": In(1), "cmd_w_data": In(8),
            "drr": Out(1), "dsr": Out(1, init=1),
            "div": In(DIV_WIDTH),
            "framing_errors": Out(16), "overruns": Out(16),
            "mq_time": In(32), "mq_w_stb": In(1), "mq_w_data": In(8),
            "mq_free": Out(16, init=queue_depth),
            "wallclk": In(32),
            "irq": Out(1),
            "tx": Out(1, init=1), "rx": In(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        div = Signal(DIV_WIDTH, init=MIDI_DIV_MIN)
        m.d.comb += div.eq(Mux(self.div < MIDI_DIV_MIN, MIDI_DIV_MIN, self.div))
        m.submodules.serial_tx = stx = SerialTx()
        m.submodules.serial_rx = srx = SerialRx()
        m.d.comb += [stx.div.eq(div), srx.div.eq(div), self.tx.eq(stx.tx), srx.rx.eq(self.rx)]

        m.submodules.commands = commands = MpuCommands()
        m.d.comb += [commands.cmd_w_stb.eq(self.cmd_w_stb),
                     commands.cmd_w_data.eq(self.cmd_w_data)]
        uart, flush = commands.uart, commands.flush
        tx_fifo = SyncFIFOBuffered(width=8, depth=self.tx_depth)
        rx_fifo = SyncFIFOBuffered(width=8, depth=self.rx_depth)
        # QUEUE_LEAD ahead, so that a byte's start bit begins as WALLCLK reaches its time
        queue = TimestampedQueue(self.queue_depth, QUEUE_LEAD)
        # the reset command empties the FIFOs and the queue
        for name, part in (("tx_fifo", tx_fifo), ("rx_fifo", rx_fifo), ("queue", queue)):
            m.submodules[name] = ResetInserter(flush)(part)

        # ---- register writes: data port and queue (UART mode only) -----------------------------
        m.d.comb += [
            tx_fifo.w_data.eq(self.data_w_data),
            tx_fifo.w_en.eq(self.data_w_stb & uart),
            self.drr.eq(~tx_fifo.w_rdy),
            queue.w_en.eq(self.mq_w_stb & uart), queue.w_byte.eq(self.mq_w_data),
            queue.w_time.eq(self.mq_time), queue.wallclk.eq(self.wallclk),
            self.mq_free.eq(queue.free),
        ]

        # ---- receiver -> receive FIFO (UART mode only), error counters (any mode) --------------
        m.submodules.overruns = overruns = SaturatingCounter(COUNTER_MAX)
        m.submodules.framing_errors = framing_errors = SaturatingCounter(COUNTER_MAX)
        m.d.comb += [rx_fifo.w_data.eq(srx.data.payload),
                     rx_fifo.w_en.eq(srx.data.valid & uart),
                     overruns.inc.eq(srx.data.valid & uart & ~rx_fifo.w_rdy),
                     framing_errors.inc.eq(srx.framing_error),
                     self.overruns.eq(overruns.count),
                     self.framing_errors.eq(framing_errors.count)]

        # ---- data port reads ------------------------------------------------------------------
        m.submodules.data_port = port = MpuDataPort()
        m.d.comb += [port.acknowledge.eq(commands.acknowledge), port.r_stb.eq(self.data_r_stb),
                     self.data_r_data.eq(port.r_data),
                     port.received.valid.eq(rx_fifo.r_rdy),
                     port.received.payload.eq(rx_fifo.r_data),
                     rx_fifo.r_en.eq(port.received.ready),
                     self.dsr.eq(~port.readable), self.irq.eq(port.readable)]

        # ---- the transmitter takes a due queue byte first, else the transmit FIFO's ----------
        m.d.comb += [
            stx.data.valid.eq((queue.out.valid | tx_fifo.r_rdy) & ~flush),
            stx.data.payload.eq(Mux(queue.out.valid, queue.out.payload, tx_fifo.r_data)),
        ]
        with m.If(stx.data.ready & ~flush):
            with m.If(queue.out.valid):
                m.d.comb += queue.out.ready.eq(1)
            with m.Else():
                m.d.comb += tx_fifo.r_en.eq(1)
        return m
