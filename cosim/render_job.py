"""Stream PCM through SD1 with register-level code: a cyclic BDL over scattered pages, refilled
from the IOC interrupt, as a bring-up driver would do before any miniport exists."""

import time

from cocotb.triggers import Timer
from cocotb.simtime import get_sim_time

from harness.job import StreamResult
from rtl.regmap import frame_bytes

from .hda import fmt_value
from .soc_env import FRAME_NS

__all__ = ["render_pcm"]

PAGE = 4096


async def render_pcm(env, pcm, channels=2, bits=16, entries=4, entry_bytes=PAGE, tag=1,
                     progress=None):
    """Play ``pcm`` on SD1/DAC A; return the DAC frames and a
    :class:`harness.job.StreamResult` (its checks left to the caller). Each BDL entry is one non-contiguous page with IOC; each interrupt refills
    the entry the engine has just fetched."""
    fmt = fmt_value(channels, bits)
    frame = frame_bytes(fmt)
    if entry_bytes % frame:
        raise ValueError(f"entry size {entry_bytes} is not a whole number of {frame}-byte "
                         f"frames")
    total_frames = len(pcm) // frame
    pages = env.alloc.alloc_pages(entries)
    chunks = [pcm[i:i + entry_bytes] for i in range(0, total_frames * frame, entry_bytes)]
    next_chunk = 0

    def fill(entry):
        nonlocal next_chunk
        data = chunks[next_chunk] if next_chunk < len(chunks) else b""
        env.mem.write(pages[entry], data.ljust(entry_bytes, b"\0"))
        next_chunk += 1

    for i in range(entries):
        fill(i)
    buf = env.hda.build_buffer([(p, entry_bytes, True) for p in pages])
    await env.hda.route_dac(0x02, tag, fmt)
    await env.hda.setup_stream(1, buf, fmt, tag)
    await env.hda.enable_interrupts(1)

    wall0, sim0 = time.perf_counter(), get_sim_time("ns")
    interrupts = 0
    await env.hda.start(1)
    # every IOC: acknowledge it and refill the entry the engine finished fetching
    while next_chunk < len(chunks) + entries:
        await env.irq.wait(timeout_ns=entries * entry_bytes / frame * FRAME_NS * 4)
        await env.hda.clear_status(1, BCIS=1)
        fill(interrupts % entries)
        interrupts += 1
        if progress:
            progress(min(len(env.speaker.frames), total_frames), total_frames)
    while len(env.speaker.frames) < total_frames:
        await Timer(int(64 * FRAME_NS), "ns")
    await env.hda.stop(1)
    sim_ns = get_sim_time("ns") - sim0
    wall = time.perf_counter() - wall0
    frames = env.speaker.frames[:total_frames]
    xrun = await env.regs.read("SD1XRUN")
    return frames, StreamResult(frames_in=total_frames, frames_out=len(frames),
                                interrupts=interrupts, underruns=xrun, sim_time_ns=int(sim_ns),
                                wall_s=wall)
