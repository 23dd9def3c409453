"""The dependency rules of DESIGN.md section 4, checked on the source: rtl knows no software,
portdrv knows neither rtl nor cosim, miniports use portdrv and only rtl's register-map data."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> modules it must not import (prefix match)
FORBIDDEN = {
    "rtl": ("cosim", "portdrv", "miniports", "boardhost"),
    "portdrv": ("rtl", "cosim", "miniports", "boardhost"),
    "miniports": ("cosim", "boardhost"),
}
# the board's host side (it uses cosim's build helpers, host-memory allocator and WAV files):
# only the application and the tests use it
BOARDHOST_USERS = ("cosim/cli.py",)
# rtl modules the miniports may import: pure data and models, no Amaranth (the register map,
# the codec's gain table and its exact arithmetic)
MINIPORT_RTL_ALLOWED = ("rtl.regmap", "rtl.gain")


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def sources(package):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package):
    bad = []
    for path in sources(package):
        for mod in imported_modules(path):
            top = mod.split(".")[0]
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
            if package == "miniports" and top == "rtl" and mod not in MINIPORT_RTL_ALLOWED:
                bad.append(f"{path.relative_to(ROOT)} imports {mod} (only the register map)")
    assert not bad, "\n".join(bad)


def test_only_the_application_imports_boardhost():
    bad = [f"{path.relative_to(ROOT)} imports {mod}"
           for package in ("rtl", "portdrv", "miniports", "cosim", "bench")
           for path in sources(package)
           if str(path.relative_to(ROOT)) not in BOARDHOST_USERS
           for mod in imported_modules(path) if mod.split(".")[0] == "boardhost"]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", MINIPORT_RTL_ALLOWED)
def test_driver_data_is_pure_python(module):
    """Drivers read the register map and the gain table without Amaranth: those rtl modules
    must not import it."""
    mods = set(imported_modules(ROOT / (module.replace(".", "/") + ".py")))
    assert not any(m.split(".")[0] == "amaranth" for m in mods), mods
