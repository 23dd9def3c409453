"""What crosses the process boundary between the ``pcsim`` process and a simulation job.

The host writes a job (one of the dataclasses below) as JSON and names the file in the
simulator's ``PCSIM_JOB`` environment variable; the cocotb entry point of that kind
(:mod:`cosim.jobs`) reads it back with :func:`read_job`, runs, and writes the matching result
dataclass to ``job.result``. Audio travels in files beside it: PCM as the controller reads it
from memory, DAC/ADC frames packed by :func:`harness.frames.pack_frames`. Progress is
``"done total"`` in ``job.progress``. This module is the one definition of both sides.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

__all__ = ["Job", "RenderJob", "PlayJob", "RecordJob", "MixerJob", "MidiJob", "ScenarioJob",
           "Result", "StreamResult", "PlayResult", "RecordResult", "MixerResult", "MidiResult",
           "ScenarioResult", "WireMessage", "read_job", "read_result", "write_json_atomic",
           "JOB_ENV", "DEFAULT_CLK_HZ", "MINIPORTS", "report_progress", "TIMELINE_ENV",
           "WAVES_ENV"]

#: the environment variable naming the job file inside the simulator
JOB_ENV = "PCSIM_JOB"
#: the environment variable naming the driver trace's timeline file of a run (cosim.trace)
TIMELINE_ENV = "PCSIM_TIMELINE"
#: set to "1" in the simulator's environment when waves are recorded (the driver scope is
#: written only then)
WAVES_ENV = "PCSIM_WAVES"
DEFAULT_CLK_HZ = 12_288_000
#: the wave miniports the adapter can install (``--miniport``)
MINIPORTS = ("wavert", "wavecyclic", "wavepci")


def write_json_atomic(path, data):
    """Write ``data`` as JSON via a temporary file in the same folder."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


@dataclass
class Job:
    """Fields every job has; ``kind`` is the cocotb test that runs it."""
    kind: ClassVar[str] = ""
    result: str = ""
    progress: str = ""

    def write(self, path):
        write_json_atomic(path, {"kind": self.kind, **dataclasses.asdict(self)})


@dataclass
class RenderJob(Job):
    """Register-level streaming of a PCM file through SD1 (benchmarks, PGO training)."""
    kind: ClassVar[str] = "render_job"
    pcm: str = ""
    channels: int = 2
    bits: int = 16
    clk_hz: int = DEFAULT_CLK_HZ
    dac_out: str = ""


@dataclass
class PlayJob(Job):
    """``pcsim play``: PCM from a client through the wave filter to the DAC."""
    kind: ClassVar[str] = "play_job"
    pcm: str = ""
    channels: int = 2
    bits: int = 16
    rate: int = 48000
    output: str = ""            # the DAC frames, packed
    miniport: str = "wavert"
    volume_db: float | None = None
    mute: bool = False
    packet_mode: bool = False   # WaveRT packet mode


@dataclass
class RecordJob(Job):
    """``pcsim record``: the microphone (a packed frame file or a tone) to a client."""
    kind: ClassVar[str] = "record_job"
    channels: int = 2
    bits: int = 16
    rate: int = 48000
    frames: int = 0
    tone_hz: float | None = None
    source: str = ""            # packed microphone frames, or "" for the tone
    output: str = ""            # the captured PCM
    miniport: str = "wavert"
    packet_mode: bool = False   # WaveRT packet mode


@dataclass
class MixerJob(Job):
    """``pcsim mixer``: a snapshot of the topology filter."""
    kind: ClassVar[str] = "mixer_job"


@dataclass
class MidiJob(Job):
    """``pcsim midi play``: timed wire messages through the MIDI or DMus port."""
    kind: ClassVar[str] = "midi_job"
    dmus: bool = False
    lead_us: int = 20_000
    messages: list = field(default_factory=list)   # [time_us, hex bytes]


def read_job(path=None):
    """The job in ``path`` (default: the file ``$PCSIM_JOB`` names)."""
    raw = json.loads(Path(path or os.environ[JOB_ENV]).read_text())
    kinds = {cls.kind: cls for cls in Job.__subclasses__()}
    return kinds[raw.pop("kind")](**raw)


def report_progress(job, done, total):
    """Simulator side: publish progress for the host's watcher."""
    if job.progress:
        tmp = Path(job.progress + ".tmp")
        tmp.write_text(f"{done} {total}")
        os.replace(tmp, job.progress)


# ---------------------------------------------------------------------------------------------
# results


@dataclass
class Result:
    """Base of every job's result: written by the simulator, read by :func:`read_result`."""

    def write(self, path):
        write_json_atomic(path, dataclasses.asdict(self))


@dataclass
class StreamResult(Result):
    """What a streaming job measured (render, play and record share these)."""
    frames_in: int = 0
    frames_out: int = 0
    bit_exact: bool = False
    underruns: int = 0
    interrupts: int = 0
    sim_time_ns: int = 0
    wall_s: float = 0.0
    cycles: int = 0
    mismatched_frames: int = 0


@dataclass
class PlayResult(StreamResult):
    glitches: int = 0
    hardware_xruns: int = 0
    notifications: int = 0
    max_position_error_frames: int = 0
    volume_db: float = 0.0
    mute: bool = False
    clipped_samples: int = 0
    packet_mode: bool = False
    packets: int = 0                        # packets handed over with SetWritePacket
    #: frames between the port handing audio to the hardware and the DAC: min, median, max,
    #: samples (None if no write happened while running)
    write_latency_frames: dict | None = None


@dataclass
class RecordResult(StreamResult):
    glitches: int = 0
    hardware_xruns: int = 0
    notifications: int = 0
    lead_in_frames: int | None = None
    packet_mode: bool = False
    packets: int = 0                        # packets taken with GetReadPacket


@dataclass
class MixerResult(Result):
    """The topology filter as :meth:`portdrv.client.MixerClient.snapshot` describes it."""
    snapshot: dict = field(default_factory=dict)


@dataclass
class WireMessage:
    """A message the MIDI device model decoded on ``midi_tx``: when its first start bit
    began (ns from the start of the simulation) and its bytes (hex)."""
    time_ns: float
    data: str


@dataclass
class MidiResult(Result):
    """What the MIDI device model decoded on the wire, and when the stream started."""
    start_ns: int = 0
    received: list = field(default_factory=list)     # WireMessage as [time_ns, hex]
    framing_errors: int = 0
    bytes_on_wire: int = 0
    interrupts: int = 0
    sim_time_ns: int = 0
    wall_s: float = 0.0

    def wire_messages(self):
        return [WireMessage(t, d) for t, d in self.received]


def read_result(cls, path):
    """A result of type ``cls`` from ``path``."""
    return cls(**json.loads(Path(path).read_text()))


@dataclass
class ScenarioJob(Job):
    """``pcsim campaign``: one randomized fault scenario (``spec`` as
    :func:`pcsim.campaign.draw_scenario` draws it from ``seed``)."""
    kind: ClassVar[str] = "scenario_job"
    seed: int = 0
    spec: dict = field(default_factory=dict)


@dataclass
class ScenarioResult(Result):
    """What one scenario found: each broken invariant in ``violations`` (empty: passed)."""
    violations: list = field(default_factory=list)
    faults: dict = field(default_factory=dict)       # kind -> times injected
    frames_in: int = 0
    frames_out: int = 0
    unaccounted_frames: int = 0
    glitches: int = 0
    glitch_bytes: int = 0        # what the glitches cost (the port's count)
    hardware_xruns: int = 0
    bus_errors: int = 0          # DESE the driver saw
    cancelled_frames: int = 0    # client frames in packets the client cancelled
    silent_frames: int = 0
    held_frames: int = 0
    sim_time_ns: int = 0
    wall_s: float = 0.0
