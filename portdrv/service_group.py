"""Service groups: the IServiceGroup analogue (PcNewServiceGroup).

A :class:`ServiceGroup` is a list of *service sinks* and a deferred procedure call. An ISR that
has work for the ports calls :meth:`ServiceGroup.request_service` (a plain call, safe at device
IRQL); that queues one DPC which, later, calls ``service()`` on every member: the port's
position update, packet copy or MIDI read.

Service sink protocol (IServiceSink): any object with a ``service()`` method taking no
arguments. It may be a plain method or a coroutine method; its return value is ignored.
A ServiceGroup is itself a sink (its :meth:`~ServiceGroup.service` queues its own DPC), so
groups nest as in PortCls.

DPC rules, as KeInsertQueueDpc gives them:

- Requests made before the DPC starts servicing coalesce: three requests, one DPC, each member
  serviced once.
- A request made while the DPC is servicing members queues exactly one more DPC, which runs
  after this one (DPCs of one group never overlap).
- A member removed while a DPC runs is not serviced from then on; a member added is serviced
  from the next DPC (or the current one, if it has not reached the end of the list yet, as it
  walks the live membership).

DPC latency: :attr:`ServiceGroup.dpc_latency_100ns` delays each DPC by that many 100-ns units
after it is queued (read when the DPC is about to wait), to reproduce a slow DPC queue. It can be
changed at any time.
"""

import inspect

from .status import NTSTATUS

__all__ = ["ServiceGroup", "ServiceTimer"]


class ServiceGroup:
    """A group of service sinks serviced by one coalescing DPC run on ``scheduler``."""

    def __init__(self, scheduler, *, dpc_latency_100ns=0):
        self._scheduler = scheduler
        self._members = []
        self._queued = False  # a DPC is queued and has not started servicing yet
        self._active = False  # the DPC worker coroutine exists (waiting or servicing)
        self.dpc_latency_100ns = dpc_latency_100ns
        self.dpc_count = 0  # DPCs that have run (started servicing)

    @property
    def dpc_latency_100ns(self) -> int:
        return self._dpc_latency

    @dpc_latency_100ns.setter
    def dpc_latency_100ns(self, value):
        value = int(value)
        if value < 0:
            raise ValueError("DPC latency must be >= 0")
        self._dpc_latency = value

    @property
    def members(self) -> tuple:
        return tuple(self._members)

    @property
    def dpc_queued(self) -> bool:
        """True while a DPC is queued and has not started servicing."""
        return self._queued

    def add_member(self, sink) -> int:
        """Add ``sink`` (an object with ``service()``); SUCCESS.

        INVALID_PARAMETER if it has no callable ``service``. Adding a member twice keeps one
        entry (it is serviced once per DPC).
        """
        if not callable(getattr(sink, "service", None)):
            return NTSTATUS.INVALID_PARAMETER
        if sink not in self._members:
            self._members.append(sink)
        return NTSTATUS.SUCCESS

    def remove_member(self, sink) -> None:
        """Remove ``sink``; removing a non-member does nothing (RemoveMember returns nothing)."""
        if sink in self._members:
            self._members.remove(sink)

    def request_service(self) -> None:
        """Queue the DPC unless one is already queued. Plain call; never blocks."""
        if self._queued:
            return
        self._queued = True
        if not self._active:
            self._active = True
            self._scheduler.spawn(self._worker())

    def service(self) -> None:
        """The group as a sink of another group: the same as :meth:`request_service`."""
        self.request_service()

    async def _worker(self):
        try:
            while self._queued:
                if self._dpc_latency:
                    await self._scheduler.sleep_100ns(self._dpc_latency)
                self._queued = False  # from here a request queues another DPC
                self.dpc_count += 1
                await self._service_members()
        except BaseException:
            self._queued = False  # a crashed DPC must not leave the group stuck as "queued"
            raise
        finally:
            self._active = False

    async def _service_members(self):
        done = []
        while True:
            pending = [m for m in self._members if not any(m is d for d in done)]
            if not pending:
                return
            member = pending[0]
            done.append(member)
            result = member.service()
            if inspect.isawaitable(result):
                await result


class ServiceTimer:
    """The periodic service a port runs itself when its miniport hands back no service group
    (NewStream's or Init's ServiceGroup left NULL): ``sink.service()`` every
    ``period_100ns`` from :meth:`start` until :meth:`stop`. Starting twice keeps one timer."""

    def __init__(self, scheduler, sink, period_100ns):
        if period_100ns <= 0:
            raise ValueError("a service timer needs a period > 0")
        self._scheduler = scheduler
        self._sink = sink
        self.period_100ns = int(period_100ns)
        self._generation = 0
        self.running = False
        self.ticks = 0

    def start(self):
        if not self.running:
            self.running = True
            self._generation += 1
            self._scheduler.spawn(self._loop(self._generation))

    def stop(self):
        self.running = False
        self._generation += 1

    async def _loop(self, generation):
        while True:
            await self._scheduler.sleep_100ns(self.period_100ns)
            if generation != self._generation:
                return
            self.ticks += 1
            result = self._sink.service()
            if inspect.isawaitable(result):
                await result
