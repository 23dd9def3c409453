"""Reading a recorded FST back (pywellen) and checking the driver scope against the bus.

Used by tests/test_trace.py: the drivers' events in ``tb.driver`` must line up with the
AXI4-Lite handshakes and the interrupt line that the design itself recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pywellen

from harness.wrapper import DRIVER_SCOPE, DUT_CLOCK, TB_TOP

DRIVER = f"{TB_TOP}.{DRIVER_SCOPE}"
#: AXI4-Lite signals as the DUT sees them: its inputs come through the wrapper's input flops
#: (``<name>__dut``, see harness.wrapper), its outputs are the wrapper's wires
AXIL = {"awvalid": "__dut", "awaddr": "__dut", "awready": "", "arvalid": "__dut",
        "araddr": "__dut", "arready": ""}


def text(value: int) -> str:
    """An ASCII vector's value as text (spaces trimmed)."""
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return raw.decode("ascii", "replace").strip(" \0")


@dataclass
class DriverEvent:
    time_ps: int
    component: str
    event: str
    detail: str
    reg_name: str


@dataclass
class Handshake:
    time_ps: int          # the DUT clock edge that took it
    address: int


class Recording:
    """The signals of one FST the checks need, as time-ordered changes."""

    def __init__(self, path):
        self.path = str(path)
        wave = pywellen.Waveform(self.path)
        self.vars = {v.full_name for v in wave.all_vars()}
        self.scopes = {s.full_name for s in wave.all_scopes()}

    def changes(self, names):
        """``[(time_ps, name, value)]`` for the named signals, in time order."""
        # a Waveform streams its changes once: read a fresh one each time
        wave = pywellen.Waveform(self.path)
        variables = {v.full_name: v for v in wave.all_vars()}
        wanted = [variables[n] for n in names]
        # pywellen's SignalId has no equality: its str() ("SignalId(140)") names it
        by_id = {}
        for name, var in zip(names, wanted):
            by_id.setdefault(str(var.signal_ref), []).append(name)
        out = []

        def record(time, signal, value):
            for name in by_id.get(str(signal), ()):
                out.append((time, name, value))
        wave.stream_changes(record, wanted)
        return out

    def steps(self, names):
        """For each time at which any of ``names`` changes: ``(time, before, after)``, the
        values (dicts by name) before and after that time step."""
        values = {}
        changes = self.changes(names)
        i = 0
        while i < len(changes):
            time, before = changes[i][0], dict(values)
            while i < len(changes) and changes[i][0] == time:
                values[changes[i][1]] = changes[i][2]
                i += 1
            yield time, before, dict(values)

    def driver_events(self):
        """The events the driver scope shows: one per time step in which its counter moved
        (several events at one time show as the last of them)."""
        names = [f"{DRIVER}.{n}" for n in ("component", "event_name", "detail", "reg_name",
                                           "count")]
        count = names[-1]
        return [DriverEvent(time, *(text(after.get(n, 0)) for n in names[:4]))
                for time, before, after in self.steps(names)
                if after.get(count) and after.get(count) != before.get(count)]

    def _edge_samples(self, names):
        """The values of ``names`` just before each rising edge of the DUT clock."""
        clock = f"{TB_TOP}.{DUT_CLOCK}"
        return [(time, before) for time, before, after in self.steps([clock, *names])
                if after.get(clock) == 1 and before.get(clock) == 0]

    def handshakes(self, prefix="s_axil"):
        """AXI4-Lite address handshakes: ``(writes, reads)`` as :class:`Handshake` lists."""
        names = {n: f"{TB_TOP}.{prefix}_{n}{suffix}" for n, suffix in AXIL.items()}
        writes, reads = [], []
        for time, v in self._edge_samples(list(names.values())):
            get = lambda n: v.get(names[n], 0)   # noqa: E731
            if get("awvalid") and get("awready"):
                writes.append(Handshake(time, get("awaddr")))
            if get("arvalid") and get("arready"):
                reads.append(Handshake(time, get("araddr")))
        return writes, reads

    def rising_edges(self, name):
        """Times at which ``name`` (a 1-bit signal of the testbench) rises."""
        out, last = [], 0
        for time, _, value in self.changes([f"{TB_TOP}.{name}"]):
            if value and not last:
                out.append(time)
            last = value
        return out
