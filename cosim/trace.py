"""The drivers' trace on the simulated machine: events into the waveform and a text timeline.

:class:`DriverTrace` is the :class:`portdrv.hal.Tracer` of a simulation. Each event (an ISR
entry, a register write, a KSSTATE change...) is

- written, when waves are recorded, into the testbench's ``driver`` scope
  (:data:`harness.wrapper.DRIVER_TEXT` and :data:`~harness.wrapper.DRIVER_NUMBERS`): ASCII
  strings 8 bits a character, readable as text in GTKWave and Surfer. They are written from
  Python at the simulated time of the event, so they line up with the bus cycles by
  construction on either simulator;
- appended as one line to the timeline file (time, component, event, detail).

Register accesses are reported by the AXI4-Lite master (:class:`cosim.axil_master.AxiLiteMaster`)
at the handshake that carries them (a write when AW and W have been accepted, a read when R
arrives), decoded with the register map. Which component made an access is the label of the
cocotb task it ran in: tasks the harness labels with :meth:`DriverTrace.label_task` (position
sampling) show as ``harness``, everything else as ``miniport`` (port drivers never touch
registers; a WaveRT client's mapped position register is read by the port on its behalf).
"""

from __future__ import annotations

import os

from cocotb.simtime import get_sim_time
from cocotb.task import current_task

from harness.job import TIMELINE_ENV, WAVES_ENV
from harness.wrapper import DRIVER_NUMBERS, DRIVER_SCOPE, DRIVER_TEXT
from portdrv.hal import Tracer
from rtl.regmap import REGMAP

__all__ = ["DriverTrace", "ascii_value", "format_line", "describe_access", "driver_trace"]

#: the component of a register access made in an unlabelled task, when the driver stack runs
DEFAULT_COMPONENT = "miniport"
#: the events that move the driver scope's ``isr`` and ``dpc`` levels
LEVELS = {"ISR_ENTER": ("isr", 1), "ISR_EXIT": ("isr", -1), "DPC_ENTER": ("dpc", 1),
          "DPC_EXIT": ("dpc", -1)}
#: registers by 32-bit word offset
REGISTER_WORDS = REGMAP.words()


def ascii_value(text: str, chars: int) -> int:
    """``text`` as the value of a ``8*chars``-bit vector: first character in the top byte,
    padded with spaces, cut to ``chars`` (non-ASCII shown as '?')."""
    raw = text.encode("ascii", "replace")[:chars].ljust(chars, b" ")
    return int.from_bytes(raw, "big")


def format_line(time_ps: int, component: str, event: str, detail: str) -> str:
    """One timeline line: time in ns with ps resolution, component, event, detail."""
    return f"{time_ps // 1000:>12}.{time_ps % 1000:03d} ns  {component:<9}{event:<16}{detail}"


def _fields(reg, value):
    return " ".join(f"{name}={v:#x}" if v > 9 else f"{name}={v}"
                    for name, v in reg.decode(value).items() if v)


def describe_access(write: bool, address: int, data: bytes) -> tuple[str, str]:
    """``(register names, detail)`` of an access of ``data`` at byte ``address``: each register
    the bytes cover, its value and its fields that are not zero."""
    names, parts = [], []
    end = address + len(data)
    for reg in REGISTER_WORDS.get(address & ~3, ()):
        if reg.offset < address or reg.offset + reg.size > end:
            continue
        lane = reg.offset - address
        value = int.from_bytes(data[lane:lane + reg.size], "little")
        names.append(reg.name)
        fields = _fields(reg, value)
        parts.append(f"{reg.name}{' <- ' if write else ' = '}{value:#x}"
                     + (f" {fields}" if fields else ""))
    if not names:
        word = int.from_bytes(data, "little")
        return f"{address:#06x}", f"{address:#06x}{' <- ' if write else ' = '}{word:#x}"
    return "/".join(names), "; ".join(parts)


class DriverTrace(Tracer):
    """Events to the ``driver`` scope of the testbench (if ``waves``) and to ``timeline``
    (a path, or None for none)."""

    enabled = True

    def __init__(self, dut, timeline=None, waves=False, default_component=DEFAULT_COMPONENT):
        #: the component of register accesses made in unlabelled tasks
        self.default_component = default_component
        self._scope = getattr(dut, DRIVER_SCOPE) if waves else None
        self._file = open(timeline, "w", buffering=1) if timeline else None
        self._labels = {}
        self._count = 0
        self._depth = {"isr": 0, "dpc": 0}
        self._register_shown = False
        self.events = 0

    def label_task(self, component: str) -> None:
        """Register accesses made by the running cocotb task show as ``component``."""
        self._labels[current_task()] = component

    def unlabel_task(self) -> None:
        self._labels.pop(current_task(), None)

    def component(self) -> str:
        """Who is running: the current task's label, else the default (miniport)."""
        if not self._labels:
            return self.default_component
        return self._labels.get(current_task(), self.default_component)

    def event(self, component, event, detail="", *, reg_name=None, reg_value=None):
        self.events += 1
        if self._file is not None:
            self._file.write(format_line(int(get_sim_time("ps")), component, event, detail)
                             + "\n")
        scope = self._scope
        if scope is None:
            return
        self._count += 1
        if event in LEVELS:
            level, step = LEVELS[event]
            self._depth[level] = max(0, self._depth[level] + step)
            getattr(scope, level).value = int(self._depth[level] > 0)
        scope.component.value = ascii_value(component, DRIVER_TEXT["component"])
        scope.event_name.value = ascii_value(event, DRIVER_TEXT["event_name"])
        scope.detail.value = ascii_value(detail, DRIVER_TEXT["detail"])
        scope.count.value = self._count & ((1 << DRIVER_NUMBERS["count"]) - 1)
        if reg_name is not None:
            scope.reg_name.value = ascii_value(reg_name, DRIVER_TEXT["reg_name"])
            scope.reg_value.value = reg_value & 0xFFFFFFFF
            self._register_shown = True
        elif self._register_shown:     # blank: the register belongs to an earlier event
            scope.reg_name.value = ascii_value("", DRIVER_TEXT["reg_name"])
            self._register_shown = False

    def register_access(self, write: bool, address: int, data: bytes) -> None:
        """An AXI4-Lite access of ``data`` at byte ``address`` has just been handshaken."""
        names, detail = describe_access(write, address, data)
        self.event(self.component(), "REG_WRITE" if write else "REG_READ", detail,
                   reg_name=names, reg_value=int.from_bytes(data, "little"))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def driver_trace(dut, default_component=DEFAULT_COMPONENT):
    """The run's :class:`DriverTrace` as ``harness.build.run`` asked for it (timeline file in
    ``$PCSIM_TIMELINE``, driver scope if ``$PCSIM_WAVES``), or None when neither is on."""
    timeline = os.environ.get(TIMELINE_ENV) or None
    waves = os.environ.get(WAVES_ENV) == "1"
    if timeline is None and not waves:
        return None
    return DriverTrace(dut, timeline, waves, default_component)
