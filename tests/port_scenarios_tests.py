"""The port-level scenarios (tests/port_scenarios.py) against our miniports on the simulated
device: the same checks the virtual miniports pass in tests/test_port_scenarios.py. One cocotb
test per wave miniport runs every scenario on one machine; run through
tests/test_port_scenarios_cosim.py on both simulators (Icarus with less audio)."""

import random

import cocotb

from cosim.system import AudioSystem
from harness.frames import expected_dac_frames, frames_to_pcm
from miniports.adapter import WAVE_FILTER
from portdrv.status import NTSTATUS

from port_scenarios import SCENARIOS
from wavert_tests import SHORT, STEREO16, TIMEOUT_MS, size


class OurRig(AudioSystem):
    """A rig (see tests/port_scenarios.py) over our miniport of ``kind`` on the device."""

    filter_name = WAVE_FILTER
    fmt = STEREO16
    #: our streams take a format change while stopped
    set_format_status = NTSTATUS.SUCCESS

    def __init__(self, dut, kind):
        super().__init__(dut, wave_miniport=kind)
        self.kind = kind
        self.rng = random.Random(3)
        self.open_options = ({"buffer_bytes": size(960, 192) * STEREO16.block_align}
                             if kind == "wavert" else {})

    async def start(self):
        await super().start()
        if self.kind == "wavecyclic":
            self.adapter.wave_port.notification_ms = size(10, 2)

    def audio(self, nbytes):
        return self.rng.randbytes(nbytes)

    @staticmethod
    def scaled(n):
        return n // 6 if SHORT else n

    def played(self, cs, pcm):
        want = expected_dac_frames(pcm, self.fmt.channels, self.fmt.valid_bits)
        heard = self.speaker.frames
        first = want[0]
        return any(heard[i:i + len(want)] == want for i, frame in enumerate(heard)
                   if frame == first)

    def feed_capture(self, nbytes):
        n = nbytes // self.fmt.block_align
        r = lambda: self.rng.randrange(-(1 << 23), 1 << 23)
        source = [(r(), r()) for _ in range(n + 2000)]
        self.mic.feed(source)
        return frames_to_pcm(source[:n], self.fmt.channels, self.fmt.valid_bits)

    async def settle(self):
        """Four link frames: the last data crosses the link and the codec."""
        await self.frames(4)


async def run_all(dut, kind):
    rig = OurRig(dut, kind)
    await rig.start()
    for name, scenario in SCENARIOS.items():
        rig.dut._log.info("scenario %s on our %s miniport", name, kind)
        await scenario(rig)


@cocotb.test(timeout_time=TIMEOUT_MS * 3, timeout_unit="ms")
async def scenarios_wavert(dut):
    """Every port scenario on our WaveRT miniport."""
    await run_all(dut, "wavert")


@cocotb.test(timeout_time=TIMEOUT_MS * 3, timeout_unit="ms")
async def scenarios_wavecyclic(dut):
    """Every port scenario on our WaveCyclic miniport."""
    await run_all(dut, "wavecyclic")


@cocotb.test(timeout_time=TIMEOUT_MS * 3, timeout_unit="ms")
async def scenarios_wavepci(dut):
    """Every port scenario on our WavePci miniport."""
    await run_all(dut, "wavepci")
