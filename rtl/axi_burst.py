"""AXI4 burst engines of a stream DMA: a reader and a writer, each driven by one request at a
time (in the manner of LiteX's ``cores/dma.py``, split by direction).

A request names a byte address, the beats of the burst and the bytes it moves. The first beat
starts at the address's byte lane; bytes travel with the oldest in bits [7:0], so a burst that
starts or ends mid-word moves exactly its bytes, with no alignment rule on addresses."""

from amaranth.hdl import Module, Signal, Mux, Cat, Const, Array
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import (AXI4ReadSignature, AXI4WriteSignature, RESP_OKAY, BURST_INCR, SIZE_WORD,
                  CACHE_MODIFIABLE)

__all__ = ["BurstRequest", "Beat", "BurstControlSignature", "BurstReader", "BurstWriter"]

#: One burst: ``beats`` 32-bit beats from byte ``addr`` moving ``bytes`` bytes (at most
#: ``4 * beats - addr % 4``; the first beat starts at lane ``addr % 4``).
BurstRequest = data.StructLayout({"addr": 32, "beats": 5, "bytes": 7})

#: Bytes of one read beat, moved down to lane 0: ``count`` of them (0-4), and which beat of
#: the burst it was.
Beat = data.StructLayout({"data": 32, "count": 3, "index": 5})


class BurstControlSignature(wiring.Signature):
    """The requester's side of a burst engine: a one-cycle ``start`` with ``request``; ``done``
    is high in the cycle the burst ends, and ``error`` (valid from then until the next
    ``start``) says a beat or the write response was not OKAY."""

    def __init__(self):
        super().__init__({"start": Out(1), "request": Out(BurstRequest), "done": In(1),
                          "error": In(1)})


class _BurstProgress:
    """The burst under way, as both engines keep it (elaboration-time helper): the request,
    the beat it is at, any error so far, and the lane and byte count of the current beat. Only
    an engine with ``byte_lanes`` tracks the bytes still to move; the other moves whole words."""

    def __init__(self, m, byte_lanes):
        self.m = m
        self.byte_lanes = byte_lanes
        self.request = Signal(BurstRequest)
        self.beat = Signal(5)
        self.error = Signal()
        if not byte_lanes:
            self.lane, self.count = Const(0, 2), Const(4, 3)
            return
        self.left = Signal(7)
        self.lane = Signal(2)          # byte lane of this beat's first byte
        self.count = Signal(3)         # bytes this beat moves
        room = Signal(3)
        m.d.comb += [self.lane.eq(Mux(self.beat == 0, self.request.addr[0:2], 0)),
                     room.eq(4 - self.lane),
                     self.count.eq(Mux(self.left < room, self.left, room))]

    def load(self, request):
        self.m.d.sync += [self.request.eq(request), self.beat.eq(0), self.error.eq(0)]
        if self.byte_lanes:
            self.m.d.sync += self.left.eq(request.bytes)

    def step(self):
        """A beat moved."""
        self.m.d.sync += self.beat.eq(self.beat + 1)
        if self.byte_lanes:
            self.m.d.sync += self.left.eq(self.left - self.count)

    def address_states(self, ctl, bus, channel):
        """The IDLE and ADDR states of an engine's FSM on address ``channel`` ("ar" or "aw"):
        a ``ctl.start`` takes the request, the next cycle offers it (word-aligned address,
        beats - 1, 32-bit INCR) until the handshake; then the FSM goes to DATA."""
        m = self.m
        field = lambda name: getattr(bus, f"{channel}{name}")
        m.d.comb += [field("size").eq(SIZE_WORD), field("burst").eq(BURST_INCR),
                     field("cache").eq(CACHE_MODIFIABLE), ctl.error.eq(self.error)]
        with m.State("IDLE"):
            with m.If(ctl.start):
                self.load(ctl.request)
                m.next = "ADDR"
        with m.State("ADDR"):
            m.d.comb += [field("addr").eq(Cat(Const(0, 2), self.request.addr[2:])),
                         field("len").eq(self.request.beats - 1), field("valid").eq(1)]
            with m.If(field("ready")):
                m.next = "DATA"


class BurstReader(wiring.Component):
    """Reads one burst per ``ctl.start``: AR from the next cycle, then every R beat on ``beat``.

    ``beat`` has no back-pressure (``rready`` is held high: the requester reserved room for the
    whole burst). A beat is valid only if it carries bytes, the bus answered it OKAY and no
    earlier beat of the burst failed; ``ctl.error`` in the cycle of the last beat includes that
    beat's answer. Without ``byte_lanes`` the reader takes only word-aligned requests of whole
    words (descriptors) and has no byte-lane logic."""

    def __init__(self, byte_lanes=True, addr_width=32):
        self.byte_lanes = byte_lanes
        super().__init__({"bus": Out(AXI4ReadSignature(addr_width, 32)),
                          "ctl": In(BurstControlSignature()),
                          "beat": Out(stream.Signature(Beat, always_ready=True))})

    def elaborate(self, platform):
        m = Module()
        bus, ctl = self.bus, self.ctl
        burst = _BurstProgress(m, self.byte_lanes)
        ok = bus.rresp == RESP_OKAY
        with m.FSM(name="read"):
            burst.address_states(ctl, bus, "ar")
            with m.State("DATA"):
                m.d.comb += [bus.rready.eq(1), ctl.error.eq(burst.error | (bus.rvalid & ~ok))]
                with m.If(bus.rvalid):
                    m.d.comb += [
                        self.beat.payload.data.eq(bus.rdata >> (burst.lane * 8)),
                        self.beat.payload.count.eq(burst.count),
                        self.beat.payload.index.eq(burst.beat),
                        self.beat.valid.eq(ok & ~burst.error & (burst.count != 0)),
                    ]
                    burst.step()
                    with m.If(~ok):
                        m.d.sync += burst.error.eq(1)
                    with m.If(bus.rlast):
                        m.d.comb += ctl.done.eq(1)
                        m.next = "IDLE"
        return m


class BurstWriter(wiring.Component):
    """Writes one burst per ``ctl.start``: AW from the next cycle, then one W beat whenever
    ``level`` says the source holds the bytes it carries (taken from ``source``, oldest byte in
    bits [7:0]; ``take`` is how many it took this cycle), then waits for B. ``ctl.done`` is
    high in the B cycle, with ``ctl.error`` set unless the response was OKAY. Without
    ``byte_lanes`` the writer takes only word-aligned requests of whole words (the position
    buffer) and has no byte-lane logic."""

    def __init__(self, byte_lanes=True, addr_width=32):
        self.byte_lanes = byte_lanes
        super().__init__({"bus": Out(AXI4WriteSignature(addr_width, 32)),
                          "ctl": In(BurstControlSignature()),
                          "source": In(32), "level": In(4), "take": Out(3)})

    def elaborate(self, platform):
        m = Module()
        bus, ctl = self.bus, self.ctl
        burst = _BurstProgress(m, self.byte_lanes)
        masks = Array(Const((1 << k) - 1, 4) for k in range(5))
        with m.FSM(name="write"):
            burst.address_states(ctl, bus, "aw")
            with m.State("DATA"):
                m.d.comb += [
                    bus.wdata.eq(self.source << (burst.lane * 8)),
                    bus.wstrb.eq(masks[burst.count] << burst.lane),
                    bus.wlast.eq(burst.beat == burst.request.beats - 1),
                    bus.wvalid.eq(self.level >= burst.count),
                ]
                with m.If(bus.wvalid & bus.wready):
                    m.d.comb += self.take.eq(burst.count)
                    burst.step()
                    with m.If(bus.wlast):
                        m.next = "RESP"
            with m.State("RESP"):
                m.d.comb += bus.bready.eq(1)
                with m.If(bus.bvalid):
                    m.d.comb += [ctl.done.eq(1),
                                 ctl.error.eq(burst.error | (bus.bresp != RESP_OKAY))]
                    m.d.sync += burst.error.eq(bus.bresp != RESP_OKAY)
                    m.next = "IDLE"
        return m
