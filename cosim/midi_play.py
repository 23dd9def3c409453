"""Timed MIDI messages through the MIDI or DMus port to the wire, inside a simulation (the
simulator side of ``pcsim midi play``; the host computes the timing report from the result).

With the DMus port every message is sent ahead with its presentation time on the master clock
(the miniport puts it in the hardware's timestamped queue); with the MIDI port an application
coroutine sleeps until each message is due and writes it, as a winmm player does."""

import time

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from harness.job import MidiResult
from miniports.adapter import MIDI_FILTER
from miniports.midi import MIDI_PIN_RENDER
from portdrv.dmus import DMusClient
from portdrv.ksstate import KSSTATE
from portdrv.midi import MidiClient

__all__ = ["play_midi_messages", "send_when_due"]

#: time allowed after the last message is due for its bytes to leave (ns)
DRAIN_NS = 1_000_000_000
#: how often progress is published while waiting (ns)
POLL_NS = 10_000_000
#: 100-ns units of the DMus master clock per microsecond
HNS_PER_US = 10


async def send_when_due(stream, sent, start_ns):
    """The MIDI port's client: write each ``(time_us, bytes)`` message of ``sent`` when it is
    due, ``time_us`` after the simulated time ``start_ns``."""
    for time_us, data in sent:
        wait_ns = start_ns + time_us * 1000 - get_sim_time("ns")
        if wait_ns > 0:
            await Timer(int(wait_ns), "ns")
        await stream.submit(data)


async def play_midi_messages(system, job, progress=None):
    """Play ``job.messages`` (``[time_us, hex]``, time-ordered) and return a
    :class:`harness.job.MidiResult` with what the device model decoded on the wire."""
    wall0 = time.perf_counter()
    sent = [(t, bytes.fromhex(h)) for t, h in job.messages]
    device = system.midi_device
    client = (DMusClient if job.dmus else MidiClient)(system.registry)
    stream = await client.open(MIDI_FILTER, MIDI_PIN_RENDER)
    await stream.set_state(KSSTATE.RUN)
    start_ns = get_sim_time("ns") + job.lead_us * 1000
    if job.dmus:
        for time_us, data in sent:
            stream.send(start_ns // 100 + time_us * HNS_PER_US, data)
    else:
        cocotb.start_soon(send_when_due(stream, sent, start_ns))
    deadline = start_ns + sent[-1][0] * 1000 + DRAIN_NS
    while len(device.messages) < len(sent) and get_sim_time("ns") < deadline:
        await Timer(POLL_NS, "ns")
        if progress:
            progress(len(device.messages), len(sent))
    await stream.close()
    return MidiResult(start_ns=int(start_ns),
                      received=[[float(m.time_ns), bytes(m.data).hex()] for m in device.messages],
                      framing_errors=len(device.framing_errors),
                      bytes_on_wire=len(device.received),
                      interrupts=system.adapter.interrupt_sync.interrupts,
                      sim_time_ns=int(get_sim_time("ns")),
                      wall_s=time.perf_counter() - wall0)
