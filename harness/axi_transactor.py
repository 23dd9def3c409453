"""The HDL half of the host-memory AXI4 slave: a burst transactor in the testbench wrapper.

Python (:class:`cosim.axi_slave.AxiMemorySlave`) runs once per burst, not once per beat: the
transactor does every handshake and beat in HDL and raises ``<p>_tx_req`` when it needs Python:

=========  ================================================================================
kind 0     read: ``<p>_tx_addr``/``<p>_tx_beats`` of an AR the DUT is offering. Python puts
           the burst in ``<p>_tx_rdata`` (beat ``i`` in bits ``[i*DW +: DW]``) and the RRESP
           in ``<p>_tx_resp``; only then is AR accepted and the beats sent.
kind 1     write: AW was accepted and every W beat taken into ``<p>_tx_wdata``/``<p>_tx_wstrb``.
           Python stores it and puts the BRESP in ``<p>_tx_resp``; then B is sent.
kind 2     pause refill for channel ``<p>_tx_chan`` (0..4 = aw, w, b, ar, r): Python draws 64
           values from that channel's pause generator into ``<p>_tx_pause`` (bit 0 first).
=========  ================================================================================

Python answers by toggling ``<p>_tx_go``. A channel whose bit is set in ``<p>_tx_pause_on``
takes one pause bit per cycle in which the transactor offers READY or VALID on it (a set bit
holds it low that cycle); a channel whose bit is clear never pauses. Toggling ``<p>_tx_flush``
drops the pause bits not yet used. VALID, once offered, stays up until the handshake (AXI).

``<p>_tx_enable`` (0 at time 0) hands the DUT's slave-side inputs to the transactor from the next
clock on; while it is 0 they come from the wrapper's Python-driven registers, so a pure-Python
model (cocotbext-axi's ``AxiRam``) can serve the port instead.
"""

from __future__ import annotations

from .backpressure import AXI_CHANNELS

__all__ = ["PAUSE_BITS", "KIND_READ", "KIND_WRITE", "KIND_REFILL", "transactor_ports",
           "transactor_verilog"]

#: Pause bits delivered per refill.
PAUSE_BITS = 64
# Channel numbers of ``<p>_tx_chan`` and bits of ``<p>_tx_pause_on``: indices in AXI_CHANNELS.
KIND_READ, KIND_WRITE, KIND_REFILL = 0, 1, 2

#: DUT inputs the transactor drives (slave side of the AXI4 port), by suffix.
DRIVEN = ("awready", "wready", "bid", "bresp", "bvalid", "arready", "rid", "rdata", "rresp",
          "rlast", "rvalid")
#: DUT outputs it reads.
SAMPLED = ("awaddr", "awlen", "awvalid", "wdata", "wstrb", "wvalid", "bready", "araddr",
           "arlen", "arvalid", "rready")

_IDLE, _RD_WAIT, _RD_AR, _RD_DATA, _WR_AW, _WR_DATA, _WR_WAIT, _WR_B, _REFILL = range(9)


def transactor_ports(ports, prefix: str) -> bool:
    """True if ``ports`` (``(name, direction, width)``) has a whole AXI4 master ``prefix``."""
    have = {n: d for n, d, _ in ports}
    return (all(have.get(f"{prefix}_{s}") == "input" for s in DRIVEN) and
            all(have.get(f"{prefix}_{s}") == "output" for s in SAMPLED))


def _decl(width: int) -> str:
    return "" if width == 1 else f"[{width - 1}:0] "


def transactor_verilog(prefix: str, widths: dict, beats: int, clock: str, reset: str):
    """``(lines, select, drive)``: Verilog lines for the tb module body, the register that
    selects the transactor (``<p>_tx_enable`` one clock later), and for every DUT input it drives (full port name) the transactor's expression.

    ``widths`` maps port suffixes to widths; ``clock``/``reset`` are the DUT's own clock and
    reset nets in the wrapper; ``beats`` is the longest burst the transactor holds."""
    p = f"{prefix}_tx"
    dw = widths["rdata"]
    if widths["wdata"] != dw or dw % 8:
        raise ValueError(f"{prefix}: read and write data must be the same whole number of bytes")
    aw = widths["araddr"]
    bw = beats * dw
    state_w = 4
    beat_w = 9                     # any AXI4 burst length (1..256), so none is truncated
    names = []

    def declare(name, width, comment=""):
        names.append(f"{p}_{name}")
        return f"  reg {_decl(width)}{p}_{name}{comment};"

    def rd(name, width):
        return declare(name, width, " /*verilator public_flat_rd*/")

    def rw(name, width):
        return declare(name, width, " /*verilator public_flat_rw*/")

    reg = declare

    lines = [
        "",
        f"  // ---- {prefix}: burst transactor for cosim.axi_slave (see harness.axi_transactor) ----",
        rw("enable", 1), rw("go", 1), rw("flush", 1), rw("rdata", bw), rw("resp", 2),
        rw("pause", PAUSE_BITS), rw("pause_on", len(AXI_CHANNELS)),
        rd("req", 1), rd("kind", 2), rd("chan", 3), rd("addr", aw), rd("beats", beat_w),
        rd("wdata", bw), rd("wstrb", bw // 8),
        reg("on", 1), reg("state", state_w), reg("after", state_w), reg("go_seen", 1), reg("flush_seen", 1),
        reg("beat", beat_w),
        reg("arready", 1), reg("awready", 1), reg("wready", 1), reg("rvalid", 1),
        reg("rlast", 1), reg("bvalid", 1), reg("rdata_q", dw), reg("rresp_q", 2),
        reg("bresp_q", 2),
    ]
    for ch in AXI_CHANNELS:
        lines.append(reg(f"mask_{ch}", PAUSE_BITS))
        lines.append(reg(f"left_{ch}", 7))
    # an initial block, like the wrapper's own inputs: a value Python writes at time 0 wins
    lines.append("  initial begin")
    lines += [f"    {name} = 0;" for name in names]
    lines.append("  end")

    def sig(s):
        return f"{prefix}_{s}"

    def attempt(ch, state, offer, withhold):
        """Code that takes one pause bit of ``ch`` and runs ``offer(paused_expr)``, or asks
        Python for more bits (running ``withhold``) when the channel has none left."""
        i = AXI_CHANNELS.index(ch)
        on = f"{p}_pause_on[{i}]"
        return [
            f"if (!{on} || {p}_left_{ch} != 7'd0) begin",
            f"  if ({on}) begin {p}_mask_{ch} <= {p}_mask_{ch} >> 1; "
            f"{p}_left_{ch} <= {p}_left_{ch} - 7'd1; end",
            *("  " + line for line in offer(f"({on} & {p}_mask_{ch}[0])")),
            "end else begin",
            *("  " + line for line in withhold),
            f"  {p}_kind <= 2'd{KIND_REFILL}; {p}_chan <= 3'd{i}; "
            f"{p}_after <= {state_w}'d{state}; {p}_state <= {state_w}'d{_REFILL};",
            f"  {p}_req <= 1'b1;      // last: Icarus runs the callback at this update",
            "end",
        ]

    def offer_r(beat):
        return attempt("r", _RD_DATA, lambda paused: [
            f"{p}_rvalid <= !{paused};",
            f"{p}_rdata_q <= {p}_rdata[({beat}) * {dw} +: {dw}];",
            f"{p}_rlast <= ({beat}) == {p}_beats - 1'b1;",
        ], [f"{p}_rvalid <= 1'b0;"])

    offer_w = attempt("w", _WR_DATA, lambda paused: [f"{p}_wready <= !{paused};"],
                      [f"{p}_wready <= 1'b0;"])
    offer_b = attempt("b", _WR_B, lambda paused: [f"{p}_bvalid <= !{paused};"],
                      [f"{p}_bvalid <= 1'b0;"])
    go = f"{p}_go != {p}_go_seen"
    answered = f"{p}_go_seen <= {p}_go; {p}_req <= 1'b0;"

    def indent(block, n):
        return [" " * n + line for line in block]

    body = [
        # the port mux follows a flop, not the VPI-written enable: Verilator re-evaluates logic
        # fed by VPI-writable signals in every time step
        f"  always @(posedge {clock}) {p}_on <= {p}_enable;",
        f"  always @(posedge {clock}) begin",
        f"    if ({reset} || !{p}_on) begin",
        f"      {p}_state <= {state_w}'d{_IDLE}; {p}_req <= 1'b0;",
        f"      {p}_go_seen <= {p}_go; {p}_flush_seen <= {p}_flush;",
        f"      {p}_arready <= 1'b0; {p}_awready <= 1'b0; {p}_wready <= 1'b0;",
        f"      {p}_rvalid <= 1'b0; {p}_rlast <= 1'b0; {p}_bvalid <= 1'b0;",
        "    end else begin",
        f"      case ({p}_state)",
        f"      {state_w}'d{_IDLE}:",
        f"        if ({sig('arvalid')}) begin",
        f"          {p}_addr <= {sig('araddr')}; {p}_beats <= {sig('arlen')} + 1'b1;",
        f"          {p}_kind <= 2'd{KIND_READ}; {p}_state <= {state_w}'d{_RD_WAIT}; "
        f"{p}_req <= 1'b1;",
        f"        end else if ({sig('awvalid')}) {p}_state <= {state_w}'d{_WR_AW};",
        f"      {state_w}'d{_RD_WAIT}:",
        f"        if ({go}) begin {answered} {p}_rresp_q <= {p}_resp; "
        f"{p}_state <= {state_w}'d{_RD_AR}; end",
        f"      {state_w}'d{_RD_AR}:",
        f"        if ({p}_arready) begin      // AR taken at this edge",
        f"          {p}_arready <= 1'b0; {p}_beat <= 0; {p}_state <= {state_w}'d{_RD_DATA};",
        *indent(offer_r("0"), 10),
        "        end else begin",
        *indent(attempt("ar", _RD_AR, lambda paused: [f"{p}_arready <= !{paused};"], []), 10),
        "        end",
        f"      {state_w}'d{_RD_DATA}:",
        f"        if ({p}_rvalid && {sig('rready')}) begin",
        f"          if ({p}_beat == {p}_beats - 1'b1) begin",
        f"            {p}_rvalid <= 1'b0; {p}_rlast <= 1'b0; {p}_state <= {state_w}'d{_IDLE};",
        "          end else begin",
        f"            {p}_beat <= {p}_beat + 1'b1;",
        *indent(offer_r(f"{p}_beat + 1'b1"), 12),
        "          end",
        f"        end else if (!{p}_rvalid) begin",
        *indent(offer_r(f"{p}_beat"), 10),
        "        end",
        f"      {state_w}'d{_WR_AW}:",
        f"        if ({p}_awready) begin      // AW taken at this edge",
        f"          {p}_awready <= 1'b0; {p}_addr <= {sig('awaddr')}; "
        f"{p}_beats <= {sig('awlen')} + 1'b1;",
        f"          {p}_beat <= 0; {p}_state <= {state_w}'d{_WR_DATA};",
        *indent(offer_w, 10),
        "        end else begin",
        *indent(attempt("aw", _WR_AW, lambda paused: [f"{p}_awready <= !{paused};"], []), 10),
        "        end",
        f"      {state_w}'d{_WR_DATA}:",
        f"        if ({p}_wready && {sig('wvalid')}) begin",
        f"          {p}_wdata[{p}_beat * {dw} +: {dw}] <= {sig('wdata')};",
        f"          {p}_wstrb[{p}_beat * {dw // 8} +: {dw // 8}] <= {sig('wstrb')};",
        f"          if ({p}_beat == {p}_beats - 1'b1) begin",
        f"            {p}_wready <= 1'b0; {p}_kind <= 2'd{KIND_WRITE};",
        f"            {p}_state <= {state_w}'d{_WR_WAIT}; {p}_req <= 1'b1;",
        "          end else begin",
        f"            {p}_beat <= {p}_beat + 1'b1;",
        *indent(offer_w, 12),
        "          end",
        "        end else begin",
        *indent(offer_w, 10),
        "        end",
        f"      {state_w}'d{_WR_WAIT}:",
        f"        if ({go}) begin",
        f"          {answered} {p}_bresp_q <= {p}_resp; {p}_state <= {state_w}'d{_WR_B};",
        "        end",
        f"      {state_w}'d{_WR_B}:",
        f"        if ({p}_bvalid && {sig('bready')}) begin",
        f"          {p}_bvalid <= 1'b0; {p}_state <= {state_w}'d{_IDLE};",
        f"        end else if (!{p}_bvalid) begin",
        *indent(offer_b, 10),
        "        end",
        f"      {state_w}'d{_REFILL}:",
        f"        if ({go}) begin",
        f"          {answered} {p}_state <= {p}_after;",
        f"          case ({p}_chan)",
        *[f"          3'd{i}: begin {p}_mask_{ch} <= {p}_pause; "
          f"{p}_left_{ch} <= 7'd{PAUSE_BITS}; end" for i, ch in enumerate(AXI_CHANNELS)],
        "          default: ;",
        "          endcase",
        "        end",
        "      default: ;",
        "      endcase",
        "    end",
        f"    if ({p}_flush != {p}_flush_seen) begin   // forget unused pause bits",
        f"      {p}_flush_seen <= {p}_flush;",
        "      " + " ".join(f"{p}_left_{ch} <= 7'd0;" for ch in AXI_CHANNELS),
        "    end",
        "  end",
    ]
    lines += body
    drive = {
        "awready": f"{p}_awready", "wready": f"{p}_wready", "bvalid": f"{p}_bvalid",
        "bresp": f"{p}_bresp_q", "bid": f"{widths['bid']}'d0",
        "arready": f"{p}_arready", "rvalid": f"{p}_rvalid", "rdata": f"{p}_rdata_q",
        "rresp": f"{p}_rresp_q", "rlast": f"{p}_rlast",
        "rid": f"{widths['rid']}'d0",
    }
    return lines, f"{p}_on", {f"{prefix}_{s}": drive[s] for s in DRIVEN}
