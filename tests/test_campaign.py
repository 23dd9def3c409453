"""``pcsim campaign``: deterministic scenarios, shards that partition a campaign, reports that
merge; scenarios through the whole stack on both simulators; and a stack broken on purpose
(a buffer lost silently) is caught, with a repro command and the scenario's folder kept."""

import json
import subprocess
import sys

import pytest

from pcsim import campaign

#: a campaign seed whose first scenarios pass today (a regression sample; new failures found
#: by other seeds are listed in the README's campaign section)
SAMPLE_SEED, SAMPLE_SCENARIOS = 3, 4


def pcsim(*args):
    return subprocess.run([sys.executable, "-m", "pcsim", *map(str, args)],
                          capture_output=True, text=True)


def test_scenarios_are_deterministic_and_differ():
    first = [campaign.draw_scenario(campaign.scenario_seed(7, i)) for i in range(20)]
    again = [campaign.draw_scenario(campaign.scenario_seed(7, i)) for i in range(20)]
    assert first == again
    assert len({json.dumps(s, sort_keys=True) for s in first}) == 20
    kinds = {e[1] for s in first for e in s["events"]}
    assert len(kinds) >= 5 and {s["miniport"] for s in first} == set(campaign.MINIPORTS)


def test_shards_partition_the_campaign():
    count = 5
    seen = sorted(i for shard in range(count) for i in range(23) if i % count == shard)
    assert seen == list(range(23))
    assert campaign.parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "x", "1/0", "-1/3"):
        with pytest.raises(ValueError):
            campaign.parse_shard(bad)


def test_reports_merge(tmp_path):
    def report(shard, passed, failures, faults):
        return {"sim": "verilator", "seed": 9, "shard": shard, "scenarios": passed + len(failures),
                "passed": passed, "failures": failures, "hangs": 0,
                "unaccounted_frames": sum(f["lost"] for f in failures),
                "faults_injected": faults}
    a = report("0/2", 3, [{"index": 2, "lost": 5}], {"pause": 2})
    b = report("1/2", 2, [{"index": 1, "lost": 1}], {"pause": 1, "jack": 4})
    paths = []
    for name, r in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps(r))
        paths.append(tmp_path / name)
    merged = campaign.merge_reports(paths)
    assert merged["scenarios"] == 7 and merged["passed"] == 5
    assert [f["index"] for f in merged["failures"]] == [1, 2]
    assert merged["unaccounted_frames"] == 6
    assert merged["faults_injected"] == {"pause": 3, "jack": 4}


def test_a_fixed_sample_passes_on_verilator(tmp_path):
    report_path = tmp_path / "r.json"
    result = pcsim("campaign", "--scenarios", SAMPLE_SCENARIOS, "--seed", SAMPLE_SEED,
                   "--jobs", 2, "--report", report_path)
    report = json.loads(report_path.read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["scenarios"] == report["passed"] == SAMPLE_SCENARIOS
    assert report["hangs"] == 0 and report["unaccounted_frames"] == 0
    assert sum(report["faults_injected"].values()) > 0


def _first_render(campaign_seed, sim):
    """The index of the campaign's first render scenario."""
    return next(i for i in range(100) if campaign.draw_scenario(
        campaign.scenario_seed(campaign_seed, i), sim)["direction"] == "render")


def test_a_broken_stack_is_caught(tmp_path):
    """--sabotage drop_buffer: the client's first buffer loses half its audio after the port
    took it, without a word. The campaign must fail it, with its repro and kept folder."""
    index = _first_render(11, "verilator")
    report_path = tmp_path / "r.json"
    result = pcsim("campaign", "--scenarios", index + 1, "--seed", 11,
                   "--shard", f"{index}/{index + 1}", "--sabotage", "drop_buffer",
                   "--keep-dir", tmp_path / "kept", "--report", report_path, "-q")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["scenarios"] == 1 and report["passed"] == 0
    assert report["unaccounted_frames"] > 0
    failure = report["failures"][0]
    seed = campaign.scenario_seed(11, index)
    assert failure["repro"] == f"pcsim campaign --replay {seed} --sim verilator " \
                               f"--sabotage drop_buffer"
    assert any("never reached the DAC" in v for v in failure["violations"])
    assert (tmp_path / "kept" / f"scenario-{index}-{seed}" / "sim.log").exists()


def test_a_scenario_on_icarus(tmp_path):
    seed = campaign.scenario_seed(11, _first_render(11, "icarus"))
    report_path = tmp_path / "r.json"
    result = pcsim("campaign", "--replay", seed, "--sim", "icarus", "--report", report_path,
                   "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(report_path.read_text())
    assert outcome["violations"] == [] and outcome["frames_out"] == outcome["frames_in"] > 0
