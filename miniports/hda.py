"""Our controller and codec as driver objects, one class per hardware object (corundum style).

- :class:`HdaController`: the controller's global registers: reset handshake, immediate
  command interface, codec discovery, DMA position buffer, interrupt enables and the ISR that
  acknowledges stream interrupts and hands their status to the stream that owns them, drains
  codec unsolicited responses and calls the MIDI UART's handler while MIS is set
  (:mod:`miniports.mpu401` is the UART's driver object).
- :class:`HdaStreamEngine`: one stream DMA engine (SDn): stream reset, BDL/CBL/LVI/FMT
  programming, RUN/stop, positions and error counters.
- :class:`Bdl`: a buffer descriptor list in contiguous memory.
- :class:`HdaCodec`: codec 0 behind the immediate command interface: discovery by parameter
  verbs, converter stream/format routing.

All register I/O goes through one :class:`miniports.registers.RegisterBlock`; memory through
the HAL's :class:`portdrv.hal.PhysicalMemory`. Times are 100-ns units.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from portdrv.status import NTSTATUS
from rtl.regmap import (BDL_ENTRY_BYTES, INPUT_STREAMS, OUTPUT_STREAMS, POSITION_SLOT_BYTES,
                        REGMAP, format_supported, stream_reg)

from .registers import RegisterBlock

__all__ = ["HdaController", "HdaStreamEngine", "HdaCodec", "Bdl", "fmt_value", "verb",
           "describe_verb", "VERB_NAMES",
           "wave_format_to_fmt", "BDL_ENTRY_BYTES", "LINK_FRAME_RATE",
           "POSITION_SLOT_BYTES", "NO_DEVICE"]

#: what a register read returns when the device does not answer (a PCI read nobody claims;
#: the simulated host bus answers it so in D3: cosim.regwindow.UNANSWERED_READ)
NO_DEVICE = 0xFFFF_FFFF
#: link frames per second: the base rate of the 48 kHz family
LINK_FRAME_RATE = 48000
#: timeouts of register handshakes (100-ns units)
HANDSHAKE_TIMEOUT = 1000

# codec node ids (rtl/codec.py) and parameter ids of verb 0xF00
NID_ROOT, NID_AFG, NID_DAC_A, NID_DAC_B, NID_ADC = 0x00, 0x01, 0x02, 0x03, 0x04
PARAM_VENDOR_ID, PARAM_NODE_COUNT, PARAM_PCM = 0x00, 0x04, 0x0A


def fmt_value(channels=2, bits=16, mult=1, div=1):
    """SDnFMT for a 48 kHz-family format (rate = 48000 * mult / div)."""
    code = {8: 0, 16: 1, 20: 2, 24: 3, 32: 4}.get(bits)
    if code is None:
        raise ValueError(f"unsupported sample size {bits} bits")
    if not 1 <= channels <= 16:
        raise ValueError(f"unsupported channel count {channels}")
    if not (1 <= mult <= 8 and 1 <= div <= 8):
        raise ValueError(f"unsupported rate multiple/divisor {mult}/{div}")
    return REGMAP["SD0FMT"].encode(CHAN=channels - 1, BITS=code, DIV=div - 1, MULT=mult - 1,
                                   BASE=0)


def verb(nid, command, payload=0):
    """Codec verb for codec 0: 12-bit command with 8-bit payload, or 4-bit with 16-bit."""
    if command <= 0xF:
        return (nid << 20) | (command << 16) | (payload & 0xFFFF)
    return (nid << 20) | (command << 8) | (payload & 0xFF)


#: names of the verbs this codec answers (rtl/codec.py), for traces
VERB_NAMES = {0xF00: "GET_PARAMETER", 0xF02: "GET_CONN_LIST", 0x701: "SET_CONN_SELECT",
              0xF01: "GET_CONN_SELECT", 0x706: "SET_STREAM_CHANNEL",
              0xF06: "GET_STREAM_CHANNEL", 0x2: "SET_FORMAT", 0xA: "GET_FORMAT",
              0x3: "SET_AMP_GAIN_MUTE", 0xB: "GET_AMP_GAIN_MUTE", 0x707: "SET_PIN_CONTROL",
              0xF07: "GET_PIN_CONTROL", 0xF09: "GET_PIN_SENSE", 0x708: "SET_UNSOL_ENABLE",
              0xF08: "GET_UNSOL_ENABLE", 0xF1C: "GET_CONFIG_DEFAULT", 0xF80: "GET_PEAK_METER"}
#: the 4-bit verbs (their 16-bit payload takes bits 15..0)
SHORT_VERBS = (0x2, 0x3, 0xA, 0xB)


def describe_verb(word, response):
    """One line for a verb and its response: codec, node, verb name, payload, response."""
    nid = (word >> 20) & 0xFF
    short = (word >> 16) & 0xF
    if short in SHORT_VERBS:
        command, payload = short, word & 0xFFFF
    else:
        command, payload = (word >> 8) & 0xFFF, word & 0xFF
    name = VERB_NAMES.get(command, f"VERB_{command:03X}")
    return (f"cad {word >> 28} nid {nid:#04x} {name} payload {payload:#x} "
            f"-> {response:#010x}")


def wave_format_to_fmt(fmt):
    """The SDnFMT value for a :class:`portdrv.formats.WaveFormat`, or None if the controller
    cannot carry it: 16-bit samples in 16-bit containers or 24-bit in 32-bit containers, 1 or 2
    channels, a rate of 48000 * m / d (m, d in 1..8) no faster than 48 kHz."""
    container = fmt.bits_per_sample
    valid = fmt.valid_bits
    if (valid, container) == (16, 16):
        bits = 16
    elif (valid, container) == (24, 32):
        bits = 24
    else:
        return None
    if fmt.channels not in (1, 2):
        return None
    for div in range(1, 9):
        for mult in range(1, div + 1):
            if LINK_FRAME_RATE * mult == fmt.samples_per_sec * div:
                value = fmt_value(fmt.channels, bits, mult, div)
                return value if format_supported(value) else None
    return None


class Bdl:
    """A buffer descriptor list of up to ``capacity`` entries in contiguous memory."""

    def __init__(self, memory, capacity):
        if not 1 <= capacity <= 256:
            raise ValueError(f"BDL capacity {capacity} is outside 1..256")
        self.memory = memory
        self.capacity = capacity
        self.address = memory.allocate_contiguous(capacity * BDL_ENTRY_BYTES, align=128)
        if self.address is None:
            raise MemoryError("no contiguous memory for a BDL")
        self.entries = []          # [(address, length, ioc)]

    def set_entries(self, entries):
        """Write every entry (address, length, ioc) from index 0."""
        entries = list(entries)
        if len(entries) > self.capacity:
            raise ValueError(f"{len(entries)} BDL entries do not fit {self.capacity}")
        self.entries = []
        for i, entry in enumerate(entries):
            self.set_entry(i, *entry)

    def set_entry(self, index, address, length, ioc):
        data = (address.to_bytes(8, "little") + length.to_bytes(4, "little")
                + (1 if ioc else 0).to_bytes(4, "little"))
        self.memory.write(self.address + BDL_ENTRY_BYTES * index, data)
        while len(self.entries) <= index:
            self.entries.append(None)
        self.entries[index] = (address, length, bool(ioc))

    @property
    def length(self):
        return sum(e[1] for e in self.entries if e)

    def free(self):
        if self.address is not None:
            self.memory.free(self.address)
            self.address = None


class HdaStreamEngine:
    """Stream DMA engine SDn (rtl/stream_dma.py; registers in docs/registers.md)."""

    def __init__(self, controller, n):
        self.controller = controller
        self.regs = controller.regs
        self.n = n
        self.is_input = n in INPUT_STREAMS
        self.fifo_size = 0              # bytes; FIFOS is valid once FMT is written

    def reg(self, name):
        return stream_reg(name, self.n)

    async def reset(self):
        """SRST handshake; every stream register returns to its default."""
        ctl = self.reg("CTL")
        await self.regs.write(ctl, REGMAP[ctl].encode(SRST=1))
        await self.regs.poll(ctl, "SRST", 1, timeout_100ns=HANDSHAKE_TIMEOUT)
        await self.regs.write(ctl, 0)
        await self.regs.poll(ctl, "SRST", 0, timeout_100ns=HANDSHAKE_TIMEOUT)
        self.fifo_size = await self.regs.read(self.reg("FIFOS")) + 1

    async def program(self, bdl, fmt, tag, *, cbl=None, lvi=None, queue=False, zero=True,
                      ioce=True, feie=False, deie=True, lvbie=False):
        """Program a reset engine for ``bdl`` (Linux order: BDL, CBL, LVI, FMT, MODE, CTL)."""
        regs = self.regs
        await regs.write(self.reg("BDPL"), bdl.address)
        await regs.write(self.reg("BDPU"), 0)
        await regs.write(self.reg("CBL"), bdl.length if cbl is None else cbl)
        await regs.write(self.reg("LVI"), len(bdl.entries) - 1 if lvi is None else lvi)
        await self.set_format(fmt)
        mode = REGMAP[self.reg("MODE")]
        await regs.write(mode.name, mode.encode(QUEUE=int(queue), ZERO=int(zero)))
        ctl = REGMAP[self.reg("CTL")]
        await regs.write(ctl.name, ctl.encode(STRM=tag, IOCE=int(ioce), FEIE=int(feie),
                                              DEIE=int(deie), LVBIE=int(lvbie)))

    async def set_format(self, fmt):
        """Write SDnFMT; FIFOS is valid from then on, so read the FIFO size too."""
        await self.regs.write(self.reg("FMT"), fmt)
        self.fifo_size = await self.regs.read(self.reg("FIFOS")) + 1

    async def set_lvi(self, lvi):
        await self.regs.write(self.reg("LVI"), lvi)

    async def run(self):
        await self.regs.write_fields(self.reg("CTL"), RUN=1)

    async def stop(self, timeout_100ns=10_000):
        """Clear RUN and wait until it reads back 0 (the engine stops at a frame boundary)."""
        await self.regs.write_fields(self.reg("CTL"), RUN=0)
        await self.regs.poll(self.reg("CTL"), "RUN", 0, timeout_100ns=timeout_100ns)

    async def lpib(self):
        return await self.regs.read(self.reg("LPIB"))

    async def civ(self):
        return await self.regs.read(self.reg("CIV"))

    async def xrun(self):
        """Frames lost to underrun/overrun since the last stream reset."""
        return await self.regs.read(self.reg("XRUN"))

    async def status(self):
        return await self.regs.read_fields(self.reg("STS"))

    def dma_position(self):
        """The DMA position the engine last wrote to the position buffer (no bus access)."""
        return self.controller.dma_position(self.n)


class HdaCodec:
    """Codec 0 behind the controller's immediate command interface."""

    def __init__(self, controller, address=0):
        self.controller = controller
        self.address = address
        self.vendor_id = None
        #: function group nid -> the range of its widget nids
        self.function_groups = {}
        self.nodes = ()
        self.pcm_caps = 0

    async def parameter(self, nid, param):
        return await self.controller.command(verb(nid, 0xF00, param))

    async def discover(self):
        """Read the vendor id and the function group's node range (parameter verbs)."""
        self.vendor_id = await self.parameter(NID_ROOT, PARAM_VENDOR_ID)
        root = await self.parameter(NID_ROOT, PARAM_NODE_COUNT)
        first, count = (root >> 16) & 0xFF, root & 0xFF
        groups = {}
        for fg in range(first, first + count):
            sub = await self.parameter(fg, PARAM_NODE_COUNT)
            groups[fg] = range((sub >> 16) & 0xFF, ((sub >> 16) & 0xFF) + (sub & 0xFF))
            self.pcm_caps = await self.parameter(fg, PARAM_PCM)
        self.function_groups = groups
        self.nodes = tuple(nid for widgets in groups.values() for nid in widgets)
        return self.vendor_id

    async def set_converter_format(self, nid, fmt):
        await self.controller.command(verb(nid, 0x2, fmt))

    async def set_converter_stream(self, nid, tag, channel=0):
        """Point converter ``nid`` at stream ``tag`` (0 stops it)."""
        await self.controller.command(verb(nid, 0x706, (tag << 4) | channel))


@dataclass
class StreamInterrupt:
    """What the ISR read from one stream's status register (already acknowledged)."""
    stream: int
    bcis: bool
    fifoe: bool
    dese: bool
    lvbci: bool


class HdaController:
    """The controller: global registers, codec, position buffer, interrupt routing.

    ``resources`` is the adapter's :class:`portdrv.hal.ResourceList`. :attr:`streams` holds one
    :class:`HdaStreamEngine` per SDn; :meth:`claim_stream` hands them to miniport streams.
    """

    def __init__(self, resources):
        self.resources = resources
        self.memory = resources.memory
        self.regs = RegisterBlock(resources.registers, resources.scheduler)
        self.tracer = resources.scheduler.tracer
        #: the controller clock (WALLCLK's rate) in Hz, exact as a fraction; 0 if unknown
        self.clock_hz = Fraction(resources.parameters.get("clock_hz", 0))
        self.streams = {n: HdaStreamEngine(self, n) for n in INPUT_STREAMS + OUTPUT_STREAMS}
        self.codec = HdaCodec(self)
        self.position_buffer = None
        self._owners = {}          # stream number -> interrupt handler
        self._tags_in_use = set()
        self.interrupt_counts = {n: 0 for n in self.streams}
        self.unsolicited_count = 0
        self._unsolicited_handler = None
        self._midi_handler = None
        self.midi_interrupts = 0
        #: what the driver last wrote to INTCTL (the context restored after D3)
        self._intctl = {}
        #: the adapter's InterruptSync once the interrupt is connected (see :meth:`synchronized`)
        self.interrupt_sync = None

    # ---- bring-up ---------------------------------------------------------------------------

    async def reset(self):
        """CRST handshake; returns SUCCESS, or DEVICE_NOT_READY if no codec woke up."""
        regs = self.regs
        await regs.write("GCTL", 0)
        await regs.poll("GCTL", "CRST", 0, timeout_100ns=HANDSHAKE_TIMEOUT)
        await regs.write("GCTL", 1)
        await regs.poll("GCTL", "CRST", 1, timeout_100ns=HANDSHAKE_TIMEOUT)
        try:
            await regs.poll("STATESTS", "SDIWAKE", 1, timeout_100ns=HANDSHAKE_TIMEOUT)
        except TimeoutError:
            return NTSTATUS.DEVICE_NOT_READY
        await regs.write("STATESTS", 1)     # RW1C
        return NTSTATUS.SUCCESS

    async def command(self, word):
        """Send one codec verb through the immediate command interface; return the response."""
        regs = self.regs
        await regs.poll("ICS", "ICB", 0, timeout_100ns=HANDSHAKE_TIMEOUT)
        await regs.write("ICOI", word)
        await regs.write("ICS", REGMAP["ICS"].encode(ICB=1, IRV=1))
        await regs.poll("ICS", "IRV", 1, timeout_100ns=HANDSHAKE_TIMEOUT)
        resp = await regs.read("IRII")
        await regs.write("ICS", REGMAP["ICS"].encode(IRV=1))
        if self.tracer.enabled:
            self.tracer.event("miniport", "VERB", describe_verb(word, resp))
        return resp

    async def enable_position_buffer(self):
        if self.position_buffer is None:
            self.position_buffer = self.memory.allocate_contiguous(128, align=128)
            if self.position_buffer is None:
                raise MemoryError("no memory for the DMA position buffer")
        self.memory.write(self.position_buffer, bytes(128))
        await self.regs.write("DPLBASE", self.position_buffer | 1)

    def dma_position(self, n):
        data = self.memory.read(self.position_buffer + POSITION_SLOT_BYTES * n, 4)
        return int.from_bytes(data, "little")

    async def start(self):
        """Reset the controller, discover codec 0, enable the position buffer and the global
        interrupt. Returns an NTSTATUS."""
        status = await self.reset()
        if status != NTSTATUS.SUCCESS:
            return status
        gcap = await self.regs.read_fields("GCAP")
        if gcap["ISS"] != len(INPUT_STREAMS) or gcap["OSS"] != len(OUTPUT_STREAMS):
            return NTSTATUS.DEVICE_CONFIGURATION_ERROR
        await self.codec.discover()
        await self.enable_position_buffer()
        await self._set_interrupt_enable("GIE", True)
        return NTSTATUS.SUCCESS

    async def resume(self):
        """Bring the controller back after it lost its registers (D3): reset, position
        buffer, and the interrupt enables the drivers had set. Returns an NTSTATUS."""
        status = await self.reset()
        if status != NTSTATUS.SUCCESS:
            return status
        await self.enable_position_buffer()
        await self._write_intctl()
        return NTSTATUS.SUCCESS

    async def _write_intctl(self):
        await self.regs.write("INTCTL", REGMAP["INTCTL"].encode(**self._intctl))

    # ---- stream ownership and interrupts ---------------------------------------------------

    def claim_stream(self, capture, handler):
        """A free engine of the direction (SD0 for capture, SD1 then SD2 for render) and a
        free stream tag; ``handler(StreamInterrupt)`` runs from the ISR. None if all busy."""
        candidates = INPUT_STREAMS if capture else OUTPUT_STREAMS
        for n in candidates:
            if n not in self._owners:
                tag = next(t for t in range(1, 16) if t not in self._tags_in_use)
                self._owners[n] = handler
                self._tags_in_use.add(tag)
                return self.streams[n], tag
        return None

    def release_stream(self, engine, tag):
        self._owners.pop(engine.n, None)
        self._tags_in_use.discard(tag)

    async def _set_interrupt_enable(self, field, enable):
        self._intctl[field] = int(enable)
        await self._write_intctl()

    async def set_stream_interrupt(self, n, enable):
        await self._set_interrupt_enable(f"SIE{n}", enable)

    def set_unsolicited_handler(self, handler):
        """``handler(response)`` runs from the ISR for each codec unsolicited response."""
        self._unsolicited_handler = handler

    async def enable_unsolicited(self, enable):
        """CIE: interrupt on codec unsolicited responses (queued in UNSOL)."""
        await self._set_interrupt_enable("CIE", enable)

    def set_midi_handler(self, handler):
        """``async handler()`` runs from the ISR while INTSTS.MIS is set (with MIE): it must
        read the MIDI data port until DSR reads 1, which is what drops MIS."""
        self._midi_handler = handler

    async def enable_midi_interrupt(self, enable):
        """MIE: interrupt while the MIDI data port has a byte to read."""
        await self._set_interrupt_enable("MIE", enable)

    def set_interrupt_sync(self, interrupt_sync):
        """The adapter hands over its InterruptSync once connected (None when disconnected)."""
        self.interrupt_sync = interrupt_sync

    async def synchronized(self, routine):
        """Run ``async routine()`` with the ISR held off (CallSynchronizedRoutine) and return
        its result; directly while no interrupt is connected."""
        if self.interrupt_sync is None:
            return await routine()
        return await self.interrupt_sync.call_synchronized_routine(
            lambda _sync, _context: routine())

    async def isr(self, interrupt_sync=None, context=None):
        """Acknowledge every pending stream cause and pass it to the stream's handler, drain
        codec unsolicited responses, and let the MIDI handler empty the MIDI data port.

        Returns SUCCESS if the device was interrupting (it claims the interrupt), else
        UNSUCCESSFUL. Loops until no cause is left, since the line is edge-delivered.
        """
        claimed = False
        sts_regs = {n: REGMAP[stream_reg("STS", n)] for n in self.streams}
        intsts_reg = REGMAP["INTSTS"]
        while True:
            intsts = await self.regs.read("INTSTS")
            if intsts == NO_DEVICE:
                # all ones: the device does not answer (powered off or gone); not ours (as
                # Linux's azx_interrupt does)
                return NTSTATUS.SUCCESS if claimed else NTSTATUS.UNSUCCESSFUL
            pending = [n for n in self.streams if intsts >> n & 1]
            cis = intsts_reg["CIS"].get(intsts) and self._intctl.get("CIE")
            # MIS reads 1 whatever MIE says: only an enabled cause is this interrupt's
            mis = intsts_reg["MIS"].get(intsts) and self._intctl.get("MIE")
            if not pending and not cis and not mis:
                return NTSTATUS.SUCCESS if claimed else NTSTATUS.UNSUCCESSFUL
            claimed = True
            if cis:
                await self._drain_unsolicited()
            if mis:
                self.midi_interrupts += 1
                await self._service_midi()
            for n in pending:
                reg = sts_regs[n]
                sts = reg.decode(await self.regs.read(reg.name))
                ack = {k: 1 for k in ("BCIS", "FIFOE", "DESE", "LVBCI") if sts[k]}
                if ack:
                    await self.regs.write(reg.name, reg.encode(**ack))
                self.interrupt_counts[n] += 1
                handler = self._owners.get(n)
                if handler is not None:
                    handler(StreamInterrupt(n, bool(sts["BCIS"]), bool(sts["FIFOE"]),
                                            bool(sts["DESE"]), bool(sts["LVBCI"])))

    async def _service_midi(self):
        if self._midi_handler is not None:
            await self._midi_handler()
            return
        # nobody wants input: drop it, or MIS would hold the line high for good
        while not await self.regs.read_field("MIDI_STAT", "DSR"):
            await self.regs.read("MIDI_DATA")

    async def _drain_unsolicited(self):
        """Pop UNSOL until it reads 0 (CIS clears with the last one)."""
        while True:
            response = await self.regs.read("UNSOL")
            if response == 0:
                return
            self.unsolicited_count += 1
            if self._unsolicited_handler is not None:
                self._unsolicited_handler(response)
