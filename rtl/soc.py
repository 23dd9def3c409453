"""Top levels: ``audio_soc`` (controller + codec) and ``controller`` (the controller with the
codec link's pins), with flat port names in cocotbext-axi style (``s_axil_awaddr``,
``m_axi_rdata``...)."""

from amaranth.hdl import Module, ResetInserter
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, Flow

from .codec import Codec
from .checked import CheckedComponent
from .controller import Controller, frame_clocks_for

__all__ = ["AudioSoC", "ControllerTop", "flat_members"]


def flat_members(prefix, interface):
    """Flatten an interface into ``{prefix_name: In/Out(shape)}`` with the directions it has
    on the component that owns it."""
    return {f"{prefix}_{name}": (Out if sub.flow == Flow.Out else In)(sub.shape)
            for name, sub in interface.signature.members.items()}


class _FlatTop(CheckedComponent):
    """A component whose AXI buses are exposed as flat, prefixed ports, with the controller's
    interrupt and MIDI pins. Its clock is checked before it exists (:mod:`rtl.checked`)."""

    @classmethod
    def check_parameters(cls, clk_hz=12_288_000):
        frame_clocks_for(clk_hz)

    def _bind(self, m, controller):
        for prefix in ("s_axil", "m_axi"):
            bus = getattr(controller, prefix)
            for name, sub in bus.signature.members.items():
                flat, port = getattr(self, f"{prefix}_{name}"), getattr(bus, name)
                if sub.flow == Flow.Out:
                    m.d.comb += flat.eq(port)
                else:
                    m.d.comb += port.eq(flat)
        m.d.comb += [self.irq.eq(controller.irq), self.midi_tx.eq(controller.midi_tx),
                     controller.midi_rx.eq(self.midi_rx)]


def _common_ports(controller):
    return {**flat_members("s_axil", controller.s_axil),
            **flat_members("m_axi", controller.m_axi),
            "irq": Out(1), "midi_tx": Out(1, init=1), "midi_rx": In(1, init=1)}


class AudioSoC(_FlatTop):
    """Controller and codec joined by the serial link: the ``audio_soc`` Verilog top."""

    def __init__(self, clk_hz=12_288_000):
        self.clk_hz = clk_hz
        self.controller = Controller(clk_hz)
        super().__init__({
            **_common_ports(self.controller),
            "dac_l": Out(24), "dac_r": Out(24), "dac_valid": Out(1),
            "adc_l": In(24), "adc_r": In(24), "adc_strobe": Out(1),
            "jack_sense": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        ctl = self.controller
        m.submodules.controller = ctl
        m.submodules.codec = codec = ResetInserter(ctl.codec_reset)(Codec())
        self._bind(m, ctl)
        wiring.connect(m, ctl.codec_cmd, codec.cmd)
        wiring.connect(m, codec.resp, ctl.codec_resp)
        wiring.connect(m, codec.unsol, ctl.codec_unsol)
        m.d.comb += [
            codec.bclk.eq(ctl.i2s_bclk), codec.lrclk.eq(ctl.i2s_lrclk),
            codec.sdo.eq(ctl.i2s_dout), ctl.i2s_din.eq(codec.sdi),
            self.dac_l.eq(codec.dac_l), self.dac_r.eq(codec.dac_r),
            self.dac_valid.eq(codec.dac_valid),
            codec.adc_l.eq(self.adc_l), codec.adc_r.eq(self.adc_r),
            self.adc_strobe.eq(codec.adc_strobe),
            codec.jack_sense.eq(self.jack_sense),
        ]
        return m


class ControllerTop(_FlatTop):
    """The controller alone: the ``controller`` Verilog top.

    ``link_*`` carry this project's codec link (a TDM frame of four tagged 32-bit slots per
    48 kHz period on I2S-style pins, see :mod:`rtl.i2s_link`), not standard I2S: the other end
    must be a codec speaking that link (such as :class:`rtl.codec.Codec` in another device).
    The codec command/response streams are ports too. For a standard I2S DAC/ADC use
    ``audio_soc`` and a Philips I2S serializer on its DAC/ADC ports, as the board tops do
    (:mod:`rtl.pmod_i2s`)."""

    def __init__(self, clk_hz=12_288_000):
        self.clk_hz = clk_hz
        self.controller = Controller(clk_hz)
        super().__init__({
            **_common_ports(self.controller),
            "link_bclk": Out(1), "link_lrclk": Out(1), "link_dout": Out(1), "link_din": In(1),
            "codec_cmd_data": Out(32), "codec_cmd_valid": Out(1), "codec_cmd_ready": In(1),
            "codec_resp_data": In(32), "codec_resp_valid": In(1), "codec_resp_ready": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        ctl = self.controller
        m.submodules.controller = ctl
        self._bind(m, ctl)
        m.d.comb += [
            self.link_bclk.eq(ctl.i2s_bclk), self.link_lrclk.eq(ctl.i2s_lrclk),
            self.link_dout.eq(ctl.i2s_dout), ctl.i2s_din.eq(self.link_din),
            self.codec_cmd_data.eq(ctl.codec_cmd.payload),
            self.codec_cmd_valid.eq(ctl.codec_cmd.valid),
            ctl.codec_cmd.ready.eq(self.codec_cmd_ready),
            ctl.codec_resp.payload.eq(self.codec_resp_data),
            ctl.codec_resp.valid.eq(self.codec_resp_valid),
            self.codec_resp_ready.eq(ctl.codec_resp.ready),
            ctl.codec_unsol.valid.eq(0),    # an external codec's responses are not wired out
        ]
        return m
