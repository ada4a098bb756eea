"""The package's import graph (read with ``ast``): no cycle, imports run only downwards through
the layers of DESIGN §1, and scoring (``results``, ``metrics``) needs neither the dataset loaders
nor OpenCV nor torch -- checked statically and, with a blocking import hook, at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import siambench

PACKAGE = Path(siambench.__file__).resolve().parent

#: The layers, lowest first (DESIGN §1: ``boxes`` <- ``datasets``, ``metrics`` <- ``protocols``,
#: ``results`` <- ``report`` <- ``cli``). A module may import its own component (the first name
#: under ``siambench``) and the components of lower layers, never a component of its own layer or
#: a higher one. ``siambench`` is the package's ``__init__`` (the version).
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer) for layer in (
    {"siambench", "errors", "fileio", "names"},   # leaves
    {"boxes", "textio"},                          # shared primitives
    {"datasets", "results", "models"},            # data, raw results, networks
    {"metrics", "trackers"},                      # scoring (reads results.types), trackers
    {"protocols"},                                # runs trackers on datasets, writes runs
    {"report", "train"},
    {"run"},
    {"tune"},                                     # studies of many runs
    {"cli"},
    {"__main__"},
))

#: What the scoring packages must never import, directly or through another module.
FORBIDDEN_FOR_SCORING = ("siambench.datasets", "cv2", "torch")
SCORING = ("siambench.results", "siambench.metrics")


# ------------------------------------------------------------------------------- the graph

def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file of every module of the package at ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at module level or inside functions (lazy imports run too),
    except those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            if not _type_checking_block(child):
                stack.append(child)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports: package modules by dotted name (``from pkg import mod``
    names the submodule), other imports by their top-level name (``cv2``, ``torch``, ...).
    Parent packages run by an import (``a`` for ``import a.b``) are not edges: see
    :func:`reachable`."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                bases, members = [alias.name for alias in node.names], []
            else:
                if node.level:
                    parts = package.split(".")
                    parts = parts[:len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                members = [f"{base}.{alias.name}" for alias in node.names]
                # ``from pkg import mod`` imports the submodule (``pkg`` only as its parent)
                bases = [] if all(m in modules for m in members) else [base]
            for base in bases:
                if base == root.name or base.startswith(root.name + "."):
                    targets.add(base)
                elif base != "__future__":
                    targets.add(base.split(".")[0])
            targets.update(member for member in members if member in modules)
        graph[name] = targets - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The package modules' import cycles: each strongly connected component of more than one
    module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def component(module: str) -> str:
    """``siambench.datasets.base`` -> ``datasets``; ``siambench`` -> ``siambench``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_of(module: str) -> int | None:
    name = component(module)
    return next((i for i, layer in enumerate(LAYERS) if name in layer), None)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``"a -> b"`` for every import of a package module from a higher layer, or from another
    component of its own layer."""
    bad = []
    for module, targets in sorted(graph.items()):
        mine = layer_of(module)
        for target in sorted(t for t in targets if t in graph):
            theirs = layer_of(target)
            if mine is None or theirs is None or component(module) == component(target):
                continue
            if theirs >= mine:
                bad.append(f"{module} -> {target}")
    return bad


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module importing ``start`` can load: its imports, theirs, ..., and the ``__init__``
    of each package on the way (importing ``a.b.c`` runs ``a`` and ``a.b`` first)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(graph.get(module, ()))
        parent = module.rpartition(".")[0]
        if parent and parent in graph:
            todo.append(parent)
    return seen


def forbidden_for_scoring(graph: dict[str, set[str]]) -> list[str]:
    """``"module: forbidden, ..."`` for each scoring module that can load a forbidden module."""
    bad = []
    for module in sorted(graph):
        if not module.startswith(SCORING):
            continue
        hits = sorted(m for m in reachable(graph, module)
                      if m.startswith(FORBIDDEN_FOR_SCORING) and (
                          m in FORBIDDEN_FOR_SCORING or m.startswith(tuple(
                              f + "." for f in FORBIDDEN_FOR_SCORING))))
        if hits:
            bad.append(f"{module}: {', '.join(hits)}")
    return bad


# ------------------------------------------------------------------------------- the tests

@cache
def package_graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE)


def test_the_graph_reader_sees_lazy_relative_and_submodule_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "siambench"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import leaf\n")
    (pkg / "sub" / "leaf.py").write_text(
        "from typing import TYPE_CHECKING\nimport numpy.linalg\n"
        "if TYPE_CHECKING:\n    from siambench.top import Hidden\n"
        "def f():\n    from siambench.top import g\n")
    (pkg / "top.py").write_text("from siambench.sub import leaf\nimport cv2\n")
    graph = import_graph(pkg)
    assert graph["siambench.sub"] == {"siambench.sub.leaf"}
    assert graph["siambench.sub.leaf"] == {"typing", "numpy", "siambench.top"}
    assert graph["siambench.top"] == {"siambench.sub.leaf", "cv2"}
    assert cycles(graph) == [["siambench.sub.leaf", "siambench.top"]]
    assert "cv2" in reachable(graph, "siambench.sub.leaf")


def test_every_module_has_a_layer() -> None:
    unplaced = sorted({component(m) for m in module_names(PACKAGE) if layer_of(m) is None})
    assert not unplaced, f"place these in LAYERS (tests/test_import_graph.py): {unplaced}"


def test_no_import_cycle() -> None:
    found = cycles(package_graph())
    assert not found, "import cycles (lazy imports count):\n" + "\n".join(map(" <-> ".join, found))


def test_imports_run_only_downwards_through_the_layers() -> None:
    bad = upward_imports(package_graph())
    assert not bad, "imports from a lower layer to a higher one (or across one layer):\n" + \
        "\n".join(bad)


def test_results_and_metrics_never_load_datasets_opencv_or_torch() -> None:
    bad = forbidden_for_scoring(package_graph())
    assert not bad, "scoring modules that can load datasets, cv2 or torch:\n" + "\n".join(bad)


_BLOCKING = textwrap.dedent("""
    import importlib, pkgutil, sys

    BLOCKED = ("cv2", "torch", "siambench.datasets")

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name in BLOCKED or name.startswith(tuple(b + "." for b in BLOCKED)):
                raise ImportError(f"blocked import of {name}")
            return None

    sys.meta_path.insert(0, Block())
    import numpy as np
    import siambench.metrics, siambench.results
    for package in (siambench.results, siambench.metrics):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name != "siambench.metrics._ope_kernel":  # numba: loaded on first use
                importlib.import_module(info.name)
    from pathlib import Path
    from siambench.metrics import score_ope, score_vot
    from siambench.results import INIT, REGION, Run, read_tracker, write_ope, write_vot
    folder = Path(sys.argv[1])
    gt = np.array([[1.0, 1.0, 4.0, 4.0]] * 3)
    write_ope(folder / "ope", "a", gt + 0.5, np.ones(3))
    runs = read_tracker(folder / "ope").sequences["a"]
    print(score_ope({"t": {"a": [r.boxes for r in runs]}}, {"a": gt}).overall.shape[0])
    codes = np.array([INIT, REGION, REGION], dtype=np.int8)
    regions = np.full((3, 8), np.nan)
    regions[1:, :4] = gt[1:]
    write_vot(folder / "vot", "a", Run(codes=codes, regions=regions), 1)
    runs = read_tracker(folder / "vot").sequences["a"]
    print(score_vot({"t": {"a": runs}}, {"a": gt}, interval=(1, 2)).overall.shape[0])
    loaded = sorted(m for m in sys.modules if m in BLOCKED or m.startswith(BLOCKED))
    print("loaded:", loaded)
""")


def test_scoring_runs_with_datasets_opencv_and_torch_blocked(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _BLOCKING, str(tmp_path)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["1", "1", "loaded:", "[]"]


def test_the_hook_blocks() -> None:
    code = _BLOCKING.split("import numpy as np")[0] + "import cv2\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "blocked import of cv2" in out.stderr
