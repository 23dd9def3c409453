"""``pcsim mixer``: the topology filter as text (nodes with their values, pins, connections).

The snapshot comes from :meth:`portdrv.client.MixerClient.snapshot` inside a simulation
(``mixer_job`` in :mod:`cosim.jobs`); this module only formats it.
"""

from __future__ import annotations

from harness.job import MixerJob

from .debug import DebugOptions, note_waves
from .outputs import check_outputs
from .session import Session

__all__ = ["format_mixer", "db", "mixer_snapshot"]

_UNITS = 65536


def db(level):
    """A KS volume level (1/65536 dB) as text."""
    return f"{level / _UNITS:+.2f} dB"


def _value(prop, v):
    if prop == "volumelevel":
        return db(v)
    if prop == "mute":
        return "muted" if v else "unmuted"
    if prop == "peakmeter":
        return f"{v:#010x}"
    return str(v)


def _end(node, pin, pins):
    if node is None:
        return f"pin {pin} ({pins[pin]['name']})"
    return f"node {node}.{pin}"


def format_mixer(snap):
    """Human-readable lines for a mixer snapshot."""
    pins, lines = snap["pins"], []
    lines.append(f"topology: {len(snap['nodes'])} nodes, {len(pins)} pins, "
                 f"{len(snap['connections'])} connections")
    lines.append("pins:")
    for p in pins:
        text = f"  {p['id']:2d} {p['name']:<22} {p['flow']:<4}"
        jack = p.get("jack")
        if jack:
            state = "plugged" if jack["is_connected"] else "unplugged"
            text += (f" {jack['location']} {jack['connection_type']}, colour "
                     f"#{jack['color']:06x}, {state}")
        lines.append(text.rstrip())
    lines.append("nodes:")
    for n in snap["nodes"]:
        values = "  ".join(f"{prop}: " + " / ".join(_value(prop, v) for v in vs)
                           for prop, vs in n["values"].items())
        text = f"  {n['id']:2d} {n['type']:<9} {n['name']:<26} {values}"
        for prop, (lo, hi, step) in n.get("ranges", {}).items():
            if prop == "volumelevel":
                text += f"  (range {db(lo)} .. {db(hi)}, step {step / _UNITS:.2f} dB)"
        lines.append(text.rstrip())
    lines.append("connections:")
    for fn, fp, tn, tp in snap["connections"]:
        lines.append(f"  {_end(fn, fp, pins)} -> {_end(tn, tp, pins)}")
    return "\n".join(lines) + "\n"


def mixer_snapshot(sim="verilator", debug=None):
    """Start the driver stack in a simulation and return the topology filter's snapshot;
    ``debug`` (a :class:`pcsim.debug.DebugOptions`) asks for waves and the timeline."""
    debug = debug or DebugOptions()
    selection = debug.check()
    outputs = check_outputs(debug.outputs())
    with Session("mixer", outputs, waves_selection=selection) as session:
        snapshot = session.run(MixerJob(), sim).snapshot
        session.commit()
    note_waves(session)
    return snapshot
