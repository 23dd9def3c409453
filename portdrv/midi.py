"""The MIDI port driver (IPortMidi analogue), its pins and the client API for MIDI byte streams.

Render: a client write becomes a :class:`MidiWriteRequest`; while the pin runs, the port offers
the oldest request's remaining bytes to the miniport stream's ``write``, which may take all of
them, some, or none (the UART is busy). What it did not take stays queued and is offered again
on the next service (the miniport's interrupt, through its service group, or its Notify) or,
failing that, after :data:`RENDER_RETRY_100NS` - one timer per busy spell, never a busy loop. A
request completes when all its bytes have been taken, in order, each exactly once.

Capture: on each service of a running capture pin the port calls the stream's ``read`` while
it returns bytes, stamping each read with the HAL clock, and queues the timestamped bytes for
the client. STOP drops what the client has not read (the miniport empties its own FIFO when it
enters STOP) and fails pending reads with CANCELLED.

Miniport contract (IMiniportMidi, duck-typed; statuses are values; every method may be plain
or a coroutine):

- ``init(port, resources) -> (status, service_group or None)``: the port joins the group and
  services its pins when the group's DPC runs.
- ``get_description() -> FilterDescriptor``: pins with :class:`~portdrv.formats.MusicDataRange`
  of subtype MIDI; a pin whose data flows out (DataFlow.OUT) is a capture pin.
- ``new_stream(pin_id, capture, fmt) -> (status, stream)``; ``service()``: called first by the
  port's service routine, before the pins move data.
- stream (IMiniportMidiStream): ``set_state(state) -> status`` (one KSSTATE step at a time;
  e.g. INVALID_DEVICE_STATE to refuse RUN before the UART is ready), ``write(data: bytes) ->
  (status, count)`` (count taken, 0 when busy; a capture stream answers
  INVALID_DEVICE_REQUEST), ``read(max_bytes) -> (status, data: bytes)`` (b"" when empty),
  ``close()``.

The miniport calls back ``port.notify(group=None)`` and ``port.register_service_group(group)``.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from .formats import MIDI_FORMAT
from .ksstate import KSSTATE
from .music import MusicClient, MusicClientStream, MusicPin, MusicPort, call_miniport
from .status import NTSTATUS, check_status, nt_success

__all__ = ["PortMidi", "MidiPin", "MidiWriteRequest", "TimestampedBytes", "MidiClient",
           "MidiClientStream", "RENDER_RETRY_100NS", "CAPTURE_READ_BYTES"]

#: how long a render pin waits before offering bytes again after the miniport took fewer than
#: offered, if no service comes first: 1 ms is about three bytes on a 31250-baud wire, so a
#: UART with a one-byte holding register has room again without the port polling it hard
RENDER_RETRY_100NS = 10_000

#: bytes asked for by one capture read; the port keeps reading while the miniport has more
CAPTURE_READ_BYTES = 64


class TimestampedBytes(NamedTuple):
    """Captured MIDI bytes and the HAL clock time (100 ns) at which the port read them."""
    time_100ns: int
    data: bytes


class MidiWriteRequest:
    """One client write: its bytes, how many the miniport has taken, and its final status
    (PENDING until all bytes are taken, the miniport fails it, or STOP cancels it)."""

    def __init__(self, scheduler, data):
        self.data = bytes(data)
        self.accepted = 0
        self.status = NTSTATUS.PENDING
        self._done = scheduler.new_event()
        if not self.data:
            self.complete(NTSTATUS.SUCCESS)

    @property
    def remaining(self) -> bytes:
        return self.data[self.accepted:]

    def complete(self, status):
        if self.status == NTSTATUS.PENDING:
            self.status = status
            self._done.set()

    async def wait(self) -> int:
        """Wait for completion; returns the final status."""
        await self._done.wait()
        return self.status


class PortMidi(MusicPort):
    """IPortMidi: binds a MIDI miniport and makes its render and capture pins."""

    async def new_pin(self, filter, pin_id, fmt):
        capture = filter.pins[pin_id].capture
        status, stream = await call_miniport(self.miniport.new_stream, pin_id, capture, fmt)
        if not nt_success(status):
            return status, None
        pin = MidiPin(self, filter, pin_id, capture, fmt, stream)
        self._pin_opened(pin)
        return NTSTATUS.SUCCESS, pin


class MidiPin(MusicPin):
    """One open MIDI pin: render requests pumped into the stream, or captured bytes."""

    def __init__(self, port, filter, pin_id, capture, fmt, stream):
        super().__init__(port, filter, pin_id, capture, fmt, stream)
        self._requests = deque()         # render requests not yet fully taken, oldest first
        self._retry_armed = False
        self.bytes_written = 0           # render bytes the miniport has taken
        self.bytes_read = 0              # capture bytes read from the miniport
        self.retries = 0                 # retry timers that fired

    # ---- client side --------------------------------------------------------------------

    async def write(self, data):
        """A client write: ``(status, request)``.

        Render: PENDING and the queued request (its ``wait()`` gives the final status).
        Capture: the data goes straight to the miniport stream and its answer comes back as
        the status (a MIDI capture stream refuses with INVALID_DEVICE_REQUEST), no request.
        """
        if self._closed:
            return NTSTATUS.INVALID_DEVICE_STATE, None
        if self.capture:
            status, _count = await call_miniport(self.stream.write, bytes(data))
            return status, None
        request = MidiWriteRequest(self._scheduler, data)
        if request.status == NTSTATUS.PENDING:
            self._requests.append(request)
            if self.running:
                self._scheduler.spawn(self._move())
        return NTSTATUS.PENDING, request

    @property
    def pending_bytes(self) -> int:
        """Render bytes written by the client and not yet taken by the miniport."""
        return sum(len(r.remaining) for r in self._requests)

    # ---- state and service ----------------------------------------------------------------

    async def _entered(self, state):
        if state == KSSTATE.RUN:
            await self._move()           # bytes written while stopped go out now
        elif state == KSSTATE.STOP:
            if self.capture:
                self._captured.flush()
            else:
                while self._requests:
                    self._requests.popleft().complete(NTSTATUS.CANCELLED)

    async def _move_data(self):
        if self.capture:
            await self._read_available()
        else:
            await self._write_pending()

    async def _write_pending(self):
        while self._requests and self.running:
            request = self._requests[0]
            offered = request.remaining
            status, count = await call_miniport(self.stream.write, offered)
            if not nt_success(status):
                self._requests.popleft().complete(status)
                continue
            count = max(0, min(int(count), len(offered)))
            request.accepted += count
            self.bytes_written += count
            if request.accepted == len(request.data):
                self._requests.popleft().complete(NTSTATUS.SUCCESS)
                continue
            self._arm_retry()            # busy: the rest waits for a service or the timer
            return

    def _arm_retry(self):
        if not self._retry_armed:
            self._retry_armed = True
            self._scheduler.spawn(self._retry())

    async def _retry(self):
        await self._scheduler.sleep_100ns(RENDER_RETRY_100NS)
        self._retry_armed = False
        if self._requests and self.running:
            self.retries += 1
            await self._move()

    async def _read_available(self):
        while self.running:
            # bytes in the miniport's FIFO arrived before the read started: stamp them then
            now = self._scheduler.now_100ns()
            status, data = await call_miniport(self.stream.read, CAPTURE_READ_BYTES)
            if not nt_success(status) or not data:
                return
            self.bytes_read += len(data)
            self._captured.push(TimestampedBytes(now, bytes(data)))


class MidiClientStream(MusicClientStream):
    """An open MIDI pin as the application sees it."""

    async def submit(self, data) -> MidiWriteRequest:
        """Queue ``data`` for the wire without waiting; ``await request.wait()`` gives the
        final status. Raises StatusError if the write is refused at once."""
        status, request = await self.pin.write(data)
        check_status(status, f"writing {len(data)} MIDI bytes")
        return request

    async def write(self, data):
        """Send ``data``; returns once the miniport has taken every byte."""
        request = await self.submit(data)
        if request is not None:          # None: a capture stream answered at once
            check_status(await request.wait(), f"writing {len(data)} MIDI bytes")

class MidiClient(MusicClient):
    """Opens MIDI pins (format MIDI_FORMAT unless told otherwise)."""

    default_format = MIDI_FORMAT
    stream_class = MidiClientStream
