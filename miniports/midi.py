"""The MIDI miniport for the controller's MPU-401 UART (IMiniportMidi / IMiniportMidiStream).

Pins (the DMus miniport has the same two): :data:`MIDI_PIN_RENDER` (0) takes MIDI bytes to
``midi_tx``, :data:`MIDI_PIN_CAPTURE` (1) delivers the bytes received on ``midi_rx``; one
instance each, as there is one UART.

- Init enters UART mode and programs MIDI_DIV (:class:`miniports.mpu401.MpuUart`; the baud
  rate is the resource list's ``midi_baud`` parameter, 31250 unless a test asks for a faster
  wire) and hands the port the miniport's service group.
- Render: ``write`` fills the transmit FIFO while DRR reads 0 and answers how many bytes it
  took (0 when the FIFO is full: the port offers the rest again on its retry timer).
- Capture: the MIDI interrupt's ISR drains the data port into this miniport's buffer and
  requests the service group's DPC; the port's service then ``read``s the buffer until it is
  empty. Input is kept while a capture stream is open and not stopped, dropped otherwise;
  STOP empties the hardware FIFO and the buffer.
- Statuses: ``write`` on the capture stream answers INVALID_DEVICE_REQUEST; RUN while the UART
  is not in UART mode (e.g. with the device in D3) answers INVALID_DEVICE_STATE.
- Power: D3 loses UART mode and MIDI_DIV; D0 sets them up again (:meth:`UartMiniport.
  power_change_notify`).

:class:`UartMiniport` is what the MIDI and DMus miniports share (Init, the filter's pins,
input routing from the ISR, power).
"""

from __future__ import annotations

from collections import deque

from portdrv.filter import Communication, DataFlow, FilterDescriptor, PinDescriptor
from portdrv.formats import KSDATAFORMAT_SUBTYPE_MIDI, MusicDataRange
from portdrv.ksstate import KSSTATE
from portdrv.power import DevicePowerState
from portdrv.service_group import ServiceGroup
from portdrv.status import NTSTATUS
from rtl.regmap import MIDI_BAUD

from .mpu401 import MpuUart

__all__ = ["MiniportMidiUart", "MidiUartStream", "UartMiniport", "uart_filter_descriptor",
           "MIDI_PIN_RENDER", "MIDI_PIN_CAPTURE", "INPUT_BUFFER_BYTES"]

MIDI_PIN_RENDER, MIDI_PIN_CAPTURE = 0, 1
#: received bytes a capture stream buffers for its port (about 1.3 s of a busy 31250-baud wire)
INPUT_BUFFER_BYTES = 4096


def uart_filter_descriptor(subtype):
    """The MIDI filter's pins for data of ``subtype`` (MIDI bytes or DirectMusic events)."""
    ranges = (MusicDataRange(subtype),)
    return FilterDescriptor((
        PinDescriptor("midi out", DataFlow.IN, Communication.SINK, ranges, 1),
        PinDescriptor("midi in", DataFlow.OUT, Communication.SINK, ranges, 1),
    ))


class UartMiniport:
    """What the MIDI and DMus miniports of the UART share: Init with a service group, the
    open streams, the ISR's input routed to the open capture stream, power handling.

    A subclass sets :attr:`subtype`, names the clock input is stamped with
    (:meth:`_input_clock`), and implements ``service()`` and ``new_stream``; its streams have
    ``capture`` and ``state``, and capture streams ``take_input(batch)`` (from the ISR)."""

    subtype = None

    def __init__(self, controller):
        self.controller = controller
        self.port = None
        self.scheduler = None
        self.service_group = None
        self.uart = None
        self.streams = []
        self.power_state = DevicePowerState.D0

    def _input_clock(self, port, resources):
        """The callable giving the time (100 ns) the ISR stamps input with."""
        raise NotImplementedError

    async def init(self, port, resources):
        self.port = port
        self.scheduler = resources.scheduler
        self.service_group = ServiceGroup(resources.scheduler)
        self.uart = MpuUart(self.controller, self._input_clock(port, resources))
        self.uart.set_input_handler(self._on_input)
        status = await self.uart.initialize(resources.parameters.get("midi_baud", MIDI_BAUD))
        return status, self.service_group

    def get_description(self):
        return uart_filter_descriptor(self.subtype)

    def _check_pin(self, pin_id, capture):
        return pin_id in (MIDI_PIN_RENDER, MIDI_PIN_CAPTURE) and \
            capture == (pin_id == MIDI_PIN_CAPTURE)

    def _capture_stream(self):
        return next((s for s in self.streams if s.capture), None)

    def _on_input(self, batch):
        """ISR: bytes for the open capture stream, unless it is stopped (then they go)."""
        stream = self._capture_stream()
        if stream is None or stream.state == KSSTATE.STOP:
            self.uart.bytes_discarded += len(batch)
            return
        stream.take_input(batch)
        self.service_group.request_service()

    def stream_closed(self, stream):
        if stream in self.streams:
            self.streams.remove(stream)

    async def power_change_notify(self, state):
        """IPowerNotify: D3 loses UART mode, MIDI_DIV and whatever the hardware queue held,
        so the bytes already in the transmit FIFO are let out first; back in D0 enter UART
        mode again (the streams are paused meanwhile)."""
        previous, self.power_state = self.power_state, state
        if state == DevicePowerState.D3:
            await self.uart.wait_transmitted()
            self.uart.lose_context()
            self._context_lost()
        elif state == DevicePowerState.D0 and previous == DevicePowerState.D3:
            # a UART that does not come back leaves RUN refused (INVALID_DEVICE_STATE)
            await self.uart.initialize()

    def _context_lost(self):
        """D3: forget what only the hardware held (a subclass with such state overrides)."""


class MiniportMidiUart(UartMiniport):
    """IMiniportMidi for the UART (module docstring)."""

    subtype = KSDATAFORMAT_SUBTYPE_MIDI

    def _input_clock(self, port, resources):
        return resources.scheduler.now_100ns

    def service(self):
        """The DPC: the ISR already buffered the input and the port's pins read and write
        right after this, so there is nothing to do here."""

    async def new_stream(self, pin_id, capture, fmt):
        if not self._check_pin(pin_id, capture):
            return NTSTATUS.INVALID_PARAMETER, None
        stream = MidiUartStream(self, capture)
        self.streams.append(stream)
        return NTSTATUS.SUCCESS, stream


class MidiUartStream:
    """IMiniportMidiStream: render bytes into the transmit FIFO, or captured bytes out of the
    miniport's input buffer (module docstring)."""

    def __init__(self, miniport, capture):
        self.miniport = miniport
        self.uart = miniport.uart
        self.capture = capture
        self.state = KSSTATE.STOP
        self._input = deque()            # capture: (time_100ns, byte) from the ISR
        self.overflows = 0               # capture bytes dropped for a full buffer
        self.bytes_written = 0

    async def set_state(self, state):
        state = KSSTATE(state)
        if state == KSSTATE.RUN and not self.uart.ready:
            return NTSTATUS.INVALID_DEVICE_STATE
        if state == KSSTATE.STOP and self.capture:
            self.state = state           # from here the ISR drops input
            await self.uart.flush_input(self._input.clear)
        self.state = state
        return NTSTATUS.SUCCESS

    async def write(self, data):
        if self.capture:
            return NTSTATUS.INVALID_DEVICE_REQUEST, 0
        if self.state != KSSTATE.RUN or not self.uart.ready:
            return NTSTATUS.INVALID_DEVICE_STATE, 0
        count = await self.uart.write_data(data)
        self.bytes_written += count
        tracer = self.miniport.scheduler.tracer
        if tracer.enabled and count:
            tracer.event("miniport", "MIDI_OUT", bytes(data[:count]).hex(" "))
        return NTSTATUS.SUCCESS, count

    def read(self, max_bytes):
        """Up to ``max_bytes`` of what the ISR buffered (b"" when empty)."""
        if not self.capture:
            return NTSTATUS.INVALID_DEVICE_REQUEST, b""
        count = min(max_bytes, len(self._input))
        return NTSTATUS.SUCCESS, bytes(self._input.popleft()[1] for _ in range(count))

    def take_input(self, batch):
        """ISR: keep the stamped bytes for the port's next read."""
        room = INPUT_BUFFER_BYTES - len(self._input)
        self._input.extend(batch[:room])
        self.overflows += max(0, len(batch) - room)

    @property
    def buffered(self) -> int:
        """Captured bytes waiting for the port."""
        return len(self._input)

    async def close(self):
        self.miniport.stream_closed(self)
