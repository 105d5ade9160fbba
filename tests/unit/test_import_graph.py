"""shipline's import graph, from the source: no cycles, and the lint action stays light.

Every import counts, at module level or inside a function: `import a.b`,
`from a import b` (an edge to the module `a.b` when it is one, else to `a`),
and relative imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

SRC = Path(__file__).parents[2] / "src"
PACKAGE = "shipline"


def module_files(src: Path = SRC) -> dict[str, Path]:
    """Every module under src/shipline by its dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(module: str, is_package: bool, tree: ast.AST) -> Iterator[tuple[str, str | None]]:
    """(module, name imported from it or None) for every import in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor.pop()
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield base, alias.name


def import_graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """Edges from each shipline module to the shipline modules it imports."""
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for base, name in _imported(module, path.name == "__init__.py", tree):
            if name is not None and f"{base}.{name}" in files:
                edges.add(f"{base}.{name}")
            elif base in files:
                edges.add(base)
        edges.discard(module)
        graph[module] = edges
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None when the graph has none."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    """Every module importing `start` may load, with the packages those live in."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        parents = [".".join(parts[:i]) for i in range(1, len(parts))]
        todo.extend([*graph.get(module, ()), *(p for p in parents if p in graph)])
    return seen


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import shipline.b\n")
    (pkg / "b.py").write_text("def f() -> None:\n    from shipline.sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("from . import c\nfrom .c import x\n")
    (pkg / "sub" / "c.py").write_text("from ..a import y\nx = 1\n")
    (pkg / "d.py").write_text("from shipline import sub\n")
    graph = import_graph(module_files(tmp_path))
    assert graph == {
        "shipline": set(),
        "shipline.a": {"shipline.b"},
        "shipline.b": {"shipline.sub.c"},
        "shipline.d": {"shipline.sub"},
        "shipline.sub": {"shipline.sub.c"},
        "shipline.sub.c": {"shipline.a"},
    }
    assert find_cycle(graph) == ["shipline.a", "shipline.b", "shipline.sub.c", "shipline.a"]
    assert find_cycle({**graph, "shipline.sub.c": set()}) is None
    assert reachable(graph, "shipline.sub.c") >= {"shipline", "shipline.sub"}


def test_shipline_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph(module_files()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_the_ci_entry_point_does_not_load_the_deploy_code() -> None:
    """`python -m shipline.ci lint` runs for every lint; it must not load `shipline.deploy`."""
    loaded = reachable(import_graph(module_files()), "shipline.ci")
    assert "shipline.actions" in loaded
    deploy = sorted(m for m in loaded if m == "shipline.deploy" or m.startswith("shipline.deploy."))
    assert deploy == []
    assert "shipline.tasks" not in loaded
