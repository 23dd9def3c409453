"""The register bank's parts, wired together by :class:`rtl.csr_bank.RegisterBank`: the bus
decode into one-hot word strobes (:class:`WordDecoder`) and the stored fields
(:class:`FieldStorage`, laid out by :class:`StorageLayout`)."""

from amaranth.hdl import Module, Signal, Cat
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["WordDecoder", "StorageLayout", "FieldStorage"]


class WordDecoder(wiring.Component):
    """Decodes a register-bus access into one-hot word strobes, once for reads and once for
    writes: per-register strobes and every field's write are then slices of these (no decode
    per field).

    ``word_offsets`` are the byte offsets of the bank's words, in strobe bit order.

    Members
    -------
    addr : In(addr_width)
        The bus's word address.
    w_stb, r_stb : In(1)
        A write, a read.
    w_strb : In(4)
        The write's byte strobes.
    w_hit, r_hit : Out(len(word_offsets))
        One bit per word: written, read.
    w_mask : Out(32)
        The written bits: the byte strobes spread to bits.
    """

    def __init__(self, word_offsets, addr_width):
        self.word_offsets = tuple(word_offsets)
        n = len(self.word_offsets)
        super().__init__({"addr": In(addr_width), "w_stb": In(1), "r_stb": In(1),
                          "w_strb": In(4), "w_hit": Out(n), "r_hit": Out(n), "w_mask": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.w_mask.eq(Cat(*[self.w_strb[i].replicate(8) for i in range(4)]))
        for stb, hit in ((self.w_stb, self.w_hit), (self.r_stb, self.r_hit)):
            with m.If(stb):
                with m.Switch(self.addr):
                    for i, offset in enumerate(self.word_offsets):
                        with m.Case(offset >> 2):
                            m.d.comb += hit[i].eq(1)
        return m


class StorageLayout:
    """Where the stored fields of one access type (RW or RW1C) sit in one wide register:
    grouped by register group (so that a CRST or SRST clears one slice), then by register.
    Simulators evaluate one process for all of them instead of one per field.

    ``reset_value(reg, f)`` gives a field's reset value."""

    def __init__(self, registers, groups, access, reset_value):
        self.access = access
        self.slices = {}                # (register name, field name) -> (lsb, width)
        self.spans = {}                 # group -> (lo, hi)
        init, pos = 0, 0
        for group in groups:
            lo = pos
            for reg in registers:
                if reg.group != group:
                    continue
                for f in reg.fields:
                    if f.access == access:
                        self.slices[(reg.name, f.name)] = (pos, f.width)
                        init |= reset_value(reg, f) << pos
                        pos += f.width
            self.spans[group] = (lo, pos)
        self.init = init
        self.width = max(pos, 1)

    def of(self, value, reg, f):
        """The slice of ``value`` (laid out like the storage) holding field ``f`` of ``reg``."""
        lsb, width = self.slices[(reg.name, f.name)]
        return value[lsb:lsb + width]

    def group_span(self, group):
        """``(lo, hi)``: the bits of ``group``'s fields."""
        return self.spans[group]

    def fields(self):
        """``(register name, field name)`` of every stored field, from the lowest bits up."""
        return [key for key, _ in sorted(self.slices.items(), key=lambda kv: kv[1][0])]


class FieldStorage(wiring.Component):
    """The stored fields of a register bank: all RW fields in one wide register (``rw``), all
    RW1C fields in another (``rw1c``), laid out by :class:`StorageLayout`.

    A bus write changes only the bits its byte strobes enable; it writes RW bits and clears the
    RW1C bits written with 1. Hardware sets RW1C bits (``set``) every cycle, also in a written
    field. ``clear`` has one bit per group (``groups``): while high, the group's fields return
    to their reset values, whatever else happens that cycle.

    ``words`` maps each word's byte offset to the registers in it (as
    :meth:`rtl.regmap.RegisterMap.words`; aliases are skipped).

    Members
    -------
    addr, w_stb, w_data : In
        The bus's write: word address, strobe, data.
    w_mask : In(32)
        The written bits (:class:`WordDecoder`).
    set : In(rw1c_layout.width)
        RW1C bits set by hardware, laid out like ``rw1c``.
    clear : In(len(groups))
        Group resets.
    rw, rw1c : Out
        The stored fields.
    """

    def __init__(self, words, rw_layout, rw1c_layout, groups, addr_width):
        self.words = words
        self.rw_layout, self.rw1c_layout = rw_layout, rw1c_layout
        self.groups = tuple(groups)
        super().__init__({
            "addr": In(addr_width), "w_stb": In(1), "w_data": In(32), "w_mask": In(32),
            "set": In(rw1c_layout.width), "clear": In(len(self.groups)),
            "rw": Out(rw_layout.width, init=rw_layout.init),
            "rw1c": Out(rw1c_layout.width, init=rw1c_layout.init),
        })

    def elaborate(self, platform):
        m = Module()
        # hardware sets RW1C bits every cycle; a write (below) overrides this, a clear wins
        m.d.sync += self.rw1c.eq(self.rw1c | self.set)
        with m.If(self.w_stb):
            with m.Switch(self.addr):
                for word_offset, regs in self.words.items():
                    with m.Case(word_offset >> 2):
                        for reg in regs:
                            if reg.alias_of is None:
                                self._write(m, reg)
        # CRST/SRST: last assignment wins, so reset beats a write in the same cycle
        for g, group in enumerate(self.groups):
            for value, layout in ((self.rw, self.rw_layout), (self.rw1c, self.rw1c_layout)):
                lo, hi = layout.group_span(group)
                if hi > lo:
                    with m.If(self.clear[g]):
                        m.d.sync += value[lo:hi].eq(layout.init >> lo)
        return m

    def field(self, reg, f):
        """The stored bits of field ``f`` of register ``reg``."""
        if f.access == "RW":
            return self.rw_layout.of(self.rw, reg, f)
        return self.rw1c_layout.of(self.rw1c, reg, f)

    def _write(self, m, reg):
        """Statements for a write hitting ``reg``'s word, honouring the byte strobes."""
        lane = 8 * (reg.offset & 3)
        for f in reg.fields:
            if f.access not in ("RW", "RW1C"):
                continue
            stored = self.field(reg, f)
            fw = self.w_data[lane + f.lsb:lane + f.lsb + f.width]
            fm = self.w_mask[lane + f.lsb:lane + f.lsb + f.width]     # the field's enabled bits
            if f.access == "RW":
                m.d.sync += stored.eq((stored & ~fm) | (fw & fm))
            else:
                hw_set = self.rw1c_layout.of(self.set, reg, f)
                m.d.sync += stored.eq((stored & ~(fw & fm)) | hw_set)
