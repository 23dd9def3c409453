"""The one register-map definition of the audio controller.

Pure Python (no Amaranth import): the RTL register bank is elaborated from it, the miniport
drivers read offsets and fields from it, and ``pcsim regmap`` exports it as Markdown, a C header
or JSON for firmware on real boards.

Field access types
------------------
``R``     read-only; the value comes from hardware.
``RW``    read/write storage.
``RW1C``  set by hardware, cleared by writing 1.
``RWA``   "write action": a write is a request handed to hardware (``w_stb``/``w_data``), and a
          read returns hardware state. Used where HDA gives a bit a handshake (CRST, SRST, RUN,
          ICB): the value read back says when the request has taken effect.
"""

from dataclasses import dataclass
import json

__all__ = ["Field", "Register", "RegisterMap", "REGMAP", "NUM_STREAMS", "INPUT_STREAMS",
           "OUTPUT_STREAMS", "stream_reg", "ACCESS_TYPES", "POSITION_PAGE", "format_supported",
           "frame_bytes", "MIDI_BAUD", "MIDI_DIV_MIN", "REFERENCE_CLK_HZ", "midi_divisor",
           "MPU_RESET", "MPU_UART_MODE", "MPU_ACK", "MIDI_QUEUE_DEPTH", "STREAM_BASE",
           "STREAM_STRIDE", "VENDOR_STREAM_BASE", "VENDOR_STREAM_STRIDE", "access_width",
           "stream_layout", "BDL_ENTRY_BYTES", "POSITION_SLOT_BYTES"]

ACCESS_TYPES = ("R", "RW", "RW1C", "RWA")

#: Stream descriptors: SD0 is the capture (input) stream, SD1 and SD2 render (output).
INPUT_STREAMS = (0,)
OUTPUT_STREAMS = (1, 2)
NUM_STREAMS = len(INPUT_STREAMS) + len(OUTPUT_STREAMS)

#: A buffer descriptor list entry in memory: 64-bit address, 32-bit length, IOC flags word.
BDL_ENTRY_BYTES = 16
#: Bytes per stream in the DMA position buffer (DPLBASE): stream n's position is at 8 * n.
POSITION_SLOT_BYTES = 8

STREAM_BASE = 0x80
STREAM_STRIDE = 0x20
VENDOR_STREAM_BASE = 0x1000
VENDOR_STREAM_STRIDE = 0x10
#: Base of the position page: aliases of WALLCLK and the LPIBs that WaveRT maps to clients.
POSITION_PAGE = 0x2000

#: The clock the register reference documents (reset values that depend on the clock, such as
#: MIDI_DIV's, are given for it; the hardware computes its own from the elaborated clock).
REFERENCE_CLK_HZ = 12_288_000
#: MIDI serial rate; MIDI_DIV resets to :func:`midi_divisor` of the controller clock.
MIDI_BAUD = 31250
#: MIDI_DIV values below this act as this (the receiver needs a few clocks per bit).
MIDI_DIV_MIN = 8
#: MPU-401 commands (written to MIDI_STAT) and the acknowledge read from MIDI_DATA.
MPU_RESET, MPU_UART_MODE, MPU_ACK = 0xFF, 0x3F, 0xFE
#: Slots of the timestamped MIDI output queue (MQ_FREE after reset).
MIDI_QUEUE_DEPTH = 64


def midi_divisor(clk_hz, baud=MIDI_BAUD):
    """Clocks per MIDI bit for ``baud`` at ``clk_hz``: MIDI_DIV's reset value at that clock."""
    div = round(clk_hz / baud)
    if not MIDI_DIV_MIN <= div < (1 << 16):
        raise ValueError(f"clock {clk_hz} Hz gives a MIDI divisor of {div} clocks per bit at "
                         f"{baud} baud; it must be {MIDI_DIV_MIN}..65535")
    return div


@dataclass(frozen=True)
class Field:
    """A bit field of a register: ``lsb`` and ``width`` are relative to the register."""
    name: str
    lsb: int
    width: int
    access: str
    reset: int = 0
    doc: str = ""

    def __post_init__(self):
        if self.access not in ACCESS_TYPES:
            raise ValueError(f"field {self.name}: unknown access type {self.access!r}")
        if self.width < 1 or self.lsb < 0:
            raise ValueError(f"field {self.name}: bad bit range lsb={self.lsb} width={self.width}")
        if not 0 <= self.reset < (1 << self.width):
            raise ValueError(f"field {self.name}: reset value {self.reset:#x} does not fit "
                             f"{self.width} bits")

    @property
    def mask(self):
        return ((1 << self.width) - 1) << self.lsb

    def get(self, value):
        """Extract this field from a register value."""
        return (value >> self.lsb) & ((1 << self.width) - 1)

    def put(self, value):
        """Place ``value`` in this field's bits; raises ValueError if it does not fit."""
        if not 0 <= value < (1 << self.width):
            raise ValueError(f"value {value:#x} does not fit field {self.name} "
                             f"({self.width} bits)")
        return value << self.lsb


@dataclass(frozen=True)
class Register:
    """A register of ``size`` bytes at byte ``offset``; ``group`` is ``"global"``, ``"sdN"``
    or ``"midi"`` (the groups a controller reset or a stream reset returns to defaults).

    ``alias_of`` names another register whose value this one mirrors (read-only)."""
    name: str
    offset: int
    size: int
    fields: tuple = ()
    group: str = "global"
    doc: str = ""
    alias_of: str = None

    def __post_init__(self):
        if self.size not in (1, 2, 3, 4):
            raise ValueError(f"register {self.name}: size {self.size} is not 1-4 bytes")
        if (self.offset % 4) + self.size > 4:
            raise ValueError(f"register {self.name} at {self.offset:#x} crosses a 32-bit word")
        used = 0
        for f in self.fields:
            if f.lsb + f.width > 8 * self.size:
                raise ValueError(f"field {self.name}.{f.name} exceeds the register width")
            if used & f.mask:
                raise ValueError(f"field {self.name}.{f.name} overlaps another field")
            used |= f.mask

    @property
    def width(self):
        return 8 * self.size

    @property
    def reset(self):
        return sum(f.put(f.reset) for f in self.fields)

    def field(self, name):
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"register {self.name} has no field {name!r}")

    def __getitem__(self, name):
        return self.field(name)

    def encode(self, **values):
        """Register value with the named fields set, e.g. ``CTL.encode(RUN=1, STRM=1)``."""
        return sum(self.field(k).put(v) for k, v in values.items())

    def decode(self, value):
        return {f.name: f.get(value) for f in self.fields}


class RegisterMap:
    """An ordered collection of registers addressed by name."""

    def __init__(self, registers):
        self.registers = tuple(registers)
        self._by_name = {}
        for r in self.registers:
            if r.name in self._by_name:
                raise ValueError(f"duplicate register name {r.name}")
            self._by_name[r.name] = r
        self._check_overlaps()
        for r in self.registers:
            if r.alias_of is not None and r.alias_of not in self._by_name:
                raise ValueError(f"register {r.name} aliases unknown register {r.alias_of}")

    def _check_overlaps(self):
        taken = {}
        for r in self.registers:
            for b in range(r.offset, r.offset + r.size):
                if b in taken:
                    raise ValueError(f"register {r.name} overlaps {taken[b]} at byte {b:#x}")
                taken[b] = r.name

    def __getitem__(self, name):
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no register named {name!r}") from None

    def __iter__(self):
        return iter(self.registers)

    def words(self):
        """Registers grouped by 32-bit word address: ``{word_offset: [Register, ...]}``."""
        out = {}
        for r in self.registers:
            out.setdefault(r.offset & ~3, []).append(r)
        return dict(sorted(out.items()))

    # --- exports -----------------------------------------------------------------------------

    def to_json(self):
        regs = []
        for r in self.registers:
            regs.append({
                "name": r.name, "offset": r.offset, "size": r.size, "group": r.group,
                "doc": r.doc, "alias_of": r.alias_of, "reset": r.reset,
                "fields": [{"name": f.name, "lsb": f.lsb, "width": f.width,
                            "access": f.access, "reset": f.reset, "doc": f.doc}
                           for f in r.fields],
            })
        return json.dumps({"registers": regs}, indent=2) + "\n"

    def to_markdown(self):
        lines = ["# Register map", "",
                 "Access: R read-only, RW read/write, RW1C write 1 to clear, RWA write is a "
                 "request and read returns hardware state.", "",
                 "| offset | register | size | field | bits | access | reset | meaning |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in self.registers:
            head = f"| {r.offset:#06x} | {r.name} | {r.size} "
            if r.alias_of:
                lines.append(head + f"| | | R | | alias of {r.alias_of} |")
                continue
            if not r.fields:
                lines.append(head + f"| | | | | {r.doc} |")
            for i, f in enumerate(r.fields):
                bits = (f"{f.lsb}" if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}")
                doc = f.doc or (r.doc if i == 0 else "")
                lines.append((head if i == 0 else "| | | ") +
                             f"| {f.name} | {bits} | {f.access} | {f.reset:#x} | {doc} |")
        return "\n".join(lines) + "\n"

    def to_c_header(self, prefix="PCSIM"):
        """A C header: per register its offset, size in bytes and access width in bits, per
        field its shift, width and mask, and the per-stream layout (base, stride, offsets
        relative to a stream's block) with ``<prefix>_SD_REG(n, NAME)``."""
        guard = f"{prefix}_REGMAP_H"
        lines = ["/* Register map of the pcsim audio controller. Generated by `pcsim regmap "
                 "--format c`; do not edit. */",
                 f"#ifndef {guard}", f"#define {guard}", "",
                 "/* <REG>: byte offset; <REG>_SIZE: bytes; <REG>_ACCESS: bus access width in "
                 "bits. A 3-byte",
                 " * register is accessed as 32 bits: the fourth byte of its word belongs to a "
                 "RW1C register", " * (SDnSTS), where writing 0 changes nothing. */"]
        for r in self.registers:
            lines.append(f"#define {prefix}_{r.name} {r.offset:#06x}u")
            lines.append(f"#define {prefix}_{r.name}_SIZE {r.size}u")
            lines.append(f"#define {prefix}_{r.name}_ACCESS {access_width(r)}u")
            lines += _c_field_lines(f"{prefix}_{r.name}", r.fields)
        lines += self._c_stream_layout(prefix)
        lines += ["", f"#endif /* {guard} */"]
        return "\n".join(lines) + "\n"

    def _c_stream_layout(self, prefix):
        """Stream registers relative to their stream's block, from stream 0's registers."""
        lines = ["", "/* Streams: SD<n><REG> = <prefix>_SD_REG(n, REG); SD0 capture, SD1/SD2 "
                     "render. */",
                 f"#define {prefix}_NUM_STREAMS {NUM_STREAMS}u",
                 f"#define {prefix}_SD_BASE {STREAM_BASE:#06x}u",
                 f"#define {prefix}_SD_STRIDE {STREAM_STRIDE:#06x}u",
                 f"#define {prefix}_SDV_BASE {VENDOR_STREAM_BASE:#06x}u",
                 f"#define {prefix}_SDV_STRIDE {VENDOR_STREAM_STRIDE:#06x}u"]
        for block, base, stride in (("SD", STREAM_BASE, STREAM_STRIDE),
                                    ("SDV", VENDOR_STREAM_BASE, VENDOR_STREAM_STRIDE)):
            for name, r in stream_layout(self, base, stride).items():
                tag = f"{prefix}_SD_{name}"
                lines.append(f"#define {tag} {r.offset - base:#04x}u")
                lines.append(f"#define {tag}_SIZE {r.size}u")
                lines.append(f"#define {tag}_ACCESS {access_width(r)}u")
                lines.append(f"#define {tag}_BLOCK_BASE {prefix}_{block}_BASE")
                lines.append(f"#define {tag}_BLOCK_STRIDE {prefix}_{block}_STRIDE")
                lines += _c_field_lines(tag, r.fields)
        lines.append(f"#define {prefix}_SD_REG(n, reg) ({prefix}_SD_##reg##_BLOCK_BASE + "
                     f"(n) * {prefix}_SD_##reg##_BLOCK_STRIDE + {prefix}_SD_##reg)")
        return lines


def access_width(register):
    """Bus access width in bits for a register: its own size, 3 bytes as a 32-bit word."""
    return 32 if register.size == 3 else 8 * register.size


def stream_layout(regmap, base, stride):
    """Stream 0's registers in the block at ``base`` (``{"CTL": Register, ...}``); the other
    streams repeat them every ``stride`` bytes."""
    prefix = stream_reg("", 0)
    return {r.name[len(prefix):]: r for r in regmap
            if r.group == "sd0" and r.alias_of is None and base <= r.offset < base + stride}


def _c_field_lines(tag, fields):
    lines = []
    for f in fields:
        lines.append(f"#define {tag}_{f.name}_SHIFT {f.lsb}u")
        lines.append(f"#define {tag}_{f.name}_WIDTH {f.width}u")
        lines.append(f"#define {tag}_{f.name}_MASK {f.mask:#010x}u")
    return lines


def format_supported(fmt):
    """Software mirror of the hardware check on RUN: 48 kHz family at <= 48 kHz, 16 or 24 bits
    (24 bits MSB-aligned in a 32-bit container), 1 or 2 channels."""
    chan, bits = fmt & 0xF, (fmt >> 4) & 7
    div, mult, base = (fmt >> 8) & 7, (fmt >> 11) & 7, (fmt >> 14) & 1
    return base == 0 and mult <= div and bits in (1, 3) and chan <= 1


def frame_bytes(fmt):
    """Bytes per frame in memory for a supported FMT value."""
    return (4 if (fmt >> 4) & 7 == 3 else 2) * ((fmt & 0xF) + 1)


def _f(name, lsb, width=1, access="RW", reset=0, doc=""):
    return Field(name, lsb, width, access, reset, doc)


def stream_reg(name, n):
    """Name of stream ``n``'s register ``name`` (``stream_reg("CTL", 1) == "SD1CTL"``)."""
    return f"SD{n}{name}"


def _global_registers():
    sie = [_f(f"SIE{n}", n, doc=f"stream {n} interrupt enable") for n in range(NUM_STREAMS)]
    sis = [_f(f"SIS{n}", n, access="R", doc=f"stream {n} has an enabled cause pending")
           for n in range(NUM_STREAMS)]
    return [
        Register("GCAP", 0x00, 2, (
            _f("OK64", 0, 1, "R", 0, "64OK: 64-bit addressing supported"),
            _f("BSS", 3, 5, "R", 0, "bidirectional streams"),
            _f("ISS", 8, 4, "R", len(INPUT_STREAMS), "input streams"),
            _f("OSS", 12, 4, "R", len(OUTPUT_STREAMS), "output streams")), doc="capabilities"),
        Register("VMIN", 0x02, 1, (_f("VMIN", 0, 8, "R", 0),), doc="minor version"),
        Register("VMAJ", 0x03, 1, (_f("VMAJ", 0, 8, "R", 1),), doc="major version"),
        Register("GCTL", 0x08, 4, (
            _f("CRST", 0, 1, "RWA", 0, "write 0 = enter reset, 1 = leave; reads 1 once out "
                                       "of reset"),)),
        Register("STATESTS", 0x0E, 2, (
            _f("SDIWAKE", 0, 1, "RW1C", 0, "codec 0 present (set after leaving reset)"),)),
        Register("INTCTL", 0x20, 4, tuple(sie) + (
            _f("MIE", 29, doc="MIDI interrupt enable"),
            _f("CIE", 30, doc="codec (unsolicited response) interrupt enable"),
            _f("GIE", 31, doc="global interrupt enable"))),
        Register("INTSTS", 0x24, 4, tuple(sis) + (
            _f("MIS", 29, access="R"), _f("CIS", 30, access="R"),
            _f("GIS", 31, access="R", doc="any of the above"))),
        Register("WALLCLK", 0x30, 4, (
            _f("COUNT", 0, 32, "R", 0, "free-running controller clocks; not reset by CRST"),)),
        Register("ICOI", 0x60, 4, (_f("VERB", 0, 32, "RW", 0, "immediate command"),)),
        Register("IRII", 0x64, 4, (_f("RESP", 0, 32, "R", 0, "immediate response"),)),
        Register("ICS", 0x68, 2, (
            _f("ICB", 0, 1, "RWA", 0, "write 1 to send ICOI; reads 1 until the response is in"),
            _f("IRV", 1, 1, "RW1C", 0, "immediate response valid"))),
        Register("DPLBASE", 0x70, 4, (
            _f("ENABLE", 0, 1, "RW", 0, "DMA position buffer enable"),
            _f("BASE", 7, 25, "RW", 0, "position buffer address [31:7]"))),
        Register("DPUBASE", 0x74, 4, (
            _f("BASE", 0, 32, "R", 0, "upper address; 0 because 64OK=0"),)),
        Register("UNSOL", 0x1120, 4, (
            _f("RESP", 0, 32, "R", 0, "oldest codec unsolicited response, popped by the read; "
                                      "0 when none is queued (INTSTS.CIS while any remain)"),),
            doc="unsolicited response queue"),
    ]


def _stream_registers(n):
    g = f"sd{n}"
    base = STREAM_BASE + STREAM_STRIDE * n
    vbase = VENDOR_STREAM_BASE + VENDOR_STREAM_STRIDE * n
    r = lambda name, off, size, fields, doc="": Register(stream_reg(name, n), off, size,
                                                         tuple(fields), g, doc)
    return [
        r("CTL", base + 0x00, 3, [
            _f("SRST", 0, 1, "RWA", 0, "stream reset: write 1 (RUN=0) to enter, 0 to leave"),
            _f("RUN", 1, 1, "RWA", 0, "run; reads 0 only once the engine has stopped"),
            _f("IOCE", 2, doc="interrupt on completion enable"),
            _f("FEIE", 3, doc="FIFO error interrupt enable"),
            _f("DEIE", 4, doc="descriptor error interrupt enable"),
            _f("LVBIE", 5, doc="last valid buffer interrupt enable (queue mode)"),
            _f("STRM", 20, 4, doc="stream tag on the link")]),
        r("STS", base + 0x03, 1, [
            _f("BCIS", 2, 1, "RW1C", 0, "buffer completion (IOC entry done)"),
            _f("FIFOE", 3, 1, "RW1C", 0, "FIFO error: underrun or overrun"),
            _f("DESE", 4, 1, "RW1C", 0, "descriptor error: bus error or unplayable format"),
            _f("FIFORDY", 5, 1, "R", 0, "FIFO ready"),
            _f("LVBCI", 6, 1, "RW1C", 0, "last valid buffer completed (queue mode)")]),
        r("LPIB", base + 0x04, 4, [_f("LPIB", 0, 32, "R", 0, "link position in buffer")]),
        r("CBL", base + 0x08, 4, [_f("CBL", 0, 32, "RW", 0, "cyclic buffer length, bytes")]),
        r("LVI", base + 0x0C, 2, [_f("LVI", 0, 8, "RW", 0, "last valid BDL index")]),
        r("FIFOS", base + 0x10, 2, [_f("FIFOS", 0, 16, "R", 0, "FIFO size in bytes minus 1")]),
        r("FMT", base + 0x12, 2, [
            _f("CHAN", 0, 4, doc="channels - 1"), _f("BITS", 4, 3, doc="001=16, 011=24, 100=32"),
            _f("DIV", 8, 3, doc="rate divisor - 1"), _f("MULT", 11, 3, doc="rate multiple - 1"),
            _f("BASE", 14, 1, doc="0 = 48 kHz family")]),
        r("BDPL", base + 0x18, 4, [_f("BASE", 7, 25, "RW", 0, "BDL address [31:7]")]),
        r("BDPU", base + 0x1C, 4, [_f("BASE", 0, 32, "R", 0, "BDL upper address; 0 (64OK=0)")]),
        r("MODE", vbase + 0x0, 4, [
            _f("QUEUE", 0, doc="0 = cyclic, 1 = queue (stop after LVI; new LVI restarts)"),
            _f("ZERO", 1, doc="on underrun send zeros (1) or repeat the last frame (0)")]),
        r("CIV", vbase + 0x4, 4, [_f("CIV", 0, 8, "R", 0, "BDL entry in use")]),
        r("PICB", vbase + 0x8, 4, [_f("PICB", 0, 32, "R", 0, "bytes left in the entry")]),
        r("XRUN", vbase + 0xC, 4, [_f("XRUN", 0, 32, "R", 0, "frames lost since SRST")]),
    ]


def _midi_registers():
    """MPU-401 UART and the timestamped output queue (see rtl/midi.py for the behaviour)."""
    r = lambda name, off, size, fields, doc="": Register(name, off, size, tuple(fields), "midi",
                                                         doc)
    return [
        r("MIDI_DATA", 0x1100, 1, [
            _f("DATA", 0, 8, "RWA", 0, "MPU-401 data port. Write: queue a byte to send (UART "
                                      "mode only; dropped while DRR=1). Read: the 0xFE "
                                      "acknowledge if one is pending, else pop the oldest "
                                      "received byte; 0 when DSR=1")]),
        # The MPU-401 status/command port: one byte, written as a command and read as status.
        # Each field is a write action so both directions keep their meaning.
        r("MIDI_STAT", 0x1104, 1, [
            _f("CMD", 0, 6, "RWA", 0, "write: bits 5:0 of the MPU-401 command byte (0xFF reset: "
                                     "flush FIFOs and queue, leave UART mode; 0x3F enter UART "
                                     "mode; both answer 0xFE in MIDI_DATA); reads 0"),
            _f("DRR", 6, 1, "RWA", 0, "read: 1 = the transmit FIFO is full (cannot accept a "
                                     "byte); write: command bit 6"),
            _f("DSR", 7, 1, "RWA", 1, "read: 1 = nothing to read in MIDI_DATA; write: command "
                                     "bit 7")]),
        r("MIDI_DIV", 0x1108, 2, [
            _f("DIV", 0, 16, "RW", midi_divisor(REFERENCE_CLK_HZ),
               f"clocks per MIDI bit, for both directions (values below {MIDI_DIV_MIN} act as "
               f"{MIDI_DIV_MIN}); resets to round(clock / {MIDI_BAUD}), "
               f"{midi_divisor(REFERENCE_CLK_HZ)} at {REFERENCE_CLK_HZ / 1e6:g} MHz")]),
        r("MIDI_ERR", 0x110C, 4, [
            _f("FRAMING", 0, 16, "R", 0, "received bytes dropped for a stop bit of 0 "
                                        "(saturates at 0xFFFF)"),
            _f("OVERRUN", 16, 16, "R", 0, "received bytes dropped because the receive FIFO "
                                         "was full (saturates at 0xFFFF)")]),
        r("MQ_TIME", 0x1110, 4, [
            _f("TIME", 0, 32, "RW", 0, "WALLCLK time at which the bytes written to MQ_DATA "
                                      "from now on leave")]),
        r("MQ_DATA", 0x1114, 1, [
            _f("DATA", 0, 8, "RWA", 0, "write: queue (byte, MQ_TIME); it starts on midi_tx "
                                      "once WALLCLK >= MQ_TIME (signed 32-bit difference), "
                                      "after every byte queued before it. Dropped when "
                                      "MQ_FREE=0 or outside UART mode; reads 0")]),
        r("MQ_FREE", 0x1118, 2, [
            _f("FREE", 0, 16, "R", MIDI_QUEUE_DEPTH, "free slots in the timestamped queue")]),
    ]


def _alias_registers():
    regs = [Register("WALLCLK_A", POSITION_PAGE + 0x30, 4, alias_of="WALLCLK",
                     doc="position-page alias of WALLCLK")]
    for n in range(NUM_STREAMS):
        regs.append(Register(f"SD{n}LPIB_A", POSITION_PAGE + STREAM_BASE + 4 +
                             STREAM_STRIDE * n, 4, alias_of=stream_reg("LPIB", n),
                             group=f"sd{n}", doc=f"position-page alias of SD{n}LPIB"))
    return regs


def _build():
    regs = _global_registers()
    for n in range(NUM_STREAMS):
        regs += _stream_registers(n)
    regs += _midi_registers()
    regs += _alias_registers()
    return RegisterMap(sorted(regs, key=lambda r: r.offset))


REGMAP = _build()
