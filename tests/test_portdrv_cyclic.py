"""portdrv pieces of the WaveCyclic path without a simulator: packets and the packet queue,
the DMA channel, and the miniport's Silence."""

from types import SimpleNamespace

import pytest

from miniports.wavecyclic import MiniportWaveCyclicStream
from portdrv.dma_channel import new_master_dma_channel
from portdrv.formats import WaveFormat
from portdrv.hal import SimpleScheduler, SoftPhysicalMemory
from portdrv.packets import Packet, PacketQueue
from portdrv.status import NTSTATUS

PAGE = 4096


def packet(mem, data, eos=False):
    return Packet(mem, SimpleScheduler(), len(data), data, eos)


def test_packets_span_scattered_pages_and_complete_in_order():
    """Render packets are consumed across packet and page boundaries, in order; each one
    completes (SUCCESS) when its last byte is taken, and its pages go back."""
    mem = SoftPhysicalMemory(64 * PAGE)
    free = len(mem._free)
    a, b = packet(mem, bytes(range(256)) * 20), packet(mem, b"xyz" * 1000)
    assert len(a.mdl.pages) == 2 and a.mdl.pages[1] != a.mdl.pages[0] + PAGE
    q = PacketQueue()
    assert q.submit(a) == q.submit(b) == NTSTATUS.PENDING
    assert q.pending_bytes == 5120 + 3000
    got = q.take(5000)
    assert got == (bytes(range(256)) * 20)[:5000] and not a.completed
    got += q.take(200)
    assert a.status == NTSTATUS.SUCCESS and a.event.is_set() and not b.completed
    got += q.take(10_000)
    assert got == bytes(range(256)) * 20 + b"xyz" * 1000 and b.completed
    assert q.take(10) == b"" and len(mem._free) == free


def test_end_of_stream_and_cancel():
    """The EOS packet ends the stream once everything before it is consumed; nothing may be
    queued after it; cancel completes a packet as CANCELLED, cancel_all every pending one."""
    mem = SoftPhysicalMemory(64 * PAGE)
    q = PacketQueue()
    data, eos = packet(mem, b"a" * 10), packet(mem, b"", eos=True)
    q.submit(data)
    q.submit(eos)
    assert q.submit(packet(mem, b"b")) == NTSTATUS.INVALID_DEVICE_STATE
    assert not q.end_of_stream
    q.take(10)
    assert q.end_of_stream and eos.completed
    q = PacketQueue()
    first, second = packet(mem, b"\0" * 6), packet(mem, b"\0" * 6)
    for p in (first, second):
        p.done = 0
        q.submit(p)
    assert q.cancel(second) == NTSTATUS.SUCCESS and second.status == NTSTATUS.CANCELLED
    assert q.cancel(second) == NTSTATUS.NOT_FOUND
    assert q.take(6) == b"\0" * 6 and first.completed
    third = packet(mem, b"\0" * 4)
    q.submit(third)
    assert q.cancel_all() == 1 and third.status == NTSTATUS.CANCELLED


def test_dma_channel_common_buffer():
    """AllocateBuffer gives contiguous memory; BufferSize can shrink; CopyTo/CopyFrom stay
    inside it; FreeBuffer returns the pages."""
    mem = SoftPhysicalMemory(64 * PAGE)
    free = len(mem._free)
    status, ch = new_master_dma_channel(mem, 3 * PAGE)
    assert status == NTSTATUS.SUCCESS
    assert ch.allocate_buffer(4 * PAGE) == NTSTATUS.INVALID_PARAMETER
    assert ch.allocate_buffer(3 * PAGE) == NTSTATUS.SUCCESS
    assert ch.allocate_buffer(PAGE) == NTSTATUS.INVALID_DEVICE_STATE
    assert ch.buffer_size == ch.allocated_buffer_size == 3 * PAGE
    ch.copy_to(PAGE - 2, b"abcd")
    assert mem.read(ch.physical_address + PAGE - 2, 4) == b"abcd"
    assert ch.copy_from(PAGE - 2, 4) == b"abcd"
    ch.set_buffer_size(1000)
    with pytest.raises(ValueError):
        ch.copy_to(998, b"abc")
    with pytest.raises(ValueError):
        ch.set_buffer_size(3 * PAGE + 1)
    ch.free_buffer()
    assert len(mem._free) == free and ch.physical_address is None
    assert new_master_dma_channel(mem, 0)[0] == NTSTATUS.INVALID_PARAMETER


@pytest.mark.parametrize("bits,byte", [(8, 0x80), (16, 0), (24, 0)])
def test_silence_is_0x80_for_8_bit_else_0(bits, byte):
    stream = MiniportWaveCyclicStream(SimpleNamespace(controller=None), False, None)
    stream.fmt = WaveFormat.pcm(2, 48000, bits, 32 if bits == 24 else None)
    buf = bytearray(b"\x55" * 10)
    stream.silence(buf, 8)
    assert buf == bytes([byte]) * 8 + b"\x55\x55"
