"""The dependency rules of docs/architecture.md, checked on the source of every installed
package: imports point one way, no cycles, no imports hidden in functions, no private names
across modules, nothing installed imports bench/."""

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level modules it must not import
FORBIDDEN = {
    "rtl": ("portdrv", "miniports", "harness", "cosim", "pcsim", "bench", "cocotb",
            "boardhost"),
    "portdrv": ("rtl", "miniports", "harness", "cosim", "pcsim", "bench", "cocotb",
                "amaranth", "boardhost"),
    "miniports": ("harness", "cosim", "pcsim", "bench", "cocotb", "amaranth", "boardhost"),
    "harness": ("portdrv", "miniports", "cosim", "pcsim", "bench", "boardhost"),
    "cosim": ("pcsim", "bench", "boardhost"),
    "pcsim": ("portdrv", "miniports", "cosim", "bench", "cocotb"),
    # the board seen from the host: the drivers over the serial bridge, in the pcsim process
    "boardhost": ("cosim", "pcsim", "bench", "cocotb"),
}
PACKAGES = tuple(FORBIDDEN)
# rtl modules the miniports may import: pure data and models, no Amaranth (the register map,
# the codec's gain table and its exact arithmetic)
MINIPORT_RTL_ALLOWED = ("rtl.regmap", "rtl.gain")


def module_name(path):
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def sources(package):
    return sorted((ROOT / package).rglob("*.py"))


def all_sources():
    return [path for package in PACKAGES for path in sources(package)]


def parse(path):
    return ast.parse(path.read_text(), filename=str(path))


def absolute(node, path):
    """The absolute module an ImportFrom names (relative imports resolved)."""
    if node.level == 0:
        return node.module
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path, tree=None):
    """(module, names, node) for every import in the file, relative ones made absolute."""
    for node in ast.walk(tree or parse(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node
        elif isinstance(node, ast.ImportFrom):
            yield absolute(node, path), tuple(a.name for a in node.names), node


def module_level_imports(path):
    """Modules imported at module level (not under TYPE_CHECKING), with imported submodules."""
    tree = parse(path)
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = absolute(node, path)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package):
    bad = []
    for path in sources(package):
        for mod, _, _ in imports(path):
            top = mod.split(".")[0]
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
            if package == "miniports" and top == "rtl" and mod not in MINIPORT_RTL_ALLOWED:
                bad.append(f"{path.relative_to(ROOT)} imports {mod} (only the register map)")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_local_imports(package):
    """Imports live at the top of a module, where the dependency graph can see them."""
    bad = []
    for path in sources(package):
        tree = parse(path)
        top_level = set(map(id, tree.body))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top_level:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "imports inside functions or blocks:\n" + "\n".join(bad)


def test_no_import_cycles():
    modules = {module_name(p): p for p in all_sources()}
    graph = {name: {m for m in module_level_imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    # a package's __init__ is imported with any of its modules: follow that edge too
    for name in modules:
        parent = name.rpartition(".")[0]
        if parent in modules and parent != name:
            graph[name].add(parent)
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_private_names_across_modules():
    """``from x import _name`` and ``module._name`` reach into another module's privates."""
    bad = []
    for path in all_sources():
        tree = parse(path)
        module_aliases = set()
        for mod, names, node in imports(path, tree):
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {mod}.{name}")
            if isinstance(node, ast.Import):
                module_aliases.update(a.asname or a.name.split(".")[0] for a in node.names)
            else:
                module_aliases.update(a.asname or a.name for a in node.names)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in module_aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} uses "
                           f"{node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


def test_bench_is_not_installed():
    """bench/ measures the installed packages; none of them may need it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(pattern.startswith("bench") for pattern in include)
    assert sorted(p.rstrip("*") for p in include) == sorted(PACKAGES)


@pytest.mark.parametrize("module", MINIPORT_RTL_ALLOWED)
def test_driver_data_is_pure_python(module):
    """Drivers read the register map and the gain table without Amaranth: those rtl modules
    must not import it."""
    mods = {m for m, _, _ in imports(ROOT / (module.replace(".", "/") + ".py"))}
    assert not any(m.split(".")[0] == "amaranth" for m in mods), mods


def test_the_rules_can_fail(tmp_path, monkeypatch):
    """The checks see a violation when there is one (an upward import, a hidden import)."""
    pkg = tmp_path / "portdrv"
    pkg.mkdir()
    (pkg / "bad.py").write_text("import cosim.system\n\ndef f():\n    import json\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="imports cosim.system"):
        test_imports_point_one_way("portdrv")
    with pytest.raises(AssertionError, match="bad.py:4"):
        test_no_function_local_imports("portdrv")
