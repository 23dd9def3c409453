"""The driver trace in the waveform and the timeline, the GTKWave save file, narrowing, and
what a failing cosim test leaves behind (tests/trace_tests.py, tests/fst_checks.py).

The waveform is read back with pywellen and the driver scope checked against what the design
itself recorded: the AXI4-Lite handshakes (as the DUT's input flops present them) and the
interrupt line.
"""

import json
import re
import subprocess
import sys

import pytest

from fst_checks import Recording
from harness.build import SimulationFailed, build, run, soc_design
from harness.gtkw import write_save_file
from harness.waves import WaveSelection
from harness.wrapper import TB_TOP, clock_period_ps
from rtl.regmap import REGMAP
from wav_files import sox_wav

SIMULATORS = ["icarus", "verilator"]
INTSTS = REGMAP["INTSTS"].offset
SD1CTL_WORD = REGMAP["SD1CTL"].offset & ~3


def _short_play(sim, folder, selection=None):
    waves = folder / "w.fst"
    run(build(soc_design(), sim, waves="fst"), "trace_tests", testcase="short_play",
        test_dir=folder / "sim", waves_file=waves, waves_selection=selection)
    return waves, folder / "sim" / "timeline.txt"


_RUNS = {}


def _shared_short_play(sim, tmp_path_factory):
    """``(sim, waves, timeline)`` of one short play per simulator, shared by the checks."""
    if sim not in _RUNS:
        _RUNS[sim] = (sim, *_short_play(sim, tmp_path_factory.mktemp(f"trace-{sim}")))
    return _RUNS[sim]


@pytest.fixture(params=SIMULATORS)
def short_play(request, tmp_path_factory):
    return _shared_short_play(request.param, tmp_path_factory)


def test_driver_scope_lines_up_with_the_register_bus(short_play):
    sim, waves, _ = short_play
    rec = Recording(waves)
    assert f"{TB_TOP}.driver" in rec.scopes
    events = rec.driver_events()
    writes, _ = rec.handshakes()
    run_writes = [e for e in events if e.event == "REG_WRITE" and e.reg_name == "SD1CTL"
                  and re.search(r"\bRUN=1\b", e.detail)]
    assert run_writes and all(e.component == "miniport" for e in run_writes)
    period = clock_period_ps(soc_design().clk_hz)
    for event in run_writes:
        nearest = min((abs(h.time_ps - event.time_ps) for h in writes
                       if h.address == SD1CTL_WORD), default=None)
        assert nearest is not None and nearest <= period, (sim, event, nearest)


def test_every_isr_entry_follows_an_irq_edge_and_precedes_its_intsts_read(short_play):
    sim, waves, _ = short_play
    rec = Recording(waves)
    events = rec.driver_events()
    _, reads = rec.handshakes()
    intsts_reads = [h.time_ps for h in reads if h.address == INTSTS]
    edges = rec.rising_edges("irq")
    entries = [e for e in events if e.event == "ISR_ENTER"]
    exits = [e.time_ps for e in events if e.event == "ISR_EXIT"]
    assert len(entries) >= 2 and len(exits) == len(entries)
    # the driver scope's isr level rises with each entry
    assert rec.rising_edges("driver.isr") == [e.time_ps for e in entries]
    for entry, exit_ps in zip(entries, exits):
        edge = max((t for t in edges if t <= entry.time_ps), default=None)
        assert edge is not None, (sim, entry)
        first_read = min(t for t in intsts_reads if t >= edge)
        assert entry.time_ps <= first_read <= exit_ps, (sim, entry, edge, first_read)


def test_timeline_has_the_events_with_decoded_detail(short_play):
    sim, waves, timeline = short_play
    lines = timeline.read_text().splitlines()
    events = Recording(waves).driver_events()
    # every event the waveform shows is a line of the timeline (same time, same text)
    text = {(line.split()[0], " ".join(line.split()[2:4])) for line in lines}
    for e in events:
        stamp = f"{e.time_ps // 1000}.{e.time_ps % 1000:03d}"
        assert (stamp, f"{e.component} {e.event}") in text, e
    joined = "\n".join(lines)
    for pattern in (r"port +ISR_ENTER", r"port +DPC_ENTER", r"port +KSSTATE +pin 0: STOP -> RUN",
                    r"miniport +VERB +cad 0 nid 0x02 SET_FORMAT", r"client +WRITE",
                    r"client +POSITION", r"harness +REG_READ +SD1LPIB",
                    r"miniport +REG_READ +INTSTS = 0x\w+ SIS1=1"):
        assert re.search(pattern, joined), pattern


def test_save_file_opens_in_gtkwave_with_every_signal(short_play, tmp_path):
    sim, waves, _ = short_play
    save_file = write_save_file(waves, tmp_path / "w.gtkw", tmp_path / "w.regs.txt")
    listed = [line.split("[")[0] for line in save_file.read_text().splitlines()
              if line.startswith(f"{TB_TOP}.")]
    script = tmp_path / "list.tcl"
    script.write_text("foreach s [gtkwave::getDisplayedSignals] { puts \"SIG $s\" }\n"
                      "gtkwave::/File/Quit\n")
    out = subprocess.run(["xvfb-run", "-a", "gtkwave", "-S", str(script), str(save_file)],
                         capture_output=True, text=True, timeout=120)
    shown = [line[4:].split("[")[0] for line in out.stdout.splitlines()
             if line.startswith("SIG ")]
    assert shown == listed and len(listed) > 50
    problems = [line for line in (out.stdout + out.stderr).splitlines()
                if re.search(r"error|warning|cannot|not found", line, re.I)]
    assert not problems, problems
    assert "0024 INTSTS" in (tmp_path / "w.regs.txt").read_text()


def test_window_and_scope_narrow_the_waves(tmp_path_factory, tmp_path):
    """Icarus: a 1 ms window of the testbench's signals only, much smaller than the whole
    recording."""
    sim, full, _ = _shared_short_play("icarus", tmp_path_factory)
    selection = WaveSelection(from_s=0.001, to_s=0.002, scope="top")
    narrow, _ = _short_play(sim, tmp_path, selection)
    rec = Recording(narrow)
    assert not any(name.startswith(f"{TB_TOP}.dut.") for name in rec.vars)
    times = [t for t, _, _ in rec.changes([f"{TB_TOP}.clk__dut"])]
    assert 1e9 <= min(times) and max(times) <= 2e9 + 1
    assert narrow.stat().st_size * 10 < full.stat().st_size


def test_window_start_on_verilator(tmp_path_factory, tmp_path):
    """Verilator records from the window's start (it has no $dumpoff: to the end of the run)."""
    sim, full, _ = _shared_short_play("verilator", tmp_path_factory)
    narrow, _ = _short_play(sim, tmp_path, WaveSelection(from_s=0.0015))
    rec = Recording(narrow)
    assert min(t for t, _, _ in rec.changes([f"{TB_TOP}.clk__dut"])) >= 1.5e9
    assert Recording(narrow).driver_events()
    assert narrow.stat().st_size < 0.6 * full.stat().st_size


@pytest.mark.parametrize("sim", ["icarus"])
def test_failing_test_keeps_timeline_and_waves(sim, tmp_path):
    with pytest.raises(SimulationFailed) as failure:
        run(build(soc_design(), sim), "trace_tests", testcase="fails_after_start",
            test_dir=tmp_path / "sim", waves_on_failure=True)
    message = str(failure.value)
    assert "failing on purpose" in message
    folder = re.search(r"re-run with waves in (\S+) ", message).group(1)
    waves = re.search(r"waves (\S+\.fst)", message).group(1)
    save_file = re.search(r"GTKWave (\S+\.gtkw)", message).group(1)
    timeline = re.search(r"timeline (\S+/timeline\.txt)\)", message).group(1)
    assert folder == str(tmp_path / "sim" / "with-waves")
    assert waves.startswith(folder) and save_file.startswith(folder)
    # the failed run's own timeline, and the re-run's: the stack started in both
    first = re.search(r"kept: run folder \S+, timeline (\S+),", message).group(1)
    for path in (first, timeline):
        assert re.search(r"miniport +VERB +cad 0", open(path).read()), path
    assert Recording(waves).driver_events()


def _pcsim(*args):
    return subprocess.run([sys.executable, "-m", "pcsim", *args], capture_output=True,
                          text=True)


def test_mixer_trace_and_waves_from_the_command_line(tmp_path):
    timeline, waves = tmp_path / "t.txt", tmp_path / "w.fst"
    done = _pcsim("mixer", "--sim", "icarus", "--trace", str(timeline), "--waves", str(waves),
                  "--waves-scope", "top")
    assert done.returncode == 0, done.stderr
    assert re.search(r"miniport +VERB +cad 0 nid 0x06 GET_CONFIG_DEFAULT", timeline.read_text())
    assert (tmp_path / "w.gtkw").exists() and (tmp_path / "w.regs.txt").exists()
    assert re.search(r"MB per simulated second\); open with: gtkwave \S+w\.gtkw", done.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt", "w.fst", "w.gtkw",
                                                          "w.regs.txt"]


@pytest.mark.parametrize("args, message", [
    (["play", "x.wav", "--waves-from", "0.001"], "need --waves FILE"),
    (["play", "x.wav", "--waves", "w.fst", "--waves-from", "0.002", "--waves-to", "0.001"],
     "ends (0.001 s) before it starts"),
    (["mixer", "--waves", "w.txt"], "must end in .fst or .vcd"),
])
def test_bad_waves_options_one_line(tmp_path, args, message):
    done = subprocess.run([sys.executable, "-m", "pcsim", *args], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_play_wavepci_trace_and_top_waves_from_the_command_line(tmp_path):
    """WavePci's mappings in the timeline; the report gives the waves' size per simulated
    second."""
    src = sox_wav(tmp_path / "in.wav", seconds=0.002)
    timeline, waves, report = tmp_path / "t.txt", tmp_path / "w.fst", tmp_path / "r.json"
    done = _pcsim("play", str(src), "--sim", "icarus", "--miniport", "wavepci", "--out",
                  str(tmp_path / "o.wav"), "--trace", str(timeline), "--waves", str(waves),
                  "--waves-scope", "top", "--report", str(report), "-q")
    assert done.returncode == 0, done.stderr
    text = timeline.read_text()
    for pattern in (r"port +GET_MAPPING +tag \S+: 0x[0-9a-f]+ \+\d+", r"port +RELEASE_MAPPING",
                    r"port +KSSTATE +pin 0: RUN -> STOP"):
        assert re.search(pattern, text), pattern
    result = json.loads(report.read_text())
    assert result["bit_exact"] and result["waves_bytes"] == waves.stat().st_size
    assert result["waves_bytes_per_simulated_s"] == pytest.approx(
        result["waves_bytes"] / result["waves_simulated_s"])
    assert result["waves_simulated_s"] * 1e9 >= result["sim_time_ns"]
