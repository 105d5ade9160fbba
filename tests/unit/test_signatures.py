"""Calls stay readable: a function of shipline's with more than four parameters takes the
rest by keyword, so a call never passes five bare values in an order to remember."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "shipline"
MOST_POSITIONAL = 4


def _is_invoke_task(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """invoke reads a task's options from its signature: those stay as invoke wants them."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name | ast.Attribute) and ast.unparse(target) == "task":
            return True
    return False


def crowded(source: str) -> list[str]:
    """Functions with more than four parameters and none of them keyword-only."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or _is_invoke_task(node):
            continue
        positional = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        if positional[:1] in (["self"], ["cls"]):
            positional = positional[1:]
        if len(positional) > MOST_POSITIONAL:
            found.append(f"{node.name} (line {node.lineno})")
    return found


def test_the_check_sees_crowded_signatures() -> None:
    source = (
        "def a(p, q, r, s, t): ...\n"
        "def b(p, *, q, r, s, t): ...\n"
        "class C:\n    def m(self, p, q, r, s): ...\n"
        "@task\ndef t(c, p, q, r, s): ...\n"
    )
    assert crowded(source) == ["a (line 1)"]


def test_no_function_takes_more_than_four_positional_parameters() -> None:
    found = {
        str(path.relative_to(SRC)): names
        for path in sorted(SRC.rglob("*.py"))
        if (names := crowded(path.read_text()))
    }
    assert found == {}
