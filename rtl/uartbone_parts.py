"""The UARTBone host bridge's parts, wired together by :class:`rtl.uartbone.UartBone`:

- :class:`FrameReceiver` parses frames from the wire (with :class:`ByteTimeout` abandoning a
  frame that stops arriving) and asks for one word access at a time;
- :class:`WordAccess` does that access on the register port or the RAM port, decoding the
  address with :class:`BridgeAddressMap`;
- :class:`WordShifter` is the bridge's data word: write data shifts in from the wire, a read
  reply shifts out onto it.

The wire protocol and the address map are documented in :mod:`rtl.uartbone`."""

from amaranth.hdl import Module, Signal, Cat, Const, Mux
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import AXI4LiteSignature
from .bridge_map import (CMD_WRITE, CMD_READ, CMD_WRITE_FIXED, CMD_READ_FIXED, REG_BASE,
                         REG_SPAN, STRB_BASE, STRB_SHIFT, RAM_BASE, REGION_SHIFT)

__all__ = ["MemPortSignature", "AccessLayout", "ByteTimeout", "FrameReceiver",
           "BridgeAddressMap", "WordAccess", "WordShifter"]

#: One word access asked of :class:`WordAccess`: the wire's *word* address and the direction.
AccessLayout = data.StructLayout({"address": 32, "write": 1})


class MemPortSignature(wiring.Signature):
    """A shared block-RAM port, initiator side: ``addr`` (words), ``w_en`` byte enables.
    ``grant`` says the RAM takes this side's address this clock (a write with ``w_en`` happens,
    and ``r_data`` in the next clock is the word read)."""

    def __init__(self, addr_width):
        super().__init__({
            "addr": Out(addr_width), "w_data": Out(32), "w_en": Out(4), "r_data": In(32),
            "grant": In(1),
        })


class ByteTimeout(wiring.Component):
    """Says when a frame being received has gone quiet for too long.

    Members
    -------
    watch : In(1)
        A frame is being received (between its command byte and its next bus access).
    byte : In(1)
        A byte of the frame is taken this clock.
    expired : Out(1)
        The frame is abandoned this clock: ``timeout_clocks`` clocks have passed without a byte
        while watching, and none comes now.
    """

    def __init__(self, timeout_clocks):
        self.timeout_clocks = timeout_clocks
        super().__init__({"watch": In(1), "byte": In(1), "expired": Out(1)})

    def elaborate(self, platform):
        m = Module()
        idle_clocks = Signal(range(self.timeout_clocks + 1))
        with m.If(~self.watch | self.byte):
            m.d.sync += idle_clocks.eq(0)
        with m.Elif(idle_clocks == self.timeout_clocks):
            m.d.comb += self.expired.eq(1)
            m.d.sync += idle_clocks.eq(0)
        with m.Else():
            m.d.sync += idle_clocks.eq(idle_clocks + 1)
        return m


class FrameReceiver(wiring.Component):
    """Parses UARTBone frames from ``rx`` and walks their words.

    After the header (command, length, address) it asks for each word's bus access on
    ``access``, which completes when ``access.ready`` is high. A write word's four data bytes
    go out on ``w_bytes`` first (to :class:`WordShifter`); a read frame's accesses follow one
    another without bytes from the wire. ``rx`` is not read while an access is under way.

    Members
    -------
    rx : In(stream.Signature(8))
        Received bytes.
    w_bytes : Out(stream.Signature(8))
        The data bytes of write frames, as received.
    access : Out(stream.Signature(AccessLayout))
        The access to do now; ``address`` advances after each word of an incrementing command.
    busy : Out(1)
        A frame is under way (anything but waiting for a command byte).
    """

    def __init__(self, timeout_clocks):
        self.timeout_clocks = timeout_clocks
        super().__init__({
            "rx": In(stream.Signature(8)),
            "w_bytes": Out(stream.Signature(8)),
            "access": Out(stream.Signature(AccessLayout)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.timeout = timeout = ByteTimeout(self.timeout_clocks)
        rx = self.rx
        cmd, length, words_left = Signal(8), Signal(8), Signal(8)
        word_addr = self.access.payload.address
        nbytes = Signal(2)                  # bytes of the current 4-byte field taken
        take = rx.valid & rx.ready
        is_write = (cmd == CMD_WRITE) | (cmd == CMD_WRITE_FIXED)
        is_read = (cmd == CMD_READ) | (cmd == CMD_READ_FIXED)
        incr = (cmd == CMD_WRITE) | (cmd == CMD_READ)
        m.d.comb += [self.access.payload.write.eq(is_write), timeout.byte.eq(take),
                     self.w_bytes.payload.eq(rx.payload)]

        with m.FSM() as fsm:
            with m.State("CMD"):
                m.d.comb += rx.ready.eq(1)
                m.d.sync += nbytes.eq(0)
                with m.If(take):
                    m.d.sync += cmd.eq(rx.payload)
                    m.next = "LENGTH"
            with m.State("LENGTH"):
                self._listen(m, timeout)
                with m.If(take):
                    m.d.sync += [length.eq(rx.payload), words_left.eq(rx.payload)]
                    m.next = "ADDR"
            with m.State("ADDR"):
                self._listen(m, timeout)
                with m.If(take):
                    m.d.sync += [word_addr.eq(Cat(rx.payload, word_addr[:24])),
                                 nbytes.eq(nbytes + 1)]
                    with m.If(nbytes == 3):
                        # an unknown command only consumes its header
                        with m.If(((~is_write) & (~is_read)) | (length == 0)):
                            m.next = "CMD"
                        with m.Elif(is_write):
                            m.next = "WDATA"
                        with m.Else():
                            m.next = "ACCESS"
            with m.State("WDATA"):
                self._listen(m, timeout, ready=self.w_bytes.ready)
                m.d.comb += self.w_bytes.valid.eq(rx.valid)
                with m.If(take):
                    m.d.sync += nbytes.eq(nbytes + 1)
                    with m.If(nbytes == 3):
                        m.next = "ACCESS"
            with m.State("ACCESS"):
                # a word goes on the bus only once all of it is in: no half-done access
                m.d.comb += self.access.valid.eq(1)
                with m.If(self.access.ready):
                    m.d.sync += [words_left.eq(words_left - 1), word_addr.eq(word_addr + incr)]
                    with m.If(words_left == 1):
                        m.next = "CMD"
                    with m.Elif(is_write):
                        m.next = "WDATA"
        m.d.comb += self.busy.eq(~fsm.ongoing("CMD"))
        return m

    def _listen(self, m, timeout, ready=1):
        """In an FSM state between the command byte and the next access: take bytes, and
        abandon a frame that stops arriving."""
        m.d.comb += [self.rx.ready.eq(ready), timeout.watch.eq(1)]
        with m.If(timeout.expired):
            m.next = "CMD"


class BridgeAddressMap(wiring.Component):
    """Decodes a wire word address into the bridge's regions (see :mod:`rtl.uartbone`).

    Members
    -------
    address : In(32)
        The wire's word address.
    byte_address : Out(32)
        The same as a byte address (bits 31:30 of ``address`` fall off).
    registers : Out(1)
        The address is in the register window (whole words) or the byte-strobe window.
    ram : Out(1)
        The address is in the RAM region.
    strobe : Out(4)
        The byte strobe of a register write: from address bits 19:16 in the byte-strobe window,
        else all four bytes.
    """

    def __init__(self):
        super().__init__({"address": In(32), "byte_address": Out(32), "registers": Out(1),
                          "ram": Out(1), "strobe": Out(4)})

    def elaborate(self, platform):
        m = Module()
        byte_addr = self.byte_address
        region = byte_addr[REGION_SHIFT:]
        reg_bits = (REG_SPAN - 1).bit_length()
        in_regs = (region == REG_BASE >> REGION_SHIFT) & (byte_addr[reg_bits:REGION_SHIFT] == 0)
        in_strb = ((region == STRB_BASE >> REGION_SHIFT)
                   & (byte_addr[STRB_SHIFT + 4:REGION_SHIFT] == 0))
        m.d.comb += [byte_addr.eq(Cat(Const(0, 2), self.address[:30])),
                     self.registers.eq(in_regs | in_strb),
                     self.ram.eq(region == RAM_BASE >> REGION_SHIFT),
                     self.strobe.eq(0b1111)]
        with m.If(in_strb):
            m.d.comb += self.strobe.eq(byte_addr[STRB_SHIFT:STRB_SHIFT + 4])
        return m


class WordAccess(wiring.Component):
    """Does the bridge's word accesses, one at a time, on the register port (AXI4-Lite) or the
    RAM port; an access elsewhere is a dropped write or a read of 0.

    A write completes (``access.ready``) once the bus has taken it. A read hands its word to
    ``reply`` and completes when ``reply_sent`` says the word's last byte is on the wire.

    Members
    -------
    access : In(stream.Signature(AccessLayout))
        The access to do.
    w_data : In(32)
        The word to write.
    reply : Out(stream.Signature(32))
        The word read.
    reply_sent : In(1)
        The last byte of the reply leaves this clock.
    axil : Out(AXI4LiteSignature(reg_addr_width))
        The register port.
    ram : Out(MemPortSignature(ram_addr_width))
        The RAM port.
    """

    def __init__(self, ram_addr_width, reg_addr_width):
        super().__init__({
            "access": In(stream.Signature(AccessLayout)),
            "w_data": In(32),
            "reply": Out(stream.Signature(32)),
            "reply_sent": In(1),
            "axil": Out(AXI4LiteSignature(reg_addr_width)),
            "ram": Out(MemPortSignature(ram_addr_width)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.address_map = where = BridgeAddressMap()
        a, ram, access, reply = self.axil, self.ram, self.access, self.reply
        m.d.comb += [
            where.address.eq(access.payload.address),
            a.awaddr.eq(where.byte_address), a.araddr.eq(where.byte_address),
            a.wdata.eq(self.w_data), a.wstrb.eq(where.strobe),
            ram.addr.eq(access.payload.address), ram.w_data.eq(self.w_data),
        ]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(access.valid & access.payload.write):
                    with m.If(where.registers):
                        m.next = "AXIL_W"
                    with m.Elif(~where.ram):
                        m.d.comb += access.ready.eq(1)     # nothing there: dropped
                    with m.Elif(ram.grant):
                        m.d.comb += [ram.w_en.eq(0b1111), access.ready.eq(1)]
                with m.Elif(access.valid):
                    with m.If(where.registers):
                        m.next = "AXIL_AR"
                    with m.Elif(~where.ram | ram.grant):
                        m.next = "RAM_R"        # the RAM answers on the next clock
            with m.State("AXIL_W"):
                # the register slave takes address and data together
                m.d.comb += [a.awvalid.eq(1), a.wvalid.eq(1)]
                with m.If(a.awready & a.wready):
                    m.next = "AXIL_B"
            with m.State("AXIL_B"):
                m.d.comb += [a.bready.eq(1), access.ready.eq(a.bvalid)]
                with m.If(a.bvalid):
                    m.next = "IDLE"
            with m.State("RAM_R"):
                # the RAM's word is out a clock after its address; elsewhere a read gives 0
                m.d.comb += [reply.valid.eq(1),
                             reply.payload.eq(Mux(where.ram, ram.r_data, 0))]
                with m.If(reply.ready):
                    m.next = "REPLY"
            with m.State("AXIL_AR"):
                m.d.comb += a.arvalid.eq(1)
                with m.If(a.arready):
                    m.next = "AXIL_R"
            with m.State("AXIL_R"):
                m.d.comb += [reply.valid.eq(a.rvalid), reply.payload.eq(a.rdata),
                             a.rready.eq(reply.ready)]
                with m.If(a.rvalid & reply.ready):
                    m.next = "REPLY"
            with m.State("REPLY"):
                m.d.comb += access.ready.eq(self.reply_sent)
                with m.If(self.reply_sent):
                    m.next = "IDLE"
        return m


class WordShifter(wiring.Component):
    """The bridge's data word, moved a byte at a time, most significant byte first.

    Write data bytes shift in at the bottom from ``w_bytes``; a read's ``reply`` word loads
    whole and then shifts out of the top onto ``tx``, four bytes. One register serves both,
    as in LiteX's ``Stream2Wishbone``.

    Members
    -------
    w_bytes : In(stream.Signature(8))
        Bytes to shift in.
    reply : In(stream.Signature(32))
        A word to send.
    tx : Out(stream.Signature(8))
        Bytes to send (``payload`` is always the word's top byte).
    word : Out(32)
        The word.
    sent : Out(1)
        The reply's last byte leaves this clock.
    """

    def __init__(self):
        super().__init__({
            "w_bytes": In(stream.Signature(8)),
            "reply": In(stream.Signature(32)),
            "tx": Out(stream.Signature(8)),
            "word": Out(32),
            "sent": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        word, tx = self.word, self.tx
        nbytes = Signal(2)                  # bytes of the reply sent
        m.d.comb += tx.payload.eq(word[24:])
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [self.w_bytes.ready.eq(1), self.reply.ready.eq(1)]
                with m.If(self.reply.valid):
                    m.d.sync += word.eq(self.reply.payload)
                    m.next = "SEND"
                with m.Elif(self.w_bytes.valid):
                    m.d.sync += word.eq(Cat(self.w_bytes.payload, word[:24]))
            with m.State("SEND"):
                m.d.comb += tx.valid.eq(1)
                with m.If(tx.ready):
                    m.d.sync += [word.eq(word << 8), nbytes.eq(nbytes + 1)]
                    with m.If(nbytes == 3):
                        m.d.comb += self.sent.eq(1)
                        m.next = "IDLE"
        return m
