"""No import cycle inside ``generator/slokit``: the package reads top-down, and a module can be understood,
tested and moved without the ones that import it.

The graph is built from the source with ``ast``: every ``import`` and ``from ... import`` anywhere in a
module (inside functions too, where a cycle usually hides), relative imports resolved; ``from a import b``
is an edge to the module ``a.b`` when there is one, else to ``a``. Imports under ``if TYPE_CHECKING:`` count
too: a module that needs another's types to be read depends on it. A package's ``__init__`` that only hands
names on (``slokit.spec``, ``slokit.cli``) is a module like any other: importing it is an edge to it, and its
own imports are its edges.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "generator" / "slokit"

Graph = dict[str, set[str]]


def module_name(path: Path, source_root: Path) -> str:
    parts = list(path.relative_to(source_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.AST, importer: str, is_package: bool, modules: set[str]) -> Iterator[str]:
    """The modules of ``modules`` that one import statement names."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = importer.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            parent = ".".join(base + ([node.module] if node.module else []))
        else:
            parent = node.module or ""
        for alias in node.names:
            yield f"{parent}.{alias.name}" if f"{parent}.{alias.name}" in modules else parent


def import_graph(package: Path) -> Graph:
    """Module -> the modules of the same package it imports."""
    source_root = package.parent
    files = {module_name(p, source_root): p for p in sorted(package.rglob("*.py"))}
    modules = set(files)
    graph: Graph = {name: set() for name in modules}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            graph[name].update(t for t in _imported(node, name, is_package, modules) if t in modules)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def describe(graph: Graph, component: list[str]) -> str:
    members = set(component)
    return "; ".join(f"{a} -> {b}" for a in component for b in sorted(graph[a] & members))


def test_no_import_cycle_in_slokit() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 50 and "slokit.cli.app" in graph  # the whole package was read
    assert [describe(graph, c) for c in cycles(graph)] == []


def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import helper\n",
        "pkg/b.py": "def helper() -> None:\n    from pkg import a  # at call time\n",
        "pkg/c.py": "import pkg.a\n",
    })
    graph = import_graph(pkg)
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
    assert describe(graph, ["pkg.a", "pkg.b"]) == "pkg.a -> pkg.b; pkg.b -> pkg.a"


def test_relative_imports_and_package_faces_are_followed(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "from .sub import handed_on\nfrom .sub.leaf import x\n",
        "pkg/sub/__init__.py": "from pkg.low import y\n",
        "pkg/sub/leaf.py": "from . import other\nfrom .. import low\n",
        "pkg/sub/other.py": "",
    })
    graph = import_graph(pkg)
    assert graph["pkg.low"] == {"pkg.sub", "pkg.sub.leaf"}
    assert graph["pkg.sub.leaf"] == {"pkg.sub.other", "pkg.low"}
    assert cycles(graph) == [["pkg.low", "pkg.sub", "pkg.sub.leaf"]]


def test_a_layered_package_has_no_cycle(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/types.py": "",
        "pkg/emit.py": "from pkg.types import T\n",
        "pkg/run.py": "from pkg import emit, types\n\ndef f() -> None:\n    import pkg.emit\n",
    })
    graph = import_graph(pkg)
    assert graph["pkg.run"] == {"pkg.emit", "pkg.types"}
    assert cycles(graph) == []
