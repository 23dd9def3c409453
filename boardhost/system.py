"""The driver stack on a board: the adapter, ports and miniports over the bridge HAL, and
playback through the wave render pin (``pcsim board play`` and ``pcsim play --target
board-sim``)."""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction

from miniports.adapter import WAVE_FILTER, Adapter
from miniports.wavestream import PIN_RENDER
from portdrv.client import AudioClient
from portdrv.filter import SubdeviceRegistry
from portdrv.formats import WaveFormat
from portdrv.hal import ResourceList, SimpleScheduler, SoftPhysicalMemory
from portdrv.ksstate import KSSTATE
from portdrv.status import check_status
from rtl.regmap import MIDI_BAUD

from .boardsim import BoardSim
from .bridge import BridgeClient, SerialTransport
from .hal import BoardMemory, BoardPower, BridgeRegisters, HostScheduler, PolledInterrupt

__all__ = ["BoardSystem", "play_pcm", "play_on_board_sim", "play_on_serial_board",
           "BOARD_RAM_BYTES", "BOARD_CLK_HZ"]

BOARD_RAM_BYTES = 64 * 1024
BOARD_CLK_HZ = 24_576_000
#: host memory for the client's packets (the port copies them into the board's cyclic buffer,
#: so they never cross the bridge twice); the player keeps at most CHUNKS_AHEAD chunks in it
CLIENT_MEMORY_BYTES = 4 << 20
CHUNK_SECONDS = 1
CHUNKS_AHEAD = 2
#: frames of 48 kHz let pass after the stream drained, so its last frames leave the I2S pins
TAIL_FRAMES = 8


class BoardSystem:
    """The board (over ``transport``) with the adapter driver started on it; ``audio`` is the
    client API. ``scheduler`` is the HAL's (host time on a board, simulated on the sim)."""

    def __init__(self, transport, scheduler, clock_hz=BOARD_CLK_HZ, ram_bytes=BOARD_RAM_BYTES,
                 wave_miniport="wavert"):
        self.transport = transport
        self.bridge = BridgeClient(transport)
        self.scheduler = scheduler
        self.registers = BridgeRegisters(self.bridge, scheduler)
        self.interrupt = PolledInterrupt(self.registers, scheduler)
        self.resources = ResourceList(
            registers=self.registers, interrupt=self.interrupt,
            memory=BoardMemory(self.bridge, ram_bytes), scheduler=scheduler,
            parameters={"clock_hz": Fraction(clock_hz), "midi_baud": MIDI_BAUD},
            power=BoardPower(), client_memory=SoftPhysicalMemory(CLIENT_MEMORY_BYTES))
        self.registry = SubdeviceRegistry()
        self.adapter = Adapter(self.resources, self.registry, wave_miniport, "midi")
        self.audio = AudioClient(self.registry)

    async def start(self):
        check_status(await self.adapter.start_device(), "starting the device")

    def stop(self):
        self.interrupt.stop()


async def play_pcm(system, pcm, channels, bits, rate, buffer_ms=10):
    """Start the device and play interleaved PCM through the wave render pin until it drained;
    returns a report dict (bridge traffic, register-read latency, interrupts, time)."""
    t0_host, t0 = time.perf_counter(), system.scheduler.now_100ns()
    await system.start()
    started = system.scheduler.now_100ns()
    fmt = WaveFormat.pcm(channels, rate, bits, 32 if bits == 24 else 16)
    options = ({"buffer_bytes": fmt.avg_bytes_per_sec * buffer_ms // 1000}
               if system.adapter.wave_kind == "wavert" else {})
    stream = await system.audio.open(WAVE_FILTER, PIN_RENDER, fmt, **options)
    chunk = fmt.avg_bytes_per_sec * CHUNK_SECONDS
    pending = [stream.write(pcm[at:at + chunk]) for at in range(0, len(pcm), chunk)
               [:CHUNKS_AHEAD]]
    bytes_before = system.bridge.bytes_sent + system.bridge.bytes_received
    play_start = system.scheduler.now_100ns()
    await stream.set_state(KSSTATE.RUN)
    for at in range(CHUNKS_AHEAD * chunk, len(pcm), chunk):
        await pending.pop(0).wait()     # host memory for one more chunk
        pending.append(stream.write(pcm[at:at + chunk]))
    stream.end_of_stream()
    await stream.wait_drained()
    await system.scheduler.sleep_100ns(TAIL_FRAMES * 10_000_000 // rate)
    play_100ns = system.scheduler.now_100ns() - play_start
    moved = system.bridge.bytes_sent + system.bridge.bytes_received - bytes_before
    glitches = stream.pin.glitches
    xrun = await stream.pin.stream.xrun()
    await stream.close()
    system.stop()
    regs = system.registers
    return {
        "frames_in": len(pcm) // fmt.block_align,
        "underruns": glitches + xrun,
        "glitches": glitches,
        "hardware_xruns": xrun,
        "start_device_s": (started - t0) / 1e7,
        "play_s": play_100ns / 1e7,
        "bridge_bytes_while_playing": moved,
        "bridge_bytes_per_s": moved / (play_100ns / 1e7) if play_100ns else 0.0,
        "audio_bytes_per_s": fmt.avg_bytes_per_sec,
        "register_reads": regs.reads,
        "register_writes": regs.writes,
        "register_read_latency_us": regs.read_time_100ns / regs.reads / 10 if regs.reads else 0,
        "interrupt_polls": system.interrupt.polls,
        "interrupts": system.adapter.interrupt_sync.interrupts,
        "host_wall_s": time.perf_counter() - t0_host,
    }


def play_on_board_sim(pcm, channels, bits, rate, workdir, wave_miniport="wavert",
                      buffer_ms=10):
    """Play on the simulated board; the report adds ``frames`` (what the I2S receiver got) and
    ``sim_cycles``. The host's clock is the simulation's (lock-step)."""
    sim = BoardSim(workdir)
    try:
        scheduler = SimpleScheduler(timebase=sim)
        system = BoardSystem(sim, scheduler, sim.clk_hz, wave_miniport=wave_miniport)

        async def main():
            return await scheduler.run(play_pcm(system, pcm, channels, bits, rate, buffer_ms))
        report = asyncio.run(main())
        report["sim_cycles"] = sim.cycle
    finally:
        sim.close()
    report["frames"] = sim.frames()
    return report


def play_on_serial_board(pcm, channels, bits, rate, port, baud=3_000_000,
                         wave_miniport="wavert", buffer_ms=10):
    """Play on a real board on serial ``port``: the host's clock, the board's I2S pins."""
    transport = SerialTransport(port, baud)
    try:
        system = BoardSystem(transport, HostScheduler(), wave_miniport=wave_miniport)
        return asyncio.run(play_pcm(system, pcm, channels, bits, rate, buffer_ms))
    finally:
        transport.close()
