"""The documentation matches the code: the register reference is what ``pcsim regmap``
generates today, and every repository file the code, the docs and the README name exists."""

import importlib
import re
from pathlib import Path

import pytest

from rtl.regmap import REGMAP

ROOT = Path(__file__).resolve().parent.parent
#: a repository path as code and docs write it: a known top-level folder, then a file name
PATH_RE = re.compile(r"\b((?:docs|rtl|portdrv|miniports|harness|cosim|pcsim|bench|tests|"
                     r"examples)/[\w./-]*\.(?:md|py|wav|mid|toml))\b")


def test_register_reference_is_current():
    """docs/registers.md is `pcsim regmap --format md`; regenerate it after changing
    rtl/regmap.py."""
    assert (ROOT / "docs" / "registers.md").read_text() == REGMAP.to_markdown(), \
        "docs/registers.md is stale: run `pcsim regmap --format md -o docs/registers.md`"


def texts():
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml"]
    files += sorted((ROOT / "docs").glob("*.md"))
    for package in ("rtl", "portdrv", "miniports", "harness", "cosim", "pcsim", "bench",
                    "tests"):
        files += sorted((ROOT / package).rglob("*.py"))
    return files


@pytest.mark.parametrize("path", texts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_named_files_exist(path):
    missing = sorted({m for m in PATH_RE.findall(path.read_text())
                      if "*" not in m and not (ROOT / m).exists()})
    assert not missing, f"{path.relative_to(ROOT)} names files that do not exist: {missing}"


def test_no_reference_to_design_documents_outside_the_repository():
    offenders = [str(p.relative_to(ROOT)) for p in texts()
                 if p != Path(__file__) and re.search(r"\bDESIGN(\.md)?\b|PORTCLS_NOTES", p.read_text())]
    assert not offenders, offenders


ROLE_RE = re.compile(r":(?:func|class|meth|mod|data|attr|exc):`~?([\w.]+)`")
PACKAGES = ("rtl", "portdrv", "miniports", "harness", "cosim", "pcsim")


def resolve(name):
    """Import the longest module prefix of ``name`` and look the rest up as attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


def test_docstring_references_resolve():
    """Every :func:/:class:/:mod: reference to one of our modules names something that
    exists (no stale docstrings)."""
    stale = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in ROLE_RE.findall(path.read_text()):
                if name.split(".")[0] not in PACKAGES:
                    continue
                try:
                    resolve(name)
                except (ImportError, AttributeError):
                    stale.append(f"{path.relative_to(ROOT)}: {name}")
    assert not stale, "\n".join(stale)
