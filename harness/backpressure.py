"""Per-channel pause generators for the AXI bus models (back-pressure in tests)."""

__all__ = ["ChannelPauses", "AXI_CHANNELS"]

AXI_CHANNELS = ("aw", "w", "b", "ar", "r")


class ChannelPauses:
    """One optional iterator of booleans per AXI channel; a true value pauses that cycle."""

    def __init__(self):
        self._gens = {ch: None for ch in AXI_CHANNELS}

    def set(self, channel, generator):
        if channel not in self._gens:
            raise ValueError(f"unknown AXI channel {channel!r}")
        self._gens[channel] = generator

    def active(self, channel):
        """True if ``channel`` has a pause generator."""
        return self._gens[channel] is not None

    def __call__(self, channel):
        gen = self._gens[channel]
        return bool(next(gen, False)) if gen is not None else False
