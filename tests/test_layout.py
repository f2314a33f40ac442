"""The package layout: every module imports on its own, and no import cycle exists, hidden or not.

The import graph is read from the source (``ast``), including imports inside
functions, so a cycle dodged by a function-local import is caught too. The
only function-local imports allowed are those of optional or heavy
third-party packages (Ray, matplotlib, ...), which are not magnet modules
and so never appear in this graph.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("magnet", "predictors")


def _modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__main__":
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module a dotted import name refers to (``a.b.c`` may name ``c`` inside module ``a.b``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the magnet/predictors modules it imports anywhere in its code (docstrings excluded)."""
    graph = {}
    for module, path in MODULES.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] in PACKAGES and (target := _resolve(name)) and target != module:
                    deps.add(target)
        graph[module] = deps
    return graph


def test_graph_reader_sees_function_local_imports(tmp_path):
    src = "def f():\n    from magnet.protocol.splits import reveal\n"
    tree = ast.parse(src)
    found = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert found == ["magnet.protocol.splits"] and _resolve("magnet.protocol.splits.reveal") == "magnet.protocol.splits"


def test_no_import_cycles():
    graph = import_graph()
    # A module importing its own package's __init__ is not a cycle for Python; drop those edges.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        pytest.fail(f"import cycle: {' -> '.join(e.args[1])}")


def test_stats_know_nothing_of_helm_or_the_protocol():
    graph = import_graph()
    for module, deps in graph.items():
        if module.startswith("magnet.stats"):
            outside = {d for d in deps if not d.startswith("magnet.stats")}
            assert not outside, f"{module} imports {sorted(outside)}"
        if module.startswith(("magnet.protocol", "magnet.stats", "magnet.backends")):
            assert not any(d.startswith("magnet.cli") for d in deps), f"{module} imports the CLI: {sorted(deps)}"


def test_public_import_paths_are_kept():
    import magnet

    for name in magnet.__all__:
        assert getattr(magnet, name) is not None
    for module in ("magnet.predictor", "magnet.testing", "magnet.helm_objects", "magnet.evaluation",
                   "magnet.backends.helm.download_helm_results", "magnet.backends.helm.outputs"):
        assert module in MODULES, module


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """Each module is imported first, with no magnet module loaded, so an order-dependent cycle shows up.

    One fresh interpreter for all: third-party packages stay loaded between modules (that is what makes it fast),
    magnet's and the predictors' modules are dropped from ``sys.modules`` before each import.
    """
    code = ("import importlib, sys, traceback\n"
            "bad = []\n"
            f"for name in {sorted(MODULES)!r}:\n"
            "    for m in [m for m in sys.modules if m.split('.')[0] in ('magnet', 'predictors')]: del sys.modules[m]\n"
            "    try: importlib.import_module(name)\n"
            "    except Exception as e: bad.append(f'{name}: {type(e).__name__}: {e}')\n"
            "print('\\n'.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr[-2000:]
