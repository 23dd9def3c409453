"""Host bridge speaking LiteX's UARTBone wire protocol over a byte stream.

Wire protocol (LiteX ``litex/soc/cores/uart.py`` ``Stream2Wishbone``, as spoken by
``litex_server --uart`` and ``wishbone-tool``), all multi-byte values big-endian:

- a frame is ``cmd`` (1 byte), ``length`` (1 byte, 32-bit words), ``address`` (4 bytes, a
  *word* address: byte address / 4), then for writes ``length`` data words;
- ``cmd`` 0x01 writes / 0x02 reads with the address incrementing per word, 0x03 / 0x04 the
  same at a fixed address (FIFO-style);
- a read answers ``length`` words, nothing else; writes are not answered;
- an unknown ``cmd`` consumes its length and address bytes and is dropped.

Where this bridge goes further (documented choices, still wire-compatible):

- ``length`` 0 is an empty frame (no bus access) rather than LiteX's 256 words.
- Timeout: once a frame has started, a gap of more than ``timeout_clocks`` between two received
  bytes abandons it and the bridge waits for a new command byte (LiteX abandons a frame 100 ms
  after its start). A word is put on the bus only once all four of its bytes are in, so a
  truncated frame never leaves a bus transaction half done; the bus slaves behind the bridge
  always answer, so no access waits forever.

Address map (byte addresses; the wire carries them divided by 4):

- :data:`REG_BASE`: the controller's registers, 64 KiB, written as whole words (write strobe
  0b1111), the way ``wishbone-tool`` pokes them.
- :data:`STRB_BASE`: the same registers written with the byte strobe taken from address bits
  19:16 (``STRB_BASE | strb << 16 | offset``), so a driver can write one register without
  touching its neighbours in the word (SD1STS beside SD1CTL). Reads here read the registers.
- :data:`RAM_BASE`: the board RAM (the controller's DMA sees it at the same address).
- anything else: writes are dropped, reads answer 0.
"""

from amaranth.hdl import Module, Signal, Cat, Const, Mux
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from .axi import AXI4LiteSignature
from .bridge_map import (CMD_WRITE, CMD_READ, CMD_WRITE_FIXED, CMD_READ_FIXED, REG_BASE,
                         REG_SPAN, STRB_BASE, STRB_SHIFT, RAM_BASE)

__all__ = ["UartBone", "MemPortSignature"]

#: address bits 31:28 pick the region
REGION_SHIFT = 28


class MemPortSignature(wiring.Signature):
    """A shared block-RAM port, initiator side: ``addr`` (words), ``w_en`` byte enables.
    ``grant`` says the RAM takes this side's address this clock (a write with ``w_en`` happens,
    and ``r_data`` in the next clock is the word read)."""

    def __init__(self, addr_width):
        super().__init__({
            "addr": Out(addr_width), "w_data": Out(32), "w_en": Out(4), "r_data": In(32),
            "grant": In(1),
        })


class UartBone(wiring.Component):
    """UARTBone frame decoder mastering the register port (AXI4-Lite) and a RAM port.

    ``rx`` takes received bytes (it must be buffered: the bridge holds ``ready`` low while it
    waits for the bus), ``tx`` gives bytes to send. ``ram_words`` is the RAM size in 32-bit
    words (a power of two); addresses past it in the RAM region wrap."""

    def __init__(self, ram_words, timeout_clocks, reg_addr_width=16):
        if ram_words & (ram_words - 1):
            raise ValueError(f"RAM size {ram_words} words is not a power of two")
        self.ram_words = ram_words
        self.timeout_clocks = timeout_clocks
        super().__init__({
            "rx": In(stream.Signature(8)),
            "tx": Out(stream.Signature(8)),
            "axil": Out(AXI4LiteSignature(reg_addr_width)),
            "ram": Out(MemPortSignature(max(1, (ram_words - 1).bit_length()))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        a = self.axil
        cmd = Signal(8)
        length = Signal(8)
        words_left = Signal(8)
        word_addr = Signal(32)              # the wire's word address, advanced per word
        data = Signal(32)
        nbytes = Signal(2)                  # bytes of the current 4-byte field taken / sent
        idle_clocks = Signal(range(self.timeout_clocks + 1))

        byte_addr = Cat(Const(0, 2), word_addr[:30])
        region = byte_addr[REGION_SHIFT:]
        reg_bits = (REG_SPAN - 1).bit_length()
        in_regs = (region == REG_BASE >> REGION_SHIFT) & (byte_addr[reg_bits:REGION_SHIFT] == 0)
        in_strb = ((region == STRB_BASE >> REGION_SHIFT)
                   & (byte_addr[STRB_SHIFT + 4:REGION_SHIFT] == 0))
        in_ram = region == RAM_BASE >> REGION_SHIFT
        strobe = Signal(4)
        m.d.comb += strobe.eq(0b1111)
        with m.If(in_strb):
            m.d.comb += strobe.eq(byte_addr[STRB_SHIFT:STRB_SHIFT + 4])
        incr = (cmd == CMD_WRITE) | (cmd == CMD_READ)
        is_write = (cmd == CMD_WRITE) | (cmd == CMD_WRITE_FIXED)
        is_read = (cmd == CMD_READ) | (cmd == CMD_READ_FIXED)

        m.d.comb += [
            a.awaddr.eq(byte_addr), a.araddr.eq(byte_addr), a.wdata.eq(data),
            a.wstrb.eq(strobe),
            self.ram.addr.eq(word_addr), self.ram.w_data.eq(data),
            self.tx.payload.eq(data[24:]),
        ]
        take = self.rx.valid & self.rx.ready

        def next_word(m):
            m.d.sync += [words_left.eq(words_left - 1), word_addr.eq(word_addr + incr),
                         nbytes.eq(0)]
            with m.If(words_left == 1):
                m.next = "CMD"
            with m.Elif(is_write):
                m.next = "WDATA"
            with m.Else():
                m.next = "RBUS"

        def receiving(m):
            # a frame that stops arriving is abandoned after timeout_clocks quiet clocks
            m.d.comb += self.rx.ready.eq(1)
            with m.If(take):
                m.d.sync += idle_clocks.eq(0)
            with m.Elif(idle_clocks == self.timeout_clocks):
                m.d.sync += idle_clocks.eq(0)
                m.next = "CMD"
            with m.Else():
                m.d.sync += idle_clocks.eq(idle_clocks + 1)

        with m.FSM() as fsm:
            with m.State("CMD"):
                m.d.comb += self.rx.ready.eq(1)
                m.d.sync += [nbytes.eq(0), idle_clocks.eq(0)]
                with m.If(take):
                    m.d.sync += cmd.eq(self.rx.payload)
                    m.next = "LENGTH"
            with m.State("LENGTH"):
                receiving(m)
                with m.If(take):
                    m.d.sync += [length.eq(self.rx.payload), words_left.eq(self.rx.payload)]
                    m.next = "ADDR"
            with m.State("ADDR"):
                receiving(m)
                with m.If(take):
                    m.d.sync += [word_addr.eq(Cat(self.rx.payload, word_addr[:24])),
                                 nbytes.eq(nbytes + 1)]
                    with m.If(nbytes == 3):
                        m.d.sync += nbytes.eq(0)
                        with m.If(((~is_write) & (~is_read)) | (length == 0)):
                            m.next = "CMD"
                        with m.Elif(is_write):
                            m.next = "WDATA"
                        with m.Else():
                            m.next = "RBUS"
            with m.State("WDATA"):
                receiving(m)
                with m.If(take):
                    m.d.sync += [data.eq(Cat(self.rx.payload, data[:24])), nbytes.eq(nbytes + 1)]
                    with m.If(nbytes == 3):
                        m.next = "WBUS"
            with m.State("WBUS"):
                with m.If(in_regs | in_strb):
                    m.next = "AXIL_W"
                with m.Elif(~in_ram):
                    next_word(m)            # nothing there: the write is dropped
                with m.Elif(self.ram.grant):
                    m.d.comb += self.ram.w_en.eq(0b1111)
                    next_word(m)
            with m.State("AXIL_W"):
                # the register slave takes address and data together
                m.d.comb += [a.awvalid.eq(1), a.wvalid.eq(1)]
                with m.If(a.awready & a.wready):
                    m.next = "AXIL_B"
            with m.State("AXIL_B"):
                m.d.comb += a.bready.eq(1)
                with m.If(a.bvalid):
                    next_word(m)
            with m.State("RBUS"):
                with m.If(in_regs | in_strb):
                    m.next = "AXIL_AR"
                with m.Elif(~in_ram | self.ram.grant):
                    m.next = "RAM_R"        # the RAM answers on the next clock
            with m.State("RAM_R"):
                m.d.sync += data.eq(Mux(in_ram, self.ram.r_data, 0))
                m.next = "SEND"
            with m.State("AXIL_AR"):
                m.d.comb += a.arvalid.eq(1)
                with m.If(a.arready):
                    m.next = "AXIL_R"
            with m.State("AXIL_R"):
                m.d.comb += a.rready.eq(1)
                with m.If(a.rvalid):
                    m.d.sync += data.eq(a.rdata)
                    m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += self.tx.valid.eq(1)
                with m.If(self.tx.ready):
                    m.d.sync += [data.eq(data << 8), nbytes.eq(nbytes + 1)]
                    with m.If(nbytes == 3):
                        next_word(m)
        m.d.comb += self.busy.eq(~fsm.ongoing("CMD"))
        return m

