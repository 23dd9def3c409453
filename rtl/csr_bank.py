"""Register bank elaborated from the register-map definition (:mod:`rtl.regmap`).

Each field becomes a small port bundle according to its access type, in the style of
amaranth-soc's ``csr.reg``:

=========  ========================================================================
``R``      ``r_data`` (In): value read
``RW``     ``data`` (Out): stored value
``RW1C``   ``data`` (Out), ``set`` (In): hardware sets bits, writing 1 clears them
``RWA``    ``w_data``/``w_stb`` (Out): the write request; ``r_data`` (In): value read
=========  ========================================================================

Every register also has ``w_stb`` and ``r_stb`` (Out) pulses for side effects such as pops on
read. Byte strobes are honoured: only the bytes enabled in ``w_strb`` change.

Inside, the stored fields are not separate registers: all RW fields live in one wide register
and all RW1C fields in another, laid out by register group, and the bus address is decoded
once into one-hot word strobes. A simulator then evaluates a handful of processes per clock for
the whole bank instead of a few per field, and synthesis shares the decode. A write stores each
byte lane of a field under that lane's strobe, which maps onto the flip-flops' clock enables.
"""

from amaranth.hdl import Module, Signal, Cat, Const
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .checked import CheckedComponent

from .regmap import REGMAP

__all__ = ["CSRBusSignature", "RegisterBank"]


class CSRBusSignature(wiring.Signature):
    """Simple register bus, initiator side: word ``addr``; read data one cycle after ``r_stb``."""

    def __init__(self, addr_width):
        self.addr_width = addr_width
        super().__init__({
            "addr": Out(addr_width),
            "r_stb": Out(1),
            "r_data": In(32),
            "w_stb": Out(1),
            "w_data": Out(32),
            "w_strb": Out(4),
        })


def _field_signature(f, reset):
    if f.access == "R":
        return wiring.Signature({"r_data": In(f.width)})
    if f.access == "RW":
        return wiring.Signature({"data": Out(f.width, init=reset)})
    if f.access == "RW1C":
        return wiring.Signature({"data": Out(f.width, init=reset), "set": In(f.width)})
    return wiring.Signature({"r_data": In(f.width), "w_data": Out(f.width), "w_stb": Out(1)})


def _register_signature(reg, resets):
    members = {f.name: Out(_field_signature(f, resets.get((reg.name, f.name), f.reset)))
               for f in reg.fields}
    members["w_stb"] = Out(1)
    members["r_stb"] = Out(1)
    return wiring.Signature(members)


class RegisterBank(CheckedComponent):
    """All registers of ``regmap`` behind one :class:`CSRBusSignature` target port.

    ``clear`` has one bit per register group (``groups``): while a bit is high, the storage of
    that group's fields returns to its reset value (CRST and SRST).

    ``resets`` overrides the reset value of stored (RW, RW1C) fields whose default depends on
    an elaboration parameter, as ``{(register, field): value}`` (MIDI_DIV from the clock)."""

    def __init__(self, regmap=REGMAP, addr_width=14, resets=None):
        self.regmap = regmap
        self.groups = tuple(dict.fromkeys(r.group for r in regmap))
        self.registers = [r for r in regmap if r.alias_of is None]
        self.resets = self._check_resets(regmap, dict(resets or {}))
        super().__init__({
            "bus": In(CSRBusSignature(addr_width)),
            "clear": In(len(self.groups)),
            "fields": Out(wiring.Signature({r.name: Out(_register_signature(r, self.resets))
                                            for r in self.registers})),
        })

    @classmethod
    def check_parameters(cls, regmap=REGMAP, addr_width=14, resets=None):
        cls._check_resets(regmap, dict(resets or {}))

    @staticmethod
    def _check_resets(regmap, resets):
        for (name, field), value in resets.items():
            f = regmap[name].field(field)
            if f.access not in ("RW", "RW1C"):
                raise ValueError(f"reset override of {name}.{field}: a {f.access} field has "
                                 f"no storage in the bank")
            if not isinstance(value, int) or not 0 <= value < (1 << f.width):
                raise ValueError(f"reset override {value!r} of {name}.{field} does not fit "
                                 f"{f.width} bits")
        return resets

    def reset_value(self, reg, f):
        """Reset value of field ``f`` of register ``reg`` in this bank (after overrides)."""
        return self.resets.get((reg.name, f.name), f.reset)

    def reg(self, name):
        """The port bundle of register ``name``."""
        return getattr(self.fields, name)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        words = self.regmap.words()
        word_index = {offset: i for i, offset in enumerate(words)}
        rw = _Storage(self, "RW")
        w1c = _Storage(self, "RW1C")

        # One-hot word decode, once for reads and once for writes: the per-register strobes
        # and every field's write are then slices of these (no decode per field).
        w_hit = Signal(len(words))
        r_hit = Signal(len(words))
        wmask = Signal(32)      # the written bits: byte strobes spread to bits
        m.d.comb += wmask.eq(Cat(*[bus.w_strb[i].replicate(8) for i in range(4)]))
        for stb, hit in ((bus.w_stb, w_hit), (bus.r_stb, r_hit)):
            with m.If(stb):
                with m.Switch(bus.addr):
                    for offset, i in word_index.items():
                        with m.Case(offset >> 2):
                            m.d.comb += hit[i].eq(1)

        # hardware sets RW1C bits every cycle; a write (below) overrides this, a clear wins
        m.d.sync += w1c.value.eq(w1c.value | w1c.cat(lambda fp: fp.set))
        read_value = {}
        for reg in self.registers:
            port = self.reg(reg.name)
            i = word_index[reg.offset & ~3]
            lane = reg.offset & 3
            m.d.comb += [port.w_stb.eq(w_hit[i] & bus.w_strb[lane:lane + reg.size].any()),
                         port.r_stb.eq(r_hit[i])]
            parts = []
            for f in reg.fields:
                fp = getattr(port, f.name)
                if f.access in ("RW", "RW1C"):
                    m.d.comb += fp.data.eq((rw if f.access == "RW" else w1c).of(reg, f))
                    parts.append((f, fp.data))
                elif f.access == "RWA":
                    # the request: w_data is the bus data (meaningful only with w_stb)
                    bits = slice(8 * lane + f.lsb, 8 * lane + f.lsb + f.width)
                    m.d.comb += [fp.w_data.eq(bus.w_data[bits]),
                                 fp.w_stb.eq(w_hit[i] & wmask[bits].any())]
                    parts.append((f, fp.r_data))
                else:
                    parts.append((f, fp.r_data))
            read_value[reg.name] = self._fields_value(reg, parts)

        with m.If(bus.w_stb):
            with m.Switch(bus.addr):
                for word_offset, regs in words.items():
                    with m.Case(word_offset >> 2):
                        for reg in regs:
                            if reg.alias_of is None:
                                self._write(m, reg, wmask, rw, w1c)

        # CRST/SRST: last assignment wins, so reset beats a write in the same cycle
        for g, group in enumerate(self.groups):
            for store in (rw, w1c):
                lo, hi = store.group_span(group)
                if hi > lo:
                    with m.If(self.clear[g]):
                        m.d.sync += store.value[lo:hi].eq(store.init >> lo)

        # read mux: assemble every word from the registers (and aliases) that live in it
        with m.If(bus.r_stb):
            m.d.sync += bus.r_data.eq(0)
            with m.Switch(bus.addr):
                for word_offset, regs in words.items():
                    with m.Case(word_offset >> 2):
                        m.d.sync += bus.r_data.eq(self._word(regs, read_value))
        return m

    def _write(self, m, reg, wmask, rw, w1c):
        """Statements for a write hitting ``reg``'s word, honouring the byte strobes.

        An RW field is written byte lane by byte lane, each piece under its lane's strobe,
        rather than merged with the old value through a bit mask: the strobe then becomes the
        flip-flops' enable and their data input is the bus data itself (no LUT per bit)."""
        port = self.reg(reg.name)
        for f in reg.fields:
            fp = getattr(port, f.name)
            lsb = 8 * (reg.offset & 3) + f.lsb      # the field's first bit on the bus
            if f.access == "RW":
                for lo, hi in _byte_pieces(lsb, f.width):
                    with m.If(self.bus.w_strb[lo // 8]):
                        m.d.sync += rw.of(reg, f)[lo - lsb:hi - lsb].eq(self.bus.w_data[lo:hi])
            elif f.access == "RW1C":
                fw = self.bus.w_data[lsb:lsb + f.width]
                fm = wmask[lsb:lsb + f.width]       # the field's enabled bits
                m.d.sync += w1c.of(reg, f).eq((fp.data & ~(fw & fm)) | fp.set)

    @staticmethod
    def _fields_value(reg, parts):
        pieces, pos = [], 0
        for f, sig in sorted(parts, key=lambda p: p[0].lsb):
            if f.lsb > pos:
                pieces.append(Const(0, f.lsb - pos))
            pieces.append(sig)
            pos = f.lsb + f.width
        if pos < reg.width:
            pieces.append(Const(0, reg.width - pos))
        return Cat(*pieces)

    @staticmethod
    def _word(regs, read_value):
        # a full Cat (gaps as constants) rather than slice assignments: simulators such as
        # Icarus never evaluate the constant-only processes that slices would leave behind
        parts, pos = [], 0
        for reg in sorted(regs, key=lambda r: r.offset):
            lane = 8 * (reg.offset & 3)
            if lane > pos:
                parts.append(Const(0, lane - pos))
            parts.append(read_value[reg.alias_of or reg.name])
            pos = lane + reg.width
        if pos < 32:
            parts.append(Const(0, 32 - pos))
        return Cat(*parts)


def _byte_pieces(lsb, width):
    """The bit ranges ``(lo, hi)`` into which byte boundaries cut ``[lsb, lsb + width)``."""
    cuts = [lsb, *range(8 * (lsb // 8 + 1), lsb + width, 8), lsb + width]
    return list(zip(cuts, cuts[1:]))


class _Storage:
    """The stored fields of one access type (RW or RW1C) of a bank, as one wide register:
    grouped by register group (so that a CRST or SRST clears one slice), then by register.
    Simulators evaluate one process for all of them instead of one per field."""

    def __init__(self, bank, access):
        self.bank = bank
        self.slices = {}                # (register name, field name) -> (lsb, width)
        self.spans = {}                 # group -> (lo, hi)
        init, pos = 0, 0
        for group in bank.groups:
            lo = pos
            for reg in bank.registers:
                if reg.group != group:
                    continue
                for f in reg.fields:
                    if f.access == access:
                        self.slices[(reg.name, f.name)] = (pos, f.width)
                        init |= bank.reset_value(reg, f) << pos
                        pos += f.width
            self.spans[group] = (lo, pos)
        self.init = init
        self.value = Signal(max(pos, 1), init=init, name=f"store_{access.lower()}")

    def of(self, reg, f):
        """The slice holding field ``f`` of register ``reg``."""
        lsb, width = self.slices[(reg.name, f.name)]
        return self.value[lsb:lsb + width]

    def group_span(self, group):
        """``(lo, hi)``: the bits of ``group``'s fields."""
        return self.spans[group]

    def cat(self, member):
        """``member(field port)`` of every field, placed like the storage."""
        ports = []
        for (reg_name, f_name), _ in sorted(self.slices.items(), key=lambda kv: kv[1][0]):
            ports.append(member(getattr(self.bank.reg(reg_name), f_name)))
        return Cat(*ports)
