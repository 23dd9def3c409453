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

from amaranth.hdl import Module
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from .axi import AXI4LiteSignature
from .uartbone_parts import MemPortSignature, FrameReceiver, WordAccess, WordShifter

__all__ = ["UartBone", "MemPortSignature"]


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
        m.submodules.receiver = receiver = FrameReceiver(self.timeout_clocks)
        m.submodules.access = access = WordAccess(len(self.ram.addr), len(self.axil.awaddr))
        m.submodules.shifter = shifter = WordShifter()
        wiring.connect(m, wiring.flipped(self.rx), receiver.rx)
        wiring.connect(m, receiver.w_bytes, shifter.w_bytes)
        wiring.connect(m, receiver.access, access.access)
        wiring.connect(m, access.reply, shifter.reply)
        wiring.connect(m, shifter.tx, wiring.flipped(self.tx))
        wiring.connect(m, access.axil, wiring.flipped(self.axil))
        wiring.connect(m, access.ram, wiring.flipped(self.ram))
        m.d.comb += [access.w_data.eq(shifter.word), access.reply_sent.eq(shifter.sent),
                     self.busy.eq(receiver.busy)]
        return m
