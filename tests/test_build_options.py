"""The build cache key and compiler settings of harness.build, without building anything."""

from harness import build as b


def test_profile_flags_go_to_the_model_and_runtime_only():
    plain = b.make_vars()
    assert plain == list(b.VERILATOR_MAKE_VARS)
    gen = dict(v.split("=", 1) for v in b.make_vars("-fprofile-generate"))
    for name, value in (v.split("=", 1) for v in b.VERILATOR_MAKE_VARS):
        if name in ("OPT_FAST", "OPT_GLOBAL"):
            assert gen[name] == f"{value} -fprofile-generate"
        else:
            assert gen[name] == value


def test_makeflags_escapes_spaces_in_values(monkeypatch):
    monkeypatch.setenv("MAKEFLAGS", "-s")
    assert b.makeflags(["A=x", "OPT_FAST=-O2 -fprofile-use"]) == \
        "-s A=x OPT_FAST=-O2\\ -fprofile-use"
    monkeypatch.delenv("MAKEFLAGS")
    assert b.makeflags(["A=x"]) == "A=x"


def test_pgo_is_its_own_cache_entry_and_only_for_verilator():
    plain = b.build_options("verilator", None, [])
    pgo = b.build_options("verilator", None, [], pgo=True)
    assert "pgo" not in plain
    assert {k: v for k, v in pgo.items() if k != "pgo"} == plain
    assert pgo["pgo"]["training"] == b.PGO_TRAINING
    assert pgo["pgo"]["use"] == b.PGO_USE_FLAGS
    assert "pgo" not in b.build_options("icarus", None, [], pgo=True)


def test_pgo_key_follows_the_training_sources(tmp_path, monkeypatch):
    for sub in ("cosim", "rtl"):
        (tmp_path / sub).mkdir()
    (tmp_path / "cosim" / "jobs.py").write_text("a = 1\n")
    (tmp_path / "rtl" / "regmap.py").write_text("r = 1\n")
    monkeypatch.setattr(b, "REPO_ROOT", tmp_path)
    first = b.pgo_key()
    assert b.pgo_key() == first
    (tmp_path / "cosim" / "jobs.py").write_text("a = 2\n")
    assert b.pgo_key()["training_sources"] != first["training_sources"]
