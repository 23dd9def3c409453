"""The HDL testbench top that wraps the design for cocotb.

The wrapper (module ``tb``) owns the clock and the reset, so no Python runs per clock cycle:

- ``clk`` toggles in HDL every half period. Times are in ``timescale 1ns/1ps``, so the half
  period is rounded to a whole picosecond: ``half_ps = round(1e12 / (2 * clk_hz))`` and the
  simulated period is ``2 * half_ps``. At the default 12.288 MHz the half period is 40.690 ns and
  the period 81.380 ns (12.288031 MHz, +2.5 ppm).
- ``rst`` is high from time 0 and falls at the falling clock edge after the
  :data:`RESET_CYCLES`-th rising edge: the DUT sees exactly 16 clock edges in reset, and Python
  reads ``rst == 1`` at ``RisingEdge(clk)`` 1..16 and 0 from the 17th, on both simulators. The
  clock process itself counts the edges, so the order against the input hand-over is fixed.
- Every other DUT input gets a reg of the same name, initialised at time 0 (``midi_rx`` idles high,
  everything else 0); Python (cocotbext-axi, device models) drives them afterwards. A value Python
  writes at time 0, before any await, wins over the initialisation on both simulators.
- Every DUT output gets a wire of the same name.

Sampling semantics (why the DUT gets skewed copies). Verilator evaluates a whole time step in one
go: with a clock made in HDL, a VPI value-change callback on ``clk`` runs only after the flops
have already taken the edge, so cocotb would see post-edge values at ``RisingEdge(clk)`` (Icarus
shows pre-edge values), and cocotbext-axi misses handshakes. So the DUT is clocked by
``clk__dut``, a copy of ``clk`` delayed by :data:`SKEW_CLK_PS`, and each input port is fed by
``<name>__dut``, a copy of the Python-visible reg taken at every falling clock edge. On both
simulators Python then sees pre-edge values at ``RisingEdge(clk)``, and whatever it drives there
reaches the DUT at the next edge: the usual cocotb contract (a write made in the second half of a
cycle reaches the DUT one edge later). One process does all of it: Verilator re-evaluates the
design's logic at every time step with activity, so the wrapper has only three per cycle (clock
rise, DUT clock rise, fall + hand-over). In waves, DUT-side changes appear 1 ps after the
Python-visible edge.

Verilator only exposes signals to VPI (and so to cocotb) that are public. Instead of the global
``--public-flat-rw`` (which makes every signal of the design public and costs speed), each wrapper
signal carries its own metacomment: inputs ``/*verilator public_flat_rw*/`` (cocotb writes them),
outputs and ``clk`` ``/*verilator public_flat_rd*/`` (cocotb reads them and waits on their edges).
"""

from __future__ import annotations

__all__ = ["RESET_CYCLES", "TB_TOP", "INPUT_DEFAULTS", "half_period_ps", "clock_period_ps",
           "wrapper_verilog"]

#: Name of the generated testbench module (the simulation top that cocotb sees as ``dut``).
TB_TOP = "tb"
#: Clock cycles for which the wrapper holds ``rst`` high after time 0.
RESET_CYCLES = 16
#: Initial values of DUT inputs the wrapper does not drive itself (any other input starts at 0).
INPUT_DEFAULTS = {"midi_rx": 1}

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


def wrapper_verilog(dut_module: str, ports, clk_hz: float, *, clock: str = "clk",
                    reset: str = "rst", reset_cycles: int = RESET_CYCLES,
                    input_defaults: dict | None = None, tb_name: str = TB_TOP,
                    dump: bool = False) -> str:
    """Verilog-2005 text of the testbench top ``tb_name`` instantiating ``dut_module`` as ``dut``.

    ``ports`` is a sequence of ``(name, "input"|"output", width)`` for the DUT's top module.
    ``dump=True`` adds ``$dumpfile``/``$dumpvars(0, tb)`` with the file name taken from the
    ``+pcsim_dumpfile=PATH`` plusarg (used for Icarus; the format follows vvp's -fst/-vcd).
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
    widths = {n: w for n, _, w in ports}
    half = half_period_ps(clk_hz)

    inner = {n: f"{n}__dut" for n, d, _ in ports if d == "input"}
    clash = set(inner.values()) & set(names)
    if clash:
        raise ValueError(f"port names clash with wrapper-internal names: {sorted(clash)}")

    lines = [
        "// Generated by cosim.wrapper: testbench top with HDL clock and reset. Do not edit.",
        "`timescale 1ns/1ps",
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
    lines.append(f"  {dut_module} dut (")
    lines.append(",\n".join(f"    .{n}({inner.get(n, n)})" for n in names))
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
    # The timed process only makes the two clocks. The inputs reach the DUT through a flop
    # stage clocked with it: at DUT edge k, NBA semantics give the DUT what Python wrote at
    # RisingEdge(clk) k-1. Verilator re-evaluates the design's logic in every time step in
    # which something it reads changed, so with inputs and DUT flops in one step it runs once
    # per clock (per-input `always @(x) x__dut <= #d x` processes ran it four times and cost
    # the trigger scheduler another third).
    copies = " ".join(f"{inner[n]} <= {n};" for n, d, _ in ports
                      if d == "input" and n != clock)
    lines.append("  always begin")
    lines.append(f"    #({_ns(half)}) {clock} = 1'b1;")
    lines.append(f"    #({_ns(SKEW_CLK_PS)}) {inner[clock]} = 1'b1;")
    lines.append(f"    #({_ns(half - SKEW_CLK_PS)}) {clock} = 1'b0; {inner[clock]} = 1'b0;")
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
    if dump:
        lines.append("")
        lines.append("  reg [8*1024-1:0] pcsim_dumpfile;")
        lines.append("  initial begin")
        lines.append('    if (!$value$plusargs("pcsim_dumpfile=%s", pcsim_dumpfile))')
        lines.append('      pcsim_dumpfile = "waves.fst";')
        lines.append("    $dumpfile(pcsim_dumpfile);")
        lines.append(f"    $dumpvars(0, {tb_name});")
        lines.append("  end")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"
