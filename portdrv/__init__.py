"""The OS side of the PortCls re-creation: port drivers, status codes, KS states, formats,
packet queue, service groups, interrupt sync, DMA channel, power and property plumbing, and the
HAL interfaces the simulator implements. It imports neither ``rtl`` nor ``cosim``."""
