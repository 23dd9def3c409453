"""The port-level scenarios (tests/port_scenarios.py) against the virtual miniports written
from the documentation (tests/virtual_miniports.py), in virtual time. The same scenarios run
against our miniports on the simulated device in tests/port_scenarios_tests.py."""

import asyncio
import random

import pytest

from portdrv.formats import WaveFormat
from portdrv.hal import SimpleScheduler
from portdrv.status import NTSTATUS

from port_scenarios import SCENARIOS
from virtual_miniports import make_virtual_system


class VirtualRig:
    """A rig (see tests/port_scenarios.py) over a virtual miniport."""

    filter_name = "wave"
    fmt = WaveFormat.pcm(2, 48000, 16)
    #: the virtual miniports' SetFormat (SysVAD's answer)
    set_format_status = NTSTATUS.NOT_SUPPORTED

    def __init__(self, scheduler, kind, system):
        self.scheduler, self.kind, self.system = scheduler, kind, system
        self.client = system.client
        self.open_options = {"buffer_bytes": 3840} if kind == "wavert" else {}
        self.rng = random.Random(5)

    def audio(self, nbytes):
        return self.rng.randbytes(nbytes)

    @staticmethod
    def scaled(n):
        return n

    def played(self, cs, pcm):
        return pcm in bytes(cs.pin.stream.dac)

    def feed_capture(self, nbytes):
        # a virtual stream records its source from the start of each RUN after STOP
        return bytes(self.system.miniport.source[:nbytes])

    async def settle(self):
        """Nothing lags behind the device's output here."""


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("kind", ["wavert", "wavecyclic", "wavepci"])
def test_virtual_miniport_scenario(kind, scenario):
    async def main():
        sched = SimpleScheduler()

        async def body():
            system = await make_virtual_system(sched, kind)
            await SCENARIOS[scenario](VirtualRig(sched, kind, system))
        await sched.run(body())
    asyncio.run(main())
