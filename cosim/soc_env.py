"""The simulated machine around audio_soc: host memory and page allocator, register window,
interrupt line, speaker and microphone, and the register-level controller programming."""

import random

from cocotb.triggers import RisingEdge, Timer

from .analog import Microphone, Speaker
from .hda import HdaController
from .host_memory import HostMemory, PageAllocator
from .irq import InterruptLine
from .regwindow import RegisterWindow
from .trace import driver_trace

__all__ = ["SocEnv", "FRAME_NS"]

#: one 48 kHz link frame
FRAME_NS = 1e9 / 48000


class SocEnv:
    """Everything a host needs to drive the device, attached to the cocotb ``dut``."""

    #: who makes the register accesses of tasks nobody labelled (see cosim.trace)
    register_component = "harness"

    def __init__(self, dut, memory_size=16 << 20, seed=1):
        self.dut = dut
        self.rng = random.Random(seed)
        self.mem = HostMemory(memory_size, dut=dut)
        self.alloc = PageAllocator(memory_size, seed=seed)
        self.regs = RegisterWindow(dut)
        self.irq = InterruptLine(dut.irq)
        #: the driver trace (cosim.trace) the run asked for, or None
        self.trace = driver_trace(dut, self.register_component)
        if self.trace is not None:
            self.regs.axil.observer = self.trace.register_access
        self.speaker = Speaker(dut)
        self._mic = None
        self._hda = None

    @property
    def hda(self):
        """The register-level controller code, made on first use (a driver stack on top of
        this machine brings its own)."""
        if self._hda is None:
            self._hda = HdaController(self.regs, self.mem, self.alloc)
        return self._hda

    @property
    def mic(self):
        """The microphone on the ADC pins, made on first use: its strobe watcher is a
        value-change callback the simulator checks on every time step."""
        if self._mic is None:
            self._mic = Microphone(self.dut)
        return self._mic

    def label_harness_task(self):
        """Register accesses of the running task show as the harness's in the trace."""
        if self.trace is not None:
            self.trace.label_task("harness")

    async def wait_power_on(self):
        """Wait for the testbench's power-on reset to end."""
        await RisingEdge(self.dut.clk)
        while self.dut.rst.value:
            await RisingEdge(self.dut.clk)

    async def start(self):
        """Wait for the power-on reset to end, then bring the controller up."""
        await self.wait_power_on()
        await self.hda.reset()

    async def frames(self, n):
        """Let ``n`` link frames of simulated time pass."""
        await Timer(int(n * FRAME_NS), "ns")
