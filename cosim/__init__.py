"""What runs inside the simulator, under cocotb: the host around the device (memory and page
allocator, register window, interrupt line, the HAL the drivers run on), device models
(speaker, microphone, MIDI device), the simulated machine with the driver stack loaded
(:class:`cosim.system.AudioSystem`) and the cocotb entry points of simulation jobs
(:mod:`cosim.jobs`). The ``pcsim`` process never imports it; see docs/architecture.md."""
