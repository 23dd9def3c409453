"""The MIDI block's parts (wired together by :class:`rtl.midi.MidiUart`, whose module docstring
describes the behaviour): MPU-401 command decoding (:class:`MpuCommands`), the data port
(:class:`MpuDataPort`), the timestamped output queue (:class:`TimestampedQueue`) and the
error counters (:class:`SaturatingCounter`). The serial transmitter and receiver are
:class:`rtl.midi.SerialTx` and :class:`rtl.midi.SerialRx`."""

from amaranth.hdl import Module, Signal, Cat
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .regmap import MPU_ACK, MPU_RESET, MPU_UART_MODE

__all__ = ["MpuCommands", "MpuDataPort", "TimestampedQueue", "SaturatingCounter"]


class MpuCommands(wiring.Component):
    """MPU-401 commands (writes of MIDI_STAT): UART mode and the reset command.

    ``0xFF`` leaves UART mode and pulses ``flush``; ``0x3F`` enters UART mode. Both are
    acknowledged, and so is any other command outside UART mode (as many MPU-401 clones do, so
    that a driver probing an intelligent-mode command does not wait forever).

    Members
    -------
    cmd_w_stb : In(1); cmd_w_data : In(8)
        A command written to MIDI_STAT.
    uart : Out(1)
        UART mode (a register).
    flush : Out(1)
        High in the cycle of a reset command: empties the FIFOs and the queue.
    acknowledge : Out(1)
        High in the cycle of a command that the MPU-401 answers with ``0xFE``.
    """

    def __init__(self):
        super().__init__({
            "cmd_w_stb": In(1), "cmd_w_data": In(8),
            "uart": Out(1), "flush": Out(1), "acknowledge": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        with m.If(self.cmd_w_stb):
            with m.Switch(self.cmd_w_data):
                with m.Case(MPU_RESET):
                    m.d.comb += [self.flush.eq(1), self.acknowledge.eq(1)]
                    m.d.sync += self.uart.eq(0)
                with m.Case(MPU_UART_MODE):
                    m.d.comb += self.acknowledge.eq(1)
                    m.d.sync += self.uart.eq(1)
                with m.Default():
                    # in UART mode the MPU-401 knows only the reset command
                    with m.If(~self.uart):
                        m.d.comb += self.acknowledge.eq(1)
        return m


class MpuDataPort(wiring.Component):
    """The MPU-401 data port as read (MIDI_DATA): a pending ``0xFE`` acknowledge first, else
    the oldest received byte.

    The acknowledge is one flag: several commands before a read leave one ``0xFE``. A read
    takes the acknowledge if there is one, else pops ``received``; with nothing to read it
    returns 0 and changes nothing.

    Members
    -------
    acknowledge : In(1)
        A command was answered: an acknowledge is pending from the next cycle.
    r_stb : In(1)
        A read of MIDI_DATA. It wins over an ``acknowledge`` in the same cycle.
    r_data : Out(8)
        What the read returns.
    received : In(stream.Signature(8))
        The receive FIFO's read side.
    readable : Out(1)
        High while there is something to read (DSR is 0; the MIDI interrupt).
    """

    def __init__(self):
        super().__init__({
            "acknowledge": In(1), "r_stb": In(1), "r_data": Out(8),
            "received": In(stream.Signature(8)), "readable": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        ack = Signal()          # an 0xFE acknowledge waits
        with m.If(self.acknowledge):
            m.d.sync += ack.eq(1)
        m.d.comb += self.readable.eq(ack | self.received.valid)
        with m.If(ack):
            m.d.comb += self.r_data.eq(MPU_ACK)
        with m.Elif(self.received.valid):
            m.d.comb += self.r_data.eq(self.received.payload)
        with m.If(self.r_stb):
            with m.If(ack):
                m.d.sync += ack.eq(0)
            with m.Else():
                m.d.comb += self.received.ready.eq(1)
        return m


class TimestampedQueue(wiring.Component):
    """Bytes that leave at a WALLCLK time, strictly in the order written (MQ_TIME, MQ_DATA,
    MQ_FREE).

    ``out`` offers the head byte once it is due: ``lead`` clocks before its time, compared as
    the signed 32-bit difference to ``wallclk``. Entries behind the head wait for it even
    when their own times are earlier. Put it in a ``ResetInserter`` to empty it.

    Members
    -------
    w_en : In(1); w_byte : In(8); w_time : In(32)
        Enqueue (``w_byte``, ``w_time``); dropped when the queue is full.
    wallclk : In(32)
        The wall clock the times refer to.
    free : Out(16)
        Free entries (MQ_FREE).
    out : Out(stream.Signature(8))
        The head byte, valid once due; a transfer dequeues it.
    """

    def __init__(self, depth, lead):
        self.depth, self.lead = depth, lead
        super().__init__({
            "w_en": In(1), "w_byte": In(8), "w_time": In(32),
            "wallclk": In(32),
            "free": Out(16, init=depth),
            "out": Out(stream.Signature(8)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=8 + 32, depth=self.depth)
        head_byte, head_time = fifo.r_data[:8], fifo.r_data[8:]
        due = Signal()
        m.d.comb += [
            fifo.w_data.eq(Cat(self.w_byte, self.w_time)),
            fifo.w_en.eq(self.w_en),
            self.free.eq(self.depth - fifo.level),
            self.out.valid.eq(due),
            self.out.payload.eq(head_byte),
        ]
        with m.If(fifo.r_rdy & ~due):
            # the one wide compare, evaluated only while an entry waits at the head
            m.d.sync += due.eq(~(self.wallclk - head_time + self.lead)[31])
        with m.If(self.out.valid & self.out.ready):
            m.d.comb += fifo.r_en.eq(1)
            m.d.sync += due.eq(0)
        return m


class SaturatingCounter(wiring.Component):
    """Counts the cycles in which ``inc`` is high, up to ``maximum``, where it stays.

    Members
    -------
    inc : In(1)
    count : Out(maximum.bit_length())
        A register.
    """

    def __init__(self, maximum):
        self.maximum = maximum
        super().__init__({"inc": In(1), "count": Out(maximum.bit_length())})

    def elaborate(self, platform):
        m = Module()
        with m.If(self.inc & (self.count != self.maximum)):
            m.d.sync += self.count.eq(self.count + 1)
        return m
