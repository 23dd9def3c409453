"""The HDL testbench top that wraps the design for cocotb.

The wrapper (module ``tb``) owns the clock and the reset, so no Python runs per clock cycle:

- ``clk`` rises in HDL once per period. Times are in ``timescale 1ns/1ps``, so the half
  period is rounded to a whole picosecond: ``half_ps = round(1e12 / (2 * clk_hz))`` and the
  simulated period is ``2 * half_ps``. At the default 12.288 MHz the half period is 40.690 ns and
  the period 81.380 ns (12.288031 MHz, +2.5 ppm).
- ``rst`` is high from time 0; the wrapper drops it at the :data:`RESET_CYCLES`-th DUT clock
  edge, so the DUT sees exactly that many edges in reset.
- Every other DUT input gets a reg of the same name, initialised at time 0 (``midi_rx`` idles high,
  everything else 0); Python (cocotbext-axi, device models) drives them afterwards. A value Python
  writes at time 0, before any await, wins over the initialisation on both simulators.
- Every DUT output gets a wire of the same name.
- Every AXI4 master port gets a burst transactor (:mod:`harness.axi_transactor`) that the Python
  slave (:mod:`cosim.axi_slave`) switches on; until then the port's inputs come from their regs.

Sampling semantics (why the DUT gets its own clock). Verilator evaluates a whole time step in
one go: with a clock made in HDL, a VPI value-change callback on ``clk`` runs only after the flops
have already taken the edge, so cocotb would see post-edge values at ``RisingEdge(clk)`` (Icarus
shows pre-edge values), and cocotbext-axi misses handshakes. So the DUT is clocked by
``clk__dut``, which rises :data:`SKEW_CLK_PS` after ``clk``, and each input port is fed by
``<name>__dut``, a flop clocked with the DUT: at DUT edge k the DUT sees what Python wrote at
``RisingEdge(clk)`` k-1. On both simulators Python then sees pre-edge values at
``RisingEdge(clk)``, and whatever it drives there reaches the DUT at the next edge: the usual
cocotb contract (a write made between two Python edges reaches the DUT one edge later).

Speed. cocotb's Verilator loop checks every value-change callback several times per time step,
and Verilator re-evaluates the design in every step in which something it reads changed. So one
process makes both clocks with two time steps per period: ``clk`` rises (and ``clk__dut`` falls)
at ``T``, and 1 ps later ``clk`` falls and ``clk__dut`` rises. ``clk`` is therefore a 1 ps pulse
and ``clk__dut`` is low for 1 ps per period: odd in a waveform viewer, but every DUT signal
changes on the rising edge of ``clk__dut`` (the ``clk`` port of the DUT). The whole arrangement
runs audio_soc about 7x faster than per-input delayed copies with a 50 % clock.

Verilator only exposes signals to VPI (and so to cocotb) that are public. Instead of the global
``--public-flat-rw`` (which makes every signal of the design public and costs speed), each wrapper
signal carries its own metacomment: inputs ``/*verilator public_flat_rw*/`` (cocotb writes them),
outputs and ``clk`` ``/*verilator public_flat_rd*/`` (cocotb reads them and waits on their edges).
"""

from __future__ import annotations

from rtl.stream_dma import MAX_BURST

from .axi_transactor import transactor_ports, transactor_verilog

__all__ = ["RESET_CYCLES", "TB_TOP", "INPUT_DEFAULTS", "half_period_ps", "clock_period_ps",
           "wrapper_verilog", "DRIVER_SCOPE", "DRIVER_MODULE", "DRIVER_TEXT", "DRIVER_NUMBERS",
           "driver_scope_verilog", "DUT_CLOCK"]

#: Name of the generated testbench module (the simulation top that cocotb sees as ``dut``).
TB_TOP = "tb"
#: Clock cycles for which the wrapper holds ``rst`` high after time 0.
RESET_CYCLES = 16
#: Initial values of DUT inputs the wrapper does not drive itself (any other input starts at 0).
INPUT_DEFAULTS = {"midi_rx": 1}

#: The instance (scope ``tb.driver``) whose signals the driver trace (cosim.trace) writes.
DRIVER_SCOPE = "driver"
DRIVER_MODULE = "pcsim_driver_trace"
#: Its text signals, in characters (8 bits each, first character in the top byte).
DRIVER_TEXT = {"component": 8, "event_name": 16, "detail": 96, "reg_name": 16}
#: Its numbers, in bits: an event counter (it changes on every event, even a repeated one),
#: the last register value, and levels that are high inside an ISR and inside a DPC.
DRIVER_NUMBERS = {"count": 32, "reg_value": 32, "isr": 1, "dpc": 1}
#: The name of the DUT's own clock in the wrapper (the one to look at in a viewer).
DUT_CLOCK = "clk__dut"

_DIRECTIONS = ("input", "output")
#: The DUT's clock edge lags the Python-visible clock edge by this much (ps).
SKEW_CLK_PS = 1


def half_period_ps(clk_hz: float) -> int:
    """Half clock period in whole picoseconds (the wrapper's time precision)."""
    if clk_hz <= 0:
        raise ValueError(f"clock frequency must be positive, got {clk_hz}")
    half = round(1e12 / (2 * clk_hz))
    if half < 1:
        raise ValueError(f"clock frequency {clk_hz} Hz is too high for 1 ps precision")
    return half


def clock_period_ps(clk_hz: float) -> int:
    """Simulated clock period in picoseconds (always even: two rounded half periods)."""
    return 2 * half_period_ps(clk_hz)


def _ns(ps: int) -> str:
    return f"{ps // 1000}.{ps % 1000:03d}"


def _decl(width: int) -> str:
    return "" if width == 1 else f"[{width - 1}:0] "


def driver_scope_verilog(module: str = DRIVER_MODULE) -> list[str]:
    """The module of the driver scope: registers only Python writes (public on Verilator)."""
    lines = ["", "// The drivers' events (cosim.trace), written from Python: instance "
             f"{TB_TOP}.{DRIVER_SCOPE}.", f"module {module};"]
    for name, chars in DRIVER_TEXT.items():
        lines.append(f"  reg [{8 * chars - 1}:0] {name} /*verilator public_flat_rw*/;")
    for name, bits in DRIVER_NUMBERS.items():
        lines.append(f"  reg {_decl(bits)}{name} /*verilator public_flat_rw*/;")
    lines.append("  initial begin")
    for name, chars in DRIVER_TEXT.items():
        lines.append(f"    {name} = {{{chars}{{8'h20}}}};")
    for name, bits in DRIVER_NUMBERS.items():
        lines.append(f"    {name} = {bits}'d0;")
    lines.append("  end")
    lines.append("endmodule")
    return lines


def dump_verilog(tb_name: str = TB_TOP) -> list[str]:
    """The wrapper's waveform recording, controlled by plusargs at run time (both simulators):

    - ``+pcsim_dumpfile=PATH``: the file (the format follows the simulator's options); no
      recording without it;
    - ``+pcsim_waves_top``: only the testbench's own signals (the DUT's ports, the bus
      transactor, the DAC recorder) and the driver scope, not the design's insides (Icarus;
      Verilator ignores ``$dumpvars``' arguments, so :func:`harness.build.build` leaves the
      design out of a Verilator build's trace code instead);
    - ``+pcsim_waves_from_ps=T`` / ``+pcsim_waves_to_ps=T``: record only that window of
      simulated time: ``$dumpvars`` runs at its start (the file opens with every value at that
      time) and ``$dumpoff`` at its end (Verilator ignores ``$dumpoff``: it records to the end
      of the run).
    """
    return [
        "",
        "  // waveform recording (harness.wrapper.dump_verilog)",
        "  reg [8*1024-1:0] pcsim_dumpfile;",
        "  reg [63:0] pcsim_waves_from_ps, pcsim_waves_to_ps;",
        "  initial if ($value$plusargs(\"pcsim_dumpfile=%s\", pcsim_dumpfile)) begin",
        '    if (!$value$plusargs("pcsim_waves_from_ps=%d", pcsim_waves_from_ps))',
        "      pcsim_waves_from_ps = 0;",
        '    if (!$value$plusargs("pcsim_waves_to_ps=%d", pcsim_waves_to_ps))',
        "      pcsim_waves_to_ps = 0;",
        "    $dumpfile(pcsim_dumpfile);",
        "    if (pcsim_waves_from_ps > 0)",
        "      #(pcsim_waves_from_ps * 1.0e-3);",
        '    if ($test$plusargs("pcsim_waves_top")) begin',
        f"      $dumpvars(1, {tb_name});",
        f"      $dumpvars(1, {tb_name}.{DRIVER_SCOPE});",
        "    end else",
        f"      $dumpvars(0, {tb_name});",
        "    if (pcsim_waves_to_ps > pcsim_waves_from_ps)",
        "      #((pcsim_waves_to_ps - pcsim_waves_from_ps) * 1.0e-3) $dumpoff;",
        "  end",
    ]


def wrapper_verilog(dut_module: str, ports, clk_hz: float, *, clock: str = "clk",
                    reset: str = "rst", reset_cycles: int = RESET_CYCLES,
                    input_defaults: dict | None = None, tb_name: str = TB_TOP,
                    dump: bool = False, axi_burst_beats: int = MAX_BURST) -> str:
    """Verilog-2005 text of the testbench top ``tb_name`` instantiating ``dut_module`` as ``dut``.

    ``ports`` is a sequence of ``(name, "input"|"output", width)`` for the DUT's top module.
    ``dump=True`` adds the waveform recording of :func:`dump_verilog` (``$dumpfile`` and
    ``$dumpvars`` when the ``+pcsim_dumpfile=PATH`` plusarg is given; the format follows vvp's
    -fst/-vcd, or the trace code compiled into a Verilator build).
    Every whole AXI4 master port gets a burst transactor holding up to ``axi_burst_beats``
    beats (:mod:`harness.axi_transactor`).
    """
    ports = [(str(n), str(d), int(w)) for n, d, w in ports]
    names = [p[0] for p in ports]
    if len(set(names)) != len(names):
        raise ValueError("duplicate port names in the port list")
    pdir = {n: d for n, d, _ in ports}
    for name, direction, width in ports:
        if direction not in _DIRECTIONS:
            raise ValueError(f"port {name}: unsupported direction {direction!r}")
        if width < 1:
            raise ValueError(f"port {name}: bad width {width}")
    for sig in (clock, reset):
        if pdir.get(sig) != "input":
            raise ValueError(f"the design has no input port {sig!r} for the wrapper to drive")
    defaults = dict(INPUT_DEFAULTS if input_defaults is None else input_defaults)
    half = half_period_ps(clk_hz)

    inner = {n: f"{n}__dut" for n, d, _ in ports if d == "input"}
    clash = set(inner.values()) & set(names)
    if clash:
        raise ValueError(f"port names clash with wrapper-internal names: {sorted(clash)}")

    lines = [
        "// Generated by harness.wrapper: testbench top with HDL clock and reset. Do not edit.",
        "`timescale 1ns/1ps",
        *(["/*verilator tracing_on*/  // traced even if the design's file turned it off"]
          if dump else []),
        f"module {tb_name};",
        f"  // clock: {clk_hz} Hz requested, half period {half} ps, period {2 * half} ps",
        f"  // The DUT's clock edge comes {SKEW_CLK_PS} ps after the edge of `{clock}` that Python",
        "  // sees, and inputs are handed to the DUT at the falling edge: Python samples pre-edge",
        "  // values at RisingEdge and what it drives is seen by the DUT at the next edge.",
    ]
    for name, direction, width in ports:
        if direction == "output":
            lines.append(f"  wire {_decl(width)}{name} /*verilator public_flat_rd*/;")
        elif name == clock:
            lines.append(f"  reg {_decl(width)}{name} /*verilator public_flat_rd*/;")
        else:
            lines.append(f"  reg {_decl(width)}{name} /*verilator public_flat_rw*/;")
    for name, direction, width in ports:
        if direction == "input":
            lines.append(f"  reg {_decl(width)}{inner[name]};")
    lines.append("")
    # AXI4 master ports get the burst transactor (harness.axi_transactor) of cosim.axi_slave
    transactors = []
    connect = dict(inner)
    widths = {n: w for n, _, w in ports}
    for prefix in sorted({n[:-len("_arvalid")] for n in names if n.endswith("_arvalid")}):
        if not transactor_ports(ports, prefix):
            continue
        body, enable, drive = transactor_verilog(
            prefix, {n[len(prefix) + 1:]: w for n, w in widths.items()
                     if n.startswith(prefix + "_")},
            axi_burst_beats, inner[clock], inner[reset])
        transactors += body
        for name, expr in drive.items():
            connect[name] = f"{enable} ? {expr} : {inner[name]}"
    lines.append(f"  {DRIVER_MODULE} {DRIVER_SCOPE} ();")
    lines.append(f"  {dut_module} dut (")
    lines.append(",\n".join(f"    .{n}({connect.get(n, n)})" for n in names))
    lines.append("  );")
    lines.append("")
    lines.append("  initial begin")
    lines.append(f"    {clock} = 1'b0;")
    lines.append(f"    {inner[clock]} = 1'b0;")
    lines.append(f"    {reset} = 1'b1;")
    lines.append(f"    {inner[reset]} = 1'b1;")
    for name, direction, width in ports:
        if direction == "input" and name not in (clock, reset):
            value = int(defaults.get(name, 0))
            lines.append(f"    {name} = {width}'d{value};")
            lines.append(f"    {inner[name]} = {width}'d{value};")
    lines.append("  end")
    lines.append("")
    # The timed process only makes the two clocks, two time steps per period; the inputs reach
    # the DUT through a flop stage clocked with it (see the module docstring).
    copies = " ".join(f"{inner[n]} <= {n};" for n, d, _ in ports
                      if d == "input" and n != clock)
    lines.append("  always begin")
    lines.append(f"    #({_ns(2 * half - SKEW_CLK_PS)}) {clock} = 1'b1; {inner[clock]} = 1'b0;")
    lines.append(f"    #({_ns(SKEW_CLK_PS)}) {clock} = 1'b0; {inner[clock]} = 1'b1;")
    lines.append("  end")
    lines.append("")
    lines.append("  integer reset_count = 0;")
    lines.append(f"  always @(posedge {inner[clock]}) begin")
    lines.append(f"    if (reset_count < {int(reset_cycles)}) begin")
    lines.append("      reset_count = reset_count + 1;")
    lines.append(f"      if (reset_count == {int(reset_cycles)}) {reset} = 1'b0;")
    lines.append("    end")
    lines.append(f"    {copies}")
    lines.append("  end")
    lines += transactors
    if {"dac_l", "dac_r", "dac_valid"} <= set(names):
        # the speaker: every DAC frame is written (and flushed) to the file named by the
        # +pcsim_dac=PATH plusarg, so no Python runs per audio frame (cosim.analog.Speaker
        # reads it when asked)
        lines.append("")
        lines.append("  integer dac_fd = 0;")
        lines.append("  reg [8*1024-1:0] dac_path;")
        lines.append("  initial if ($value$plusargs(\"pcsim_dac=%s\", dac_path)) "
                     "dac_fd = $fopen(dac_path, \"w\");")
        lines.append(f"  always @(posedge {inner[clock]}) if (dac_valid && dac_fd != 0) begin")
        lines.append('    $fwrite(dac_fd, "%h %h\\n", dac_l, dac_r);')
        lines.append("    $fflush(dac_fd);")
        lines.append("  end")
    if dump:
        lines += dump_verilog(tb_name)
    lines.append("endmodule")
    lines += driver_scope_verilog()
    return "\n".join(lines) + "\n"
