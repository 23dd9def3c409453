"""The Topology miniport: the codec's mixer as KS nodes, built by walking its widget graph.

At Init the miniport asks codec 0 for its function group's widgets with parameter verbs (widget
capabilities, amplifier capabilities, pin capabilities, connection lists, configuration
defaults) and turns what it finds into a KS topology; nothing about the node list is hard-coded:

- an amplifier becomes a VOLUME node followed by a MUTE node: an output amp after its widget,
  an input amp on the edge from connection i into its widget;
- a mixer widget becomes a SUM node, and a widget with several connections that picks one (a
  selector, or an input converter) a MUX node whose input pin i is connection i;
- output converters (DACs) take their data from the filter's "wave render" bridge pin, input
  converters (ADCs) hand theirs to the "wave capture" bridge pin (both wired to the wave
  filter's bridge pins by the adapter); pin widgets become the filter's jack pins, with the jack
  description from their configuration default and presence from pin sense;
- our codec's vendor verb 0xF80 (peak meter of a mixer widget) adds a PEAKMETER node after a
  mixer's SUM node when the vendor id is ours.

Volume: KSPROPERTY_AUDIO_VOLUMELEVEL in 1/65536 dB maps to the amp's steps from its capability
word (offset = 0 dB index, step size in 0.25 dB): a request goes to the nearest step, an exact
half step rounds toward the lower gain, and values beyond the range clamp to its ends; GET
answers the step actually set. Mute, mux and volume values are cached by the driver (that is
what survives D3: :meth:`power_change_notify` writes them all back on the way up).

Jack changes: every pin with presence detect and unsolicited capability gets an unsolicited
tag; the controller's ISR hands each response to :meth:`MiniportTopology.on_unsolicited`, the
service group's DPC then raises KSEVENT_PINCAPS_JACKINFOCHANGE on that pin.
"""

from __future__ import annotations

from dataclasses import dataclass

from portdrv.filter import (FILTER_PIN, Communication, DataFlow, FilterDescriptor,
                            NodeConnection, NodeDescriptor, NodeType, PinDescriptor)
from portdrv.power import DevicePowerState
from portdrv.properties import (ALL_CHANNELS, VOLUME_UNITS_PER_DB, AudioProperty,
                                AutomationTable, EventItem, EventVerb, JackDescription,
                                JackProperty, KsEvent, PropertyItem, PropertyVerb,
                                SteppingRange)
from portdrv.service_group import ServiceGroup
from portdrv.status import NTSTATUS

from .hda import verb

__all__ = ["MiniportTopology", "AmpCaps", "PIN_WAVE_RENDER", "PIN_WAVE_CAPTURE",
           "OUR_VENDOR_ID"]

#: the topology filter's first two pins: the ends of the wave filter's bridge pins
PIN_WAVE_RENDER, PIN_WAVE_CAPTURE = 0, 1
#: our codec (the vendor verb 0xF80 peak meter exists only on it)
OUR_VENDOR_ID = 0x1D17_A001

# parameter ids of verb 0xF00 (HDA)
P_WIDGET_CAPS, P_PIN_CAPS = 0x09, 0x0C
P_IN_AMP_CAPS, P_CONN_LEN, P_OUT_AMP_CAPS = 0x0D, 0x0E, 0x12
# widget types (widget caps [23:20])
W_OUTPUT, W_INPUT, W_MIXER, W_SELECTOR, W_PIN = 0, 1, 2, 3, 4
PEAK_MAX = 0x7FFF_FFFF

_COLORS = {0x1: 0x000000, 0x2: 0x808080, 0x3: 0x0000FF, 0x4: 0x00FF00, 0x5: 0xFF0000,
           0x6: 0xFFA500, 0x7: 0xFFFF00, 0x8: 0x800080, 0x9: 0xFFC0CB, 0xE: 0xFFFFFF}
_DEVICES = {0x0: "line out", 0x1: "speaker", 0x2: "headphones", 0x3: "cd", 0x4: "spdif out",
            0x8: "line in", 0x9: "aux", 0xA: "microphone", 0xB: "telephony"}
_CONNECTORS = {0x1: "3.5mm jack", 0x2: "6.35mm jack", 0x3: "atapi", 0x4: "rca",
               0x5: "optical", 0x6: "other digital", 0x7: "other analog"}
_LOCATIONS = {0x1: "rear", 0x2: "front", 0x3: "left", 0x4: "right", 0x5: "top",
              0x6: "bottom"}


@dataclass(frozen=True)
class AmpCaps:
    """An amplifier capability word (HDA AmpCaps): ``offset`` is the 0 dB step index."""
    offset: int
    num_steps: int          # highest step index
    step_quarter_db: int    # step size in 0.25 dB
    mute: bool

    @classmethod
    def decode(cls, word):
        return cls(word & 0x7F, (word >> 8) & 0x7F, ((word >> 16) & 0x7F) + 1,
                   bool(word >> 31 & 1))

    @property
    def step_units(self):
        """One step in 1/65536 dB."""
        return self.step_quarter_db * VOLUME_UNITS_PER_DB // 4

    @property
    def range(self):
        u = self.step_units
        return SteppingRange(-self.offset * u, (self.num_steps - self.offset) * u, u)

    def index(self, level):
        """The step for ``level`` (1/65536 dB): nearest, halves toward lower gain, clamped."""
        u = self.step_units
        rel = -((u // 2 - level) // u)          # ceil((level - u/2) / u)
        return min(max(self.offset + rel, 0), self.num_steps)

    def level(self, index):
        return (index - self.offset) * self.step_units


class _Amp:
    """One codec amplifier: ``nid``, output or input ``index``, its caps and cached state."""

    def __init__(self, nid, output, index, caps, channels):
        self.nid, self.output, self.index, self.caps = nid, output, index, caps
        self.channels = channels
        self.gain = [caps.offset] * channels        # every amp resets to 0 dB unmuted
        self.muted = [False] * channels

    def verb(self, channel):
        side = (1 << 13) if channel == 0 else (1 << 12)
        if self.channels == 1:
            side = (1 << 13) | (1 << 12)
        where = (1 << 15) if self.output else ((1 << 14) | (self.index << 8))
        return verb(self.nid, 0x3, where | side | (int(self.muted[channel]) << 7)
                    | self.gain[channel])


@dataclass
class _Widget:
    nid: int
    type: int
    caps: int
    connections: tuple
    pin_caps: int = 0
    config: int = 0


class MiniportTopology:
    """IMiniportTopology for codec 0 on our controller (see the module docstring)."""

    def __init__(self, controller):
        self.controller = controller
        self.codec = controller.codec
        self.port = None
        self.service_group = None
        self.descriptor = None
        self.widgets = {}
        self.amps = []
        self._nodes, self._connections, self._pins = [], [], []
        self._node_amp = {}          # node -> _Amp (volume and mute nodes)
        self._mux = {}               # node -> [nid, selected]
        self._peak = {}              # node -> [mixer nid, pending (left, right) or None]
        self._jacks = {}             # filter pin -> widget
        self._unsol_tags = {}        # tag -> filter pin
        #: clients that enabled an event, by (event, node, pin)
        self.event_clients = {}
        self._unsol_pending = []

    # ---- Init: walk the codec ----------------------------------------------------------------

    async def init(self, port, resources):
        self.port = port
        self.service_group = ServiceGroup(resources.scheduler)
        self.service_group.add_member(self)
        status = await self._walk()
        if status != NTSTATUS.SUCCESS:
            return status
        self.controller.set_unsolicited_handler(self.on_unsolicited)
        await self._enable_unsolicited()
        return NTSTATUS.SUCCESS

    def get_description(self):
        return self.descriptor

    async def _connections_of(self, nid, caps):
        if not caps & 0x100:
            return ()
        length = await self.codec.parameter(nid, P_CONN_LEN)
        count, long_form = length & 0x7F, bool(length & 0x80)
        per_word, width = (2, 16) if long_form else (4, 8)
        conns = []
        for offset in range(0, count, per_word):
            word = await self.controller.command(verb(nid, 0xF02, offset))
            for i in range(min(per_word, count - offset)):
                conns.append((word >> (width * i)) & ((1 << width) - 1) & 0x7FFF)
        return tuple(conns)

    async def _walk(self):
        """Read every widget of the audio function group the controller's codec discovery
        found (its node ranges and vendor id)."""
        if not self.codec.function_groups:
            return NTSTATUS.DEVICE_CONFIGURATION_ERROR
        afg, widgets = next(iter(self.codec.function_groups.items()))
        afg_caps = {p: await self.codec.parameter(afg, p)
                    for p in (P_IN_AMP_CAPS, P_OUT_AMP_CAPS)}
        amp_caps = {}
        for nid in widgets:
            caps = await self.codec.parameter(nid, P_WIDGET_CAPS)
            w = _Widget(nid, (caps >> 20) & 0xF, caps, await self._connections_of(nid, caps))
            if w.type == W_PIN:
                w.pin_caps = await self.codec.parameter(nid, P_PIN_CAPS)
                w.config = await self.controller.command(verb(nid, 0xF1C))
            for param, bit in ((P_OUT_AMP_CAPS, 0x4), (P_IN_AMP_CAPS, 0x2)):
                if caps & bit:
                    word = await self.codec.parameter(nid, param) if caps & 0x8 else afg_caps[param]
                    amp_caps[nid, param] = AmpCaps.decode(word)
            self.widgets[nid] = w
        self._build(amp_caps, self.codec.vendor_id == OUR_VENDOR_ID)
        return NTSTATUS.SUCCESS

    # ---- building the KS graph ---------------------------------------------------------------

    def _node(self, type_, name, automation=AutomationTable()):
        self._nodes.append(NodeDescriptor(type_, name, automation))
        return len(self._nodes) - 1

    def _connect(self, src, to_node, to_pin=0):
        node, pin = src
        self._connections.append(NodeConnection(node, pin, to_node, to_pin))

    def _pin(self, desc):
        self._pins.append(desc)
        return len(self._pins) - 1

    def _amp_nodes(self, src, amp, name):
        """VOLUME then MUTE for ``amp`` after ``src``; returns the new output point."""
        self.amps.append(amp)
        change = (EventItem(KsEvent.CONTROL_CHANGE, self._event_handler),)
        volume = self._node(NodeType.VOLUME, f"{name} volume", AutomationTable((
            PropertyItem(AudioProperty.VOLUMELEVEL, PropertyVerb.GET | PropertyVerb.SET |
                         PropertyVerb.BASIC_SUPPORT, self._volume_property),), change))
        mute = self._node(NodeType.MUTE, f"{name} mute", AutomationTable((
            PropertyItem(AudioProperty.MUTE, PropertyVerb.GET | PropertyVerb.SET,
                         self._mute_property),), change))
        self._node_amp[volume] = self._node_amp[mute] = amp
        self._connect(src, volume)
        self._connect((volume, 0), mute)
        return (mute, 0)

    def _build(self, amp_caps, ours):
        self._pin(PinDescriptor("wave render", DataFlow.IN, Communication.BRIDGE, (), 0))
        self._pin(PinDescriptor("wave capture", DataFlow.OUT, Communication.BRIDGE, (), 0))
        outputs = {}

        def stereo(w):
            return 2 if w.caps & 1 else 1

        def name(w):
            kind = {W_OUTPUT: "dac", W_INPUT: "adc", W_MIXER: "mixer", W_SELECTOR: "selector",
                    W_PIN: _DEVICES.get((w.config >> 20) & 0xF, "pin")}.get(w.type, "widget")
            return f"{kind} {w.nid:#04x}"

        def output_of(nid, path=()):
            # the (node, pin) the widget's output comes out of, building it on first use
            if nid in outputs:
                return outputs[nid]
            w = self.widgets.get(nid)
            if w is None or nid in path:
                return None
            ins = []
            for i, c in enumerate(w.connections):
                src = output_of(c, path + (nid,))
                if src is None:
                    continue
                if (nid, P_IN_AMP_CAPS) in amp_caps:
                    amp = _Amp(nid, False, i, amp_caps[nid, P_IN_AMP_CAPS], stereo(w))
                    src = self._amp_nodes(src, amp, f"{name(w)} input {i}")
                ins.append((i, src))
            out = None
            if w.type == W_OUTPUT:
                out = (FILTER_PIN, PIN_WAVE_RENDER)
            elif w.type == W_MIXER:
                node = self._node(NodeType.SUM, name(w))
                for i, src in ins:
                    self._connect(src, node, i)
                out = (node, 0)
                if ours:
                    peak = self._node(NodeType.PEAKMETER, f"{name(w)} peak", AutomationTable((
                        PropertyItem(AudioProperty.PEAKMETER, PropertyVerb.GET |
                                     PropertyVerb.BASIC_SUPPORT, self._peak_property),)))
                    self._peak[peak] = [nid, None]
                    self._connect(out, peak)
                    out = (peak, 0)
            elif len(ins) > 1:
                node = self._node(NodeType.MUX, name(w), AutomationTable((
                    PropertyItem(AudioProperty.MUX_SOURCE, PropertyVerb.GET | PropertyVerb.SET,
                                 self._mux_property),),
                    (EventItem(KsEvent.CONTROL_CHANGE, self._event_handler),)))
                self._mux[node] = [nid, 0]
                for i, src in ins:
                    self._connect(src, node, i)
                out = (node, 0)
            elif ins:
                out = ins[0][1]
            elif w.type == W_PIN and w.pin_caps & 0x20:
                out = (FILTER_PIN, self._jack_pin(w, DataFlow.IN, name(w)))
            if out is not None and (nid, P_OUT_AMP_CAPS) in amp_caps:
                amp = _Amp(nid, True, 0, amp_caps[nid, P_OUT_AMP_CAPS], stereo(w))
                out = self._amp_nodes(out, amp, name(w))
            outputs[nid] = out
            return out

        for nid, w in sorted(self.widgets.items()):
            if w.type == W_INPUT:
                src = output_of(nid)
                if src is not None:
                    self._connect(src, FILTER_PIN, PIN_WAVE_CAPTURE)
            elif w.type == W_PIN and w.pin_caps & 0x10 and w.connections:
                src = output_of(nid)
                if src is not None:
                    pin = self._jack_pin(w, DataFlow.OUT, name(w))
                    self._connect(src, FILTER_PIN, pin)
        self.descriptor = FilterDescriptor(tuple(self._pins), tuple(self._nodes),
                                           tuple(self._connections))

    def _jack_pin(self, w, flow, name):
        events = ()
        if w.pin_caps & 0x4 and w.caps & 0x80:     # presence detect + unsolicited capable
            events = (EventItem(KsEvent.JACK_INFO_CHANGE, self._event_handler),)
        pin = self._pin(PinDescriptor(
            name, flow, Communication.BRIDGE, (), 0, _DEVICES.get((w.config >> 20) & 0xF, ""),
            AutomationTable((PropertyItem(JackProperty.DESCRIPTION, PropertyVerb.GET,
                                          self._jack_property),), events)))
        self._jacks[pin] = w
        return pin

    # ---- hardware state ----------------------------------------------------------------------

    async def _enable_unsolicited(self):
        self._unsol_tags = {}
        for pin, w in sorted(self._jacks.items()):
            if self._pins[pin].automation.has_event(KsEvent.JACK_INFO_CHANGE):
                tag = len(self._unsol_tags) + 1
                self._unsol_tags[tag] = pin
                await self.controller.command(verb(w.nid, 0x708, 0x80 | tag))
        await self.controller.enable_unsolicited(bool(self._unsol_tags))

    async def _write_amp(self, amp, channels):
        for ch in channels:
            await self.controller.command(amp.verb(ch))

    async def restore(self):
        """Write every cached control back (after the codec lost its state)."""
        for amp in self.amps:
            await self._write_amp(amp, range(amp.channels))
        for nid, selected in self._mux.values():
            await self.controller.command(verb(nid, 0x701, selected))
        await self._enable_unsolicited()

    async def power_change_notify(self, state):
        """IPowerNotify: the cache is the saved context; write it back when power returns."""
        if state == DevicePowerState.D0:
            await self.restore()

    # ---- event handler -------------------------------------------------------------------------

    def _event_handler(self, request):
        """PCEVENT_ITEM handler, consulted by the port on every enable and disable: a jack
        event can only be enabled while its pin has an unsolicited-response tag (the codec
        reports plugging then), else DEVICE_NOT_READY; clients per target are counted."""
        key = (request.event, request.node, request.pin)
        if request.verb == EventVerb.REMOVE:
            self.event_clients[key] = max(0, self.event_clients.get(key, 0) - 1)
            return NTSTATUS.SUCCESS
        if request.event == KsEvent.JACK_INFO_CHANGE and \
                request.pin not in self._unsol_tags.values():
            return NTSTATUS.DEVICE_NOT_READY
        self.event_clients[key] = self.event_clients.get(key, 0) + 1
        return NTSTATUS.SUCCESS

    # ---- property handlers -------------------------------------------------------------------

    @staticmethod
    def _channels(amp, channel):
        if channel == ALL_CHANNELS:
            return range(amp.channels)
        return [channel] if isinstance(channel, int) and 0 <= channel < amp.channels else None

    async def _volume_property(self, request):
        amp = self._node_amp[request.node]
        if request.verb == PropertyVerb.BASIC_SUPPORT:
            return NTSTATUS.SUCCESS, tuple(amp.caps.range for _ in range(amp.channels))
        status, index = await self._amp_control(request, amp, amp.gain, int, amp.caps.index)
        return status, None if index is None else amp.caps.level(index)

    async def _mute_property(self, request):
        amp = self._node_amp[request.node]
        return await self._amp_control(request, amp, amp.muted, bool, bool)

    async def _amp_control(self, request, amp, settings, kind, to_setting):
        """GET or SET one of ``amp``'s per-channel settings (``settings`` is its gains or its
        mutes): GET answers the first channel asked; SET stores ``to_setting(value)`` for
        every channel asked, writes the amp and raises CONTROL_CHANGE if anything changed."""
        channels = self._channels(amp, request.channel)
        if channels is None:
            return NTSTATUS.INVALID_PARAMETER, None
        if request.verb == PropertyVerb.GET:
            return NTSTATUS.SUCCESS, settings[channels[0]]
        if not isinstance(request.value, kind):
            return NTSTATUS.INVALID_PARAMETER, None
        value = to_setting(request.value)
        changed = any(settings[ch] != value for ch in channels)
        for ch in channels:
            settings[ch] = value
        await self._write_amp(amp, channels)
        if changed:
            self.port.generate_event_list(KsEvent.CONTROL_CHANGE, node=request.node)
        return NTSTATUS.SUCCESS, value

    async def _mux_property(self, request):
        mux = self._mux[request.node]
        if request.verb == PropertyVerb.GET:
            return NTSTATUS.SUCCESS, mux[1]
        inputs = {c.to_pin for c in self._connections if c.to_node == request.node}
        if request.value not in inputs:
            return NTSTATUS.INVALID_PARAMETER, None
        changed = mux[1] != request.value
        mux[1] = request.value
        await self.controller.command(verb(mux[0], 0x701, request.value))
        if changed:
            self.port.generate_event_list(KsEvent.CONTROL_CHANGE, node=request.node)
        return NTSTATUS.SUCCESS, request.value

    async def _peak_property(self, request):
        peak = self._peak[request.node]
        if request.verb == PropertyVerb.BASIC_SUPPORT:
            return NTSTATUS.SUCCESS, (SteppingRange(0, PEAK_MAX, 1),) * 2
        if request.channel not in (0, 1):
            return NTSTATUS.INVALID_PARAMETER, None
        # one F80 reads and resets both channels: keep the other channel's value for its read
        if peak[1] is None or peak[1][request.channel] is None:
            word = await self.controller.command(verb(peak[0], 0xF80))
            peak[1] = [(word >> 16) << 15, (word & 0xFFFF) << 15]
        value, peak[1][request.channel] = peak[1][request.channel], None
        return NTSTATUS.SUCCESS, value

    async def _jack_property(self, request):
        w = self._jacks[request.pin]
        present = True
        if w.pin_caps & 0x4:
            present = bool(await self.controller.command(verb(w.nid, 0xF09)) >> 31)
        cfg = w.config
        return NTSTATUS.SUCCESS, JackDescription(
            channel_mapping=0x3, color=_COLORS.get((cfg >> 12) & 0xF, 0),
            connection_type=_CONNECTORS.get((cfg >> 16) & 0xF, "unknown"),
            location=_LOCATIONS.get((cfg >> 24) & 0xF, "unknown"), is_connected=present)

    # ---- jack events: ISR then DPC -----------------------------------------------------------

    def on_unsolicited(self, response):
        """From the controller's ISR: note the response, the DPC raises the event."""
        pin = self._unsol_tags.get(response >> 26)
        if pin is not None:
            self._unsol_pending.append(pin)
            self.service_group.request_service()

    async def service(self):
        """The DPC: tell clients which jacks changed."""
        pending, self._unsol_pending = self._unsol_pending, []
        for pin in dict.fromkeys(pending):
            self.port.generate_event_list(KsEvent.JACK_INFO_CHANGE, pin=pin)
