"""Unit tests of the host memory model's pure-Python parts: page allocator, buffers, host access,
fault ranges. (Bus-side behaviour is covered by the cocotb co-simulation tests.)"""

import pytest

from cosim.host_memory import PAGE_SIZE, Buffer, BusFault, HostMemory, PageAllocator

MIB = 1 << 20


def test_pages_are_aligned_unique_and_never_page_zero():
    alloc = PageAllocator(4 * MIB, seed=7)
    pages = alloc.alloc_pages(200)
    assert len(set(pages)) == 200
    assert all(p % PAGE_SIZE == 0 for p in pages)
    assert all(0 < p < 4 * MIB for p in pages)


def test_consecutive_pages_are_never_adjacent():
    alloc = PageAllocator(4 * MIB, seed=3)
    for _ in range(10):
        pages = alloc.alloc_pages(40)
        for a, b in zip(pages, pages[1:]):
            assert abs(a - b) != PAGE_SIZE


def test_allocation_is_deterministic_per_seed():
    a = PageAllocator(8 * MIB, seed=11).alloc_pages(16)
    b = PageAllocator(8 * MIB, seed=11).alloc_pages(16)
    c = PageAllocator(8 * MIB, seed=12).alloc_pages(16)
    assert a == b
    assert a != c


def test_no_overlap_between_pages_and_contiguous_runs():
    alloc = PageAllocator(2 * MIB, seed=1)
    used = set()
    for i in range(30):
        for p in alloc.alloc_pages(3):
            assert p // PAGE_SIZE not in used
            used.add(p // PAGE_SIZE)
        run = alloc.alloc_contiguous(3 * PAGE_SIZE + 5, align=128)
        idx = run // PAGE_SIZE
        for k in range(idx, idx + 4):
            assert k not in used
            used.add(k)
    assert 0 not in used


@pytest.mark.parametrize("align", [128, 4096, 16384])
def test_contiguous_alignment(align):
    alloc = PageAllocator(4 * MIB, seed=5)
    for _ in range(20):
        addr = alloc.alloc_contiguous(256, align=align)
        assert addr % align == 0 and addr != 0


def test_exhaustion_raises_memory_error_with_message():
    alloc = PageAllocator(16 * PAGE_SIZE, seed=0)
    pages = alloc.alloc_pages(10)
    assert alloc.free_page_count == 5          # 16 pages, page 0 never handed out
    with pytest.raises(MemoryError, match="only 5"):
        alloc.alloc_pages(6)
    with pytest.raises(MemoryError, match="contiguous"):
        alloc.alloc_contiguous(16 * PAGE_SIZE)
    alloc.free_pages(pages)
    assert alloc.free_page_count == 15


def test_free_and_reuse():
    alloc = PageAllocator(8 * PAGE_SIZE, seed=2)
    run = alloc.alloc_contiguous(2 * PAGE_SIZE)
    pages = alloc.alloc_pages(3)
    assert alloc.free_page_count == 2
    alloc.free(run)
    alloc.free_pages(pages)
    assert alloc.free_page_count == 7
    again = alloc.alloc_pages(3) + [alloc.alloc_contiguous(PAGE_SIZE)]
    assert len(set(again)) == 4
    with pytest.raises(ValueError):
        alloc.free(again[0] + PAGE_SIZE * 100)     # never allocated
    alloc.free(again[0])
    with pytest.raises(ValueError):
        alloc.free(again[0])                       # double free


def test_adjacent_only_leftovers_raise():
    alloc = PageAllocator(4 * PAGE_SIZE, seed=0)   # free pages 1, 2, 3
    a = alloc.alloc_contiguous(PAGE_SIZE)          # take one; the rest may be adjacent
    left = sorted({1, 2, 3} - {a // PAGE_SIZE})
    if left[1] - left[0] == 1:
        with pytest.raises(MemoryError, match="non-contiguous"):
            alloc.alloc_pages(2)
        assert alloc.free_page_count == 2          # nothing leaked by the failed call


def test_host_memory_read_write_and_bounds():
    mem = HostMemory(1 * MIB)
    mem.write(0x1000, b"\x01\x02\x03\x04")
    assert mem.read(0x1000, 4) == b"\x01\x02\x03\x04"
    mem.write32(0x2000, 0xDEADBEEF)
    assert mem.read32(0x2000) == 0xDEADBEEF
    mem.write64(0x3000, 0x0123456789ABCDEF)
    assert mem.read64(0x3000) == 0x0123456789ABCDEF
    with pytest.raises(ValueError):
        mem.read(1 * MIB - 2, 4)


def test_host_memory_base_offset():
    mem = HostMemory(64 * 1024, base=0x8000_0000)
    mem.write32(0x8000_0010, 7)
    assert mem.read32(0x8000_0010) == 7
    with pytest.raises(ValueError):
        mem.read(0x10, 4)


def test_fault_ranges_apply_to_bus_side_only():
    mem = HostMemory(1 * MIB)
    f = mem.inject_error(0x1000, 0x10, on="read")
    mem.inject_error(0x2000, 4, on="write")
    assert mem._check("write", 0x1000, 4) == 0x1000      # read-only fault: writes pass
    with pytest.raises(BusFault):
        mem._check("read", 0x100C, 8)                    # touches the range
    with pytest.raises(BusFault):
        mem._check("write", 0x1FFE, 4)
    assert mem._check("read", 0x2000, 4) == 0x2000
    assert mem.read(0x1000, 4) == bytes(4)               # host side unaffected
    mem.remove_error(f)
    assert mem._check("read", 0x1000, 4) == 0x1000
    mem.clear_errors()
    assert mem._check("write", 0x2000, 4) == 0x2000
    with pytest.raises(ValueError):
        mem.inject_error(0, 4, on="sideways")


def test_buffer_scatters_across_pages():
    mem = HostMemory(1 * MIB)
    alloc = PageAllocator(mem.size, seed=9)
    buf = Buffer.allocate(mem, alloc, 3 * PAGE_SIZE - 100)
    assert len(buf.pages) == 3
    data = bytes(i & 0xFF for i in range(len(buf)))
    buf.write(0, data)
    assert buf.read(0, len(buf)) == data
    # every byte is where its page says
    for off in (0, PAGE_SIZE - 1, PAGE_SIZE, 2 * PAGE_SIZE + 7):
        assert mem.read(buf.phys(off), 1) == data[off:off + 1]
    segs = buf.segments(PAGE_SIZE - 10, 20)
    assert segs == [(buf.pages[0] + PAGE_SIZE - 10, 10), (buf.pages[1], 10)]
    for addr, n in buf.segments():
        assert addr // PAGE_SIZE == (addr + n - 1) // PAGE_SIZE   # never crosses a page
    assert sum(n for _, n in buf.segments()) == len(buf)
    with pytest.raises(IndexError):
        buf.read(len(buf) - 1, 2)
    buf.free(alloc)
    assert alloc.free_page_count == mem.size // PAGE_SIZE - 1


def test_an_injection_over_several_ranges_fails_a_counted_number_of_accesses():
    mem = HostMemory(1 * MIB)
    injection = mem.inject_errors([(0x1000, 16), (0x3000, 16)], on="read", response="decerr",
                                  times=2)
    with pytest.raises(BusFault) as first:
        mem.bus_read(0x3000, 4)
    assert first.value.response == "decerr"
    with pytest.raises(BusFault):
        mem.bus_read(0x1008, 4)
    # the shared count is used up: every range of that injection is gone
    assert mem.bus_read(0x1000, 4) == mem.bus_read(0x3000, 4) == bytes(4)
    assert mem.errors == injection.hits == 2 and injection.left == 0
    once = mem.inject_error(0x2000, 4, on="write", times=1)
    with pytest.raises(BusFault) as error:
        mem.bus_write(0x2000, b"\1\2\3\4", [True] * 4)
    assert error.value.response == "slverr"
    mem.bus_write(0x2000, b"\1\2\3\4", [True] * 4)
    assert mem.read(0x2000, 4) == b"\1\2\3\4"
    mem.remove_error(once)                               # already gone: no error
    for bad in ({"response": "okay"}, {"times": 0}):
        with pytest.raises(ValueError):
            mem.inject_error(0, 4, **bad)
