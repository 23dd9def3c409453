"""Co-simulation layer: builds and runs the design under Icarus/Verilator with cocotb and models
the host (memory, register window, interrupt line) around it.

Importing the package is cheap; submodules that need cocotb import it themselves.
"""
