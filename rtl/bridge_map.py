"""The UARTBone bridge's commands and address map as plain data (no Amaranth), shared by the
bridge RTL (:mod:`rtl.uartbone`, which documents them) and the host side that talks to it."""

__all__ = ["CMD_WRITE", "CMD_READ", "CMD_WRITE_FIXED", "CMD_READ_FIXED", "REG_BASE", "REG_SPAN",
           "STRB_BASE", "STRB_SHIFT", "RAM_BASE", "REGION_SHIFT", "MAX_BURST_WORDS",
           "strobe_address"]

#: LiteX UARTBone commands: incrementing write/read, fixed-address write/read
CMD_WRITE, CMD_READ, CMD_WRITE_FIXED, CMD_READ_FIXED = 0x01, 0x02, 0x03, 0x04
#: the controller's registers, written as whole words
REG_BASE = 0x0000_0000
REG_SPAN = 0x1_0000
#: the registers again, written with the byte strobe in address bits 19:16
STRB_BASE = 0x1000_0000
STRB_SHIFT = 16
#: the board RAM, at the same address for the bridge and the controller's DMA
RAM_BASE = 0x4000_0000
#: address bits 31:28 pick the region (registers, strobed registers, RAM)
REGION_SHIFT = 28
#: the most words one frame carries (its length is one byte; 0 is an empty frame here)
MAX_BURST_WORDS = 255


def strobe_address(offset, strobe):
    """Byte address writing register word ``offset & ~3`` with byte ``strobe`` (4 bits)."""
    return STRB_BASE | (strobe << STRB_SHIFT) | (offset & (REG_SPAN - 4))
