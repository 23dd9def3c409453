"""Failures the fault campaign found, each kept as the scenario that showed it, cut down to a
few milliseconds of audio where it could be (the shortest run on Icarus too, the rest on
Verilator only: ``ICARUS_TOO``). A spec is written out here rather than named by its seed:
the seeds' draws change whenever the campaign learns a new fault kind."""

import pytest

from harness.job import ScenarioJob
from harness.runner import run_sim_job
from pcsim.campaign import NO_BACKPRESSURE, scenario_spec

SIMS = ("verilator", "icarus")
#: the scenarios short enough for Icarus as well (about 30 s each there); the others simulate
#: 10-30 ms of audio and more, which Icarus takes one to two minutes over: Verilator only
ICARUS_TOO = {"power_cycle_small_buffer", "late_dpc_full_buffer", "wavepci_mapping_in_d3",
              "wavert_render_data", "wavert_capture_data", "wavecyclic_render_position"}


def on_simulators(names):
    """``(name, sim)`` pairs: every scenario on Verilator, the short ones on Icarus too."""
    return [(name, sim) for name in names for sim in SIMS
            if sim == "verilator" or name in ICARUS_TOO]

#: Found as --replay 777 and --replay 593002131695749595 (seed 1, 400 scenarios): D0 -> D3 -> D0
#: in the middle of a WaveRT render whose buffer is shorter than four hardware FIFOs. The port
#: had overwritten what sat in the FIFO with the next lap's audio, so the restarted engine
#: fetched that instead: about a FIFO of client frames never reached the DAC, unreported.
POWER_CYCLE_SMALL_BUFFER = scenario_spec(
    miniport="wavert", direction="render", channels=1, bits=16, rate=16000, frames=112,
    buffer_ms=5, events=[[3000, "power_cycle", 300]])

#: Found as --replay 7334522518408912553: a WaveRT capture whose DPC ran late just as the
#: DMA finished a lap. The stored position was taken to be at least the link position, so
#: the port read four frames the DMA had not stored yet (the previous lap's), then went on
#: past the real ones: four stale frames and a lap skipped, with no overrun reported.
CAPTURE_LATE_DPC_AT_WRAP = scenario_spec(
    miniport="wavert", direction="capture", channels=1, bits=24, rate=16000, frames=240,
    buffer_ms=5, events=[[4690, "dpc_spike", 300, 431]])


#: Found as --replay 2252824934073864865 (seed 1): a late DPC on a WaveRT render whose buffer
#: the port keeps full. The hardware fetched past what the port had written, into the
#: previous lap: 16 frames played a second time. The port reports the glitch; now it counts
#: its bytes too, and they must equal the stale frames heard.
LATE_DPC_FULL_BUFFER = scenario_spec(
    miniport="wavert", direction="render", channels=1, bits=24, rate=48000, frames=480,
    buffer_ms=5, events=[[3000, "dpc_spike", 3000, 1516]])

#: Found as --replay 490056936996590808: a WavePci client wrote while the device was in D3;
#: MappingAvailable made the miniport take the mapping and write LVI to the powered-off
#: device, whose register port never answered: the bus hung. Now the register window answers
#: nothing in D3 (a write there is a violation) and the miniport takes no mapping before D0.
WAVEPCI_MAPPING_IN_D3 = scenario_spec(
    miniport="wavepci", direction="render", channels=2, bits=16, rate=16000, frames=160,
    buffer_ms=5, chunk_frames=32, chunk_gap_us=1000, events=[[3000, "power_cycle", 1500]])

#: Found as --replay 437475596657465314 (seed 55, 300 scenarios; three alike): a WaveCyclic
#: render at 8 kHz mono whose client wrote just in time. After a glitch the port wrote the
#: client's next audio one notification interval (160 bytes) past the play position, but the
#: DMA had read a FIFO (256 bytes) ahead: what went in between never played, unreported.
#: The port now allows the FIFO too (the miniport stream reports it, get_hw_latency).
WAVECYCLIC_FIFO_AHEAD_OF_LEAD = scenario_spec(
    miniport="wavecyclic", direction="render", channels=1, bits=16, rate=8000, frames=64,
    buffer_ms=5, chunk_frames=16, chunk_gap_us=2000)

#: Found as --replay 4590822774414691711 (seed 2026, 1,000 scenarios): a bus error on a WaveRT
#: capture just as the client had read everything and closed the stream. The port's restart
#: after the device error and the client's stop stepped the miniport stream at the same time;
#: the stream reset timed out and the exception escaped. Now a pin's state step waits for a
#: restart under way, and no restart begins during a step.
BUS_ERROR_AS_THE_CLIENT_STOPS = scenario_spec(
    miniport="wavert", direction="capture", channels=2, bits=16, rate=8000, frames=232,
    buffer_ms=20, memory_seed=1684767384,
    backpressure={"aw": 0.6, "w": 0.3, "b": 0.0, "ar": 0.0, "r": 0.6},
    events=[[23913, "bus_error", "descriptor", "decerr"]])

FOUND = {"power_cycle_small_buffer": POWER_CYCLE_SMALL_BUFFER,
         "bus_error_as_the_client_stops": BUS_ERROR_AS_THE_CLIENT_STOPS,
         "wavecyclic_fifo_ahead_of_lead": WAVECYCLIC_FIFO_AHEAD_OF_LEAD,
         "wavepci_mapping_in_d3": WAVEPCI_MAPPING_IN_D3,
         "capture_late_dpc_at_wrap": CAPTURE_LATE_DPC_AT_WRAP,
         "late_dpc_full_buffer": LATE_DPC_FULL_BUFFER}

#: A bus error stopped the stream for good (DESE; the drivers only counted it) and the
#: scenario hung, as soon as the campaign drew one. Now a WaveRT or WaveCyclic pin sees
#: DEVICE_DATA_ERROR from the position and restarts the stream where it stood, writing again
#: what the lost FIFO held; WavePci's miniport queues its ring again from the link position.
#: One per target, response and miniport, render and capture.
#: (a descriptor is read only when the engine moves to the next BDL entry: a longer stream,
#: and for WavePci a client writing in small packets, each a new entry in the ring)
BUS_ERRORS = {
    f"{miniport}_{direction}_{target}": scenario_spec(
        miniport=miniport, direction=direction, channels=2, bits=16, rate=16000,
        frames=320 if target == "descriptor" else 96, buffer_ms=5,
        chunk_frames=32 if miniport == "wavepci" and direction == "render" else None,
        chunk_gap_us=1000, events=[[1500, "bus_error", target, response]])
    for miniport, direction, target, response in (
        ("wavert", "render", "data", "slverr"), ("wavert", "capture", "data", "decerr"),
        ("wavecyclic", "render", "position", "decerr"),
        ("wavecyclic", "capture", "descriptor", "slverr"),
        ("wavepci", "render", "descriptor", "decerr"), ("wavepci", "capture", "data", "slverr"))}


def run_clean(spec, sim, tmp_path):
    """Run ``spec``; it must break no invariant."""
    result = run_sim_job(ScenarioJob(seed=0, spec=spec), sim, tmp_path)
    assert result.violations == [], result.violations
    assert result.unaccounted_frames == 0
    return result


@pytest.mark.parametrize("name, sim", on_simulators(FOUND))
def test_found_by_the_campaign(name, sim, tmp_path):
    spec = FOUND[name]
    result = run_clean(spec, sim, tmp_path)
    assert result.frames_out == result.frames_in == spec["frames"]
    assert sum(result.faults.values()) >= 1
    if name == "late_dpc_full_buffer":       # the glitch happened, and was counted
        assert result.glitches >= 1 and result.glitch_bytes > 0


@pytest.mark.parametrize("name, sim", on_simulators(BUS_ERRORS))
def test_a_bus_error_is_reported_and_the_stream_goes_on(name, sim, tmp_path):
    spec = BUS_ERRORS[name]
    result = run_clean(spec, sim, tmp_path)
    target = spec["events"][0][2]
    assert result.faults[f"bus_error_{target}"] == 1 and result.bus_errors == 1
    if spec["direction"] == "render":      # render loses nothing: the frames are refetched
        assert result.frames_out == result.frames_in == spec["frames"]


#: A client that cancels a chunk it wrote (at once: the port has not started on it), with MIDI
#: messages going out through the MIDI port meanwhile and a power cycle in the middle: the
#: cancelled frames never play, every other frame does, and every MIDI byte reaches the wire
#: (the UART lets its FIFO out before D3; the port keeps the rest).
CANCEL_AND_MIDI_ACROSS_D3 = scenario_spec(
    miniport="wavecyclic", direction="render", channels=2, bits=16, rate=16000, frames=192,
    buffer_ms=5, chunk_frames=32, chunk_gap_us=1000, cancel=[2, 0],
    events=[[4000, "power_cycle", 800]],
    midi=[[0, "903c40"], [1500, "c005"], [3900, "b00740"], [4200, "803c00"]])


@pytest.mark.parametrize("sim", ["verilator"])
def test_a_cancelled_chunk_and_midi_alongside(sim, tmp_path):
    spec = CANCEL_AND_MIDI_ACROSS_D3
    result = run_clean(spec, sim, tmp_path)
    assert result.faults["cancel"] == 1 and result.faults["midi_messages"] == 4
    assert result.cancelled_frames == spec["chunk_frames"]
    assert result.frames_out == spec["frames"] - spec["chunk_frames"]
