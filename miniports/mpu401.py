"""The controller's MPU-401 UART as a driver object: what the MIDI and DMus miniports share.

:class:`MpuUart` owns the MIDI registers (``rtl/midi.py`` documents the hardware):

- Bring-up (:meth:`MpuUart.initialize`): reset (0xFF) then UART mode (0x3F), each answered with
  0xFE in the data port. The handshake runs synchronized with the ISR, so the ISR cannot take
  an acknowledge for input; it polls DSR a few times with sleeps in between (the answer comes
  within clocks). Then MIDI_DIV for the baud rate from the controller clock, the ISR hook and
  MIE. D3 loses all of it (:meth:`lose_context`); the miniports call ``initialize`` again in
  D0.
- Output: :meth:`write_data` fills the transmit FIFO while DRR reads 0 and says how many bytes
  it took; :meth:`queue_free` and :meth:`queue_bytes` use the timestamped queue.
- Input: the controller's ISR calls :meth:`isr` while MIS is set; it reads the data port until
  DSR reads 1 (which drops MIS and the line), stamps the bytes and hands them to the input
  handler the miniport set, still at device IRQL: the handler only buffers them and requests
  its DPC.

Input timestamps: a byte becomes readable when the receiver samples its stop bit, 9.5 bit
times after its start bit began (plus :data:`RX_PIPELINE_CLOCKS` of input synchronizer and FIFO).
The ISR reads the clock once, after the last DSR read of a drain, so every byte it read was
complete by then; byte ``i`` of the ``n`` read is stamped ``T - rx_delay - (n - 1 - i) * frame``:
the latest its start bit can have been, as bytes arrive at most one frame apart. Stamps are
therefore never early (beyond the clock's 100 ns resolution) and late by the interrupt
latency plus the drain (a few register reads: ~2-3 us here), more when bytes waited with idle
gaps between them behind a slow ISR.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

from portdrv.status import NTSTATUS, nt_success
from rtl.regmap import MIDI_BAUD, MPU_ACK, MPU_RESET, MPU_UART_MODE, midi_divisor

__all__ = ["MpuUart", "FRAME_BITS", "RX_PIPELINE_CLOCKS", "ACK_TIMEOUT_100NS"]

#: start bit, 8 data bits, stop bit
FRAME_BITS = 10
#: clocks between the start bit's edge on the pin and the controller seeing it (input flop and
#: 2-flop synchronizer), plus the receive FIFO's write-to-read latency
RX_PIPELINE_CLOCKS = 4
#: how long the MPU-401 gets to answer a command, and the pause between DSR reads meanwhile
ACK_TIMEOUT_100NS = 100_000
ACK_POLL_100NS = 100


class MpuUart:
    """The MPU-401 UART of an :class:`~miniports.hda.HdaController` (module docstring).

    ``clock`` is a callable giving the time (100 ns) input is stamped with: the HAL clock for
    the MIDI miniport, the DMus master clock for the DMus miniport."""

    def __init__(self, controller, clock):
        self.controller = controller
        self.regs = controller.regs
        self.clock = clock
        #: UART mode entered and MIDI_DIV programmed since the last power loss
        self.ready = False
        self.baud = MIDI_BAUD
        self.divisor = None
        self._input_handler = None
        self._mq_time = None            # what MQ_TIME holds (None: unknown, write it)
        self._last_stamp = 0
        self.bytes_received = 0
        self.bytes_discarded = 0        # received with no handler to take them
        #: HAL time (100 ns) by which the transmit FIFO has sent everything written to it
        self.tx_idle_at = 0

    # ---- timing ------------------------------------------------------------------------------

    def clocks_to_100ns(self, clocks) -> Fraction:
        return Fraction(clocks) * 10_000_000 / self.controller.clock_hz

    @property
    def frame_100ns(self) -> Fraction:
        """One byte on the wire (10 bits) in 100-ns units."""
        return self.clocks_to_100ns(FRAME_BITS * self.divisor)

    @property
    def rx_delay_100ns(self) -> Fraction:
        """From a byte's start bit to the byte being readable in the data port."""
        return self.clocks_to_100ns(Fraction(2 * FRAME_BITS - 1, 2) * self.divisor
                                    + RX_PIPELINE_CLOCKS)

    # ---- bring-up ----------------------------------------------------------------------------

    async def initialize(self, baud=None) -> int:
        """Enter UART mode, program MIDI_DIV for ``baud`` (default: the last one, initially
        31250) and enable the MIDI interrupt. NTSTATUS: DEVICE_NOT_READY if the MPU-401 does not
        acknowledge, DEVICE_CONFIGURATION_ERROR if the clock is unknown or gives no divisor."""
        self.ready = False
        if baud is not None:
            self.baud = baud
        if not self.controller.clock_hz:
            return NTSTATUS.DEVICE_CONFIGURATION_ERROR
        try:
            divisor = midi_divisor(self.controller.clock_hz, self.baud)
        except ValueError:
            return NTSTATUS.DEVICE_CONFIGURATION_ERROR
        status = await self.controller.synchronized(self._enter_uart_mode)
        if not nt_success(status):
            return status
        await self.regs.write("MIDI_DIV", divisor)
        self.divisor = divisor
        self._mq_time = None
        self.controller.set_midi_handler(self.isr)
        await self.controller.enable_midi_interrupt(True)
        self.ready = True
        return NTSTATUS.SUCCESS

    async def _enter_uart_mode(self) -> int:
        for command in (MPU_RESET, MPU_UART_MODE):
            await self.regs.write("MIDI_STAT", command)
            try:
                await self.regs.poll("MIDI_STAT", "DSR", 0, timeout_100ns=ACK_TIMEOUT_100NS,
                                     interval_100ns=ACK_POLL_100NS)
            except TimeoutError:
                return NTSTATUS.DEVICE_NOT_READY
            if await self.regs.read("MIDI_DATA") != MPU_ACK:
                return NTSTATUS.DEVICE_NOT_READY
        return NTSTATUS.SUCCESS

    def lose_context(self):
        """The device is going to D3: UART mode, MIDI_DIV, MQ_TIME and both FIFOs and the
        queue are lost with the power."""
        self.ready = False
        self._mq_time = None

    # ---- output ------------------------------------------------------------------------------

    async def write_data(self, data) -> int:
        """Write ``data`` to the data port while DRR says the transmit FIFO has room; returns
        how many bytes it took (0 when the FIFO is full)."""
        count = 0
        now = self.controller.resources.scheduler.now_100ns
        for byte in data:
            if await self.regs.read_field("MIDI_STAT", "DRR"):
                break
            await self.regs.write("MIDI_DATA", byte)
            # the byte leaves after those before it
            self.tx_idle_at = max(self.tx_idle_at, now()) + self.frame_100ns
            count += 1
        return count

    async def wait_transmitted(self):
        """Wait until the transmit FIFO has sent everything written to it (before power is
        removed, which would lose it)."""
        scheduler = self.controller.resources.scheduler
        wait = ceil(self.tx_idle_at - scheduler.now_100ns())
        if wait > 0:
            await scheduler.sleep_100ns(wait)

    async def queue_free(self) -> int:
        """Free slots of the timestamped queue (MQ_FREE)."""
        return await self.regs.read("MQ_FREE")

    async def queue_bytes(self, wallclk_time, data) -> None:
        """Queue ``data`` to leave at WALLCLK ``wallclk_time``; the caller checked
        :meth:`queue_free` (a byte written to a full queue is dropped)."""
        wallclk_time &= 0xFFFF_FFFF
        if wallclk_time != self._mq_time:
            await self.regs.write("MQ_TIME", wallclk_time)
            self._mq_time = wallclk_time
        for byte in data:
            await self.regs.write("MQ_DATA", byte)

    async def read_wallclk(self) -> int:
        return await self.regs.read("WALLCLK")

    # ---- input -------------------------------------------------------------------------------

    def set_input_handler(self, handler):
        """``handler([(time_100ns, byte), ...])`` gets each batch the ISR read (device
        IRQL: it must not wait)."""
        self._input_handler = handler

    async def _drain(self) -> list:
        data = []
        while not await self.regs.read_field("MIDI_STAT", "DSR"):
            data.append(await self.regs.read("MIDI_DATA"))
        return data

    async def isr(self):
        """From the controller's ISR: read every waiting byte, stamp it, pass the batch on."""
        data = await self._drain()
        if not data:
            return
        self.bytes_received += len(data)
        if self._input_handler is None:
            self.bytes_discarded += len(data)
            return
        end = Fraction(self.clock()) - self.rx_delay_100ns
        frame = self.frame_100ns
        batch = []
        for index, byte in enumerate(data):
            stamp = max(floor(end - (len(data) - 1 - index) * frame), self._last_stamp)
            self._last_stamp = stamp
            batch.append((stamp, byte))
        self._input_handler(batch)

    async def flush_input(self, discard_buffered=None) -> int:
        """Empty the receive FIFO, synchronized with the ISR, and call ``discard_buffered()``
        in the same critical section (so the ISR cannot slip a byte in between); returns how
        many bytes were dropped from the hardware."""
        async def flush():
            dropped = len(await self._drain())
            if discard_buffered is not None:
                discard_buffered()
            return dropped
        return await self.controller.synchronized(flush)
