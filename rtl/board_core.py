"""Everything a board carries apart from its clock and pins: the ``audio_soc`` (controller and
codec), the UARTBone host bridge on the USB serial line, the block RAM the DMA reads, the I2S
master for a Pmod I2S2, the MIDI pins and activity LEDs. Board tops (:mod:`rtl.boards`) add the
PLL, the reset synchronizer and the pin mapping; the board simulation runs this core as is."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out, Flow

from .board_ram import BoardRam
from .midi import SerialRx, SerialTx
from .pmod_i2s import PmodI2S
from .soc import AudioSoC
from .uartbone import UartBone

__all__ = ["BoardCore", "uart_divisor", "LED_NAMES"]

#: what each LED shows (index = LED number)
LED_NAMES = ("bridge", "irq", "audio", "midi", "jack", "heartbeat")
#: received bytes buffered while the bridge waits for the bus
RX_FIFO_DEPTH = 16
#: an activity LED stays lit this many clocks (2^20 = 43 ms at 24.576 MHz) after its event
LED_STRETCH_BITS = 20
HEARTBEAT_BIT = 23


def uart_divisor(clk_hz, baud):
    """Clocks per bit of the host serial line (the nearest integer: 8 at 24.576 MHz for
    3 Mbaud, a 2.4 % fast line that 8N1 receivers sampling mid-bit tolerate)."""
    div = round(clk_hz / baud)
    if div < 4:
        raise ValueError(f"{baud} baud needs at least 4 clocks per bit; {clk_hz} Hz gives {div}")
    return div


def _connect_flat(m, prefix, soc, bus):
    """Join a wiring bus to the SoC's flat ``prefix_*`` ports, each driven by whichever side
    the SoC's port direction says."""
    for name in bus.signature.members:
        flat_name = f"{prefix}_{name}"
        flat, port = getattr(soc, flat_name), getattr(bus, name)
        soc_drives = soc.signature.members[flat_name].flow == Flow.Out
        m.d.comb += port.eq(flat) if soc_drives else flat.eq(port)


class _Stretch(wiring.Component):
    """``out`` stays high for 2^``bits`` clocks after each ``event``."""

    event: In(1)
    out: Out(1)

    def __init__(self, bits=LED_STRETCH_BITS):
        self.bits = bits
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        left = Signal(self.bits)
        with m.If(self.event):
            m.d.sync += left.eq(~0)
        with m.Elif(left != 0):
            m.d.sync += left.eq(left - 1)
        m.d.comb += self.out.eq(left != 0)
        return m


class BoardCore(wiring.Component):
    """The board's logic in the ``sync`` domain at ``clk_hz`` (48 kHz x 512, 24.576 MHz).

    Pins: ``uart_rx``/``uart_tx`` (host serial, 8N1 at ``baud``), ``i2s_*`` (Pmod I2S2: MCLK,
    LRCK, SCLK to both converters, SDIN to the DAC, SDOUT from the ADC), ``midi_tx``/``midi_rx``,
    ``jack_sense`` and ``leds`` (see :data:`LED_NAMES`)."""

    def __init__(self, clk_hz=24_576_000, baud=3_000_000, ram_bytes=64 * 1024,
                 timeout_clocks=None):
        self.clk_hz = clk_hz
        self.uart_div = uart_divisor(clk_hz, baud)
        self.soc = AudioSoC(clk_hz)
        self.ram = BoardRam(ram_bytes)
        self.i2s = PmodI2S(clk_hz)
        # LiteX's UARTBone gives a frame 100 ms; here that is the longest quiet gap in a frame
        self.bridge = UartBone(ram_bytes // 4, timeout_clocks or clk_hz // 10)
        super().__init__({
            "uart_rx": In(1, init=1), "uart_tx": Out(1, init=1),
            "i2s_mclk": Out(1), "i2s_lrck": Out(1), "i2s_sclk": Out(1), "i2s_sdin": Out(1),
            "i2s_sdout": In(1),
            "midi_tx": Out(1, init=1), "midi_rx": In(1, init=1),
            "jack_sense": In(1),
            "leds": Out(len(LED_NAMES)),
        })

    def elaborate(self, platform):
        m = Module()
        soc, ram, i2s, bridge = self.soc, self.ram, self.i2s, self.bridge
        m.submodules.soc, m.submodules.ram = soc, ram
        m.submodules.i2s, m.submodules.bridge = i2s, bridge

        m.submodules.uart_rx = rx = SerialRx()
        m.submodules.uart_tx = tx = SerialTx()
        m.submodules.rx_fifo = fifo = SyncFIFOBuffered(width=8, depth=RX_FIFO_DEPTH)
        m.d.comb += [rx.div.eq(self.uart_div), tx.div.eq(self.uart_div),
                     rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx),
                     fifo.w_data.eq(rx.data.payload), fifo.w_en.eq(rx.data.valid)]
        m.d.comb += [bridge.rx.payload.eq(fifo.r_data), bridge.rx.valid.eq(fifo.r_rdy),
                     fifo.r_en.eq(bridge.rx.ready)]
        wiring.connect(m, bridge.tx, tx.data)
        wiring.connect(m, bridge.ram, ram.host)
        _connect_flat(m, "s_axil", soc, bridge.axil)
        _connect_flat(m, "m_axi", soc, ram.axi)

        m.d.comb += [
            i2s.dac_l.eq(soc.dac_l), i2s.dac_r.eq(soc.dac_r), i2s.dac_valid.eq(soc.dac_valid),
            soc.adc_l.eq(i2s.adc_l), soc.adc_r.eq(i2s.adc_r),
            self.i2s_mclk.eq(i2s.mclk), self.i2s_lrck.eq(i2s.lrck),
            self.i2s_sclk.eq(i2s.sclk), self.i2s_sdin.eq(i2s.dac_sdin),
            i2s.adc_sdout.eq(self.i2s_sdout),
            self.midi_tx.eq(soc.midi_tx), soc.midi_rx.eq(self.midi_rx),
            soc.jack_sense.eq(self.jack_sense),
        ]

        heartbeat = Signal(HEARTBEAT_BIT + 1)
        m.d.sync += heartbeat.eq(heartbeat + 1)
        events = {
            "bridge": bridge.busy,
            "audio": soc.dac_valid & ((soc.dac_l != 0) | (soc.dac_r != 0)),
            "midi": ~soc.midi_tx | ~self.midi_rx,
        }
        for index, name in enumerate(LED_NAMES):
            if name in events:
                stretch = _Stretch()
                m.submodules[f"led_{name}"] = stretch
                m.d.comb += [stretch.event.eq(events[name]), self.leds[index].eq(stretch.out)]
        m.d.comb += [self.leds[LED_NAMES.index("irq")].eq(soc.irq),
                     self.leds[LED_NAMES.index("jack")].eq(self.jack_sense),
                     self.leds[LED_NAMES.index("heartbeat")].eq(heartbeat[-1])]
        return m
