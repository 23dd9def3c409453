"""Designs from other git revisions, for side-by-side benchmarks (:mod:`bench.compare`,
:mod:`bench.area`).

:func:`checkout` unpacks a revision into a temporary folder (``git archive``, so the working
tree and its branches are left alone); :func:`design_in` elaborates the design there, in a
separate Python process that imports that tree's ``rtl`` and ``harness`` (its own Verilog export
and testbench wrapper), and returns a :class:`harness.build.Design`. Runs in a tree use the
shared simulation cache (``PCSIM_CACHE_DIR``), so an unchanged design is not rebuilt."""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import build as cb

__all__ = ["REPO", "checkout", "design_in", "tree_env"]

REPO = Path(__file__).resolve().parent.parent

_EXPORT = ("import json, sys; from harness.build import soc_design; d = soc_design(); "
           "json.dump({'top': d.top, 'verilog': d.verilog, 'ports': d.ports, "
           "'clk_hz': d.clk_hz}, sys.stdout)")


@contextlib.contextmanager
def checkout(ref: str):
    """A temporary folder holding the files of git revision ``ref`` of this repository."""
    rev = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=REPO,
                         capture_output=True, text=True)
    if rev.returncode:
        raise SystemExit(f"not a git revision here: {ref!r}")
    with tempfile.TemporaryDirectory(prefix="pcsim-ref-") as tmp:
        archive = subprocess.Popen(["git", "archive", rev.stdout.strip()], cwd=REPO,
                                   stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", tmp], stdin=archive.stdout, check=True)
        if archive.wait():
            raise SystemExit(f"git archive {ref} failed")
        yield Path(tmp)


def tree_env(tree: Path) -> dict:
    """Environment for a Python process that must use ``tree``'s packages and the shared
    simulation cache."""
    return dict(os.environ, PYTHONPATH=str(tree), PCSIM_CACHE_DIR=str(cb.cache_root()))


def design_in(tree: Path) -> cb.Design:
    """The ``audio_soc`` design as the tree at ``tree`` elaborates it."""
    out = subprocess.run([sys.executable, "-c", _EXPORT], cwd=tree, env=tree_env(tree),
                         capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    return cb.Design(top=d["top"], verilog=d["verilog"], ports=tuple(d["ports"]),
                     clk_hz=d["clk_hz"])
