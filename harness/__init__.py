"""The simulation harness, used from the ``pcsim`` process and from tests: it generates the
testbench wrapper (with its AXI burst transactor) around the exported Verilog, builds it once
per design under Icarus Verilog or Verilator, launches cocotb jobs, and defines what crosses
the process boundary between the host and the simulator (:mod:`harness.job`, the audio frame
conventions in :mod:`harness.frames`). It imports only ``rtl``; see docs/architecture.md."""
