"""Where a project's ASGI or WSGI app is, read from its source with `ast`.

`invoke init` renders the app's entry into the image's gunicorn command and the
test client. The project's code is never imported: importing it can need a
database, secrets or packages not installed where init runs. Three shapes are
found, in this order of preference:

- an app built at module level, `app = FastAPI()` (or Flask, Starlette, ...),
- an app a factory of the project builds at module level, `app = create_app()`,
- a factory alone, `def create_app(): ... return app`, given to gunicorn as
  `module:create_app()` (gunicorn >= 20.1 calls it once per worker).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipline.packages import Code

ASGI_FACTORIES = {
    "FastAPI": "fastapi",
    "Starlette": "starlette",
    "Quart": "quart",
    "Litestar": "litestar",
    "get_asgi_application": "django",
}
WSGI_FACTORIES = {"Flask": "flask", "Bottle": "bottle", "get_wsgi_application": "django"}
PREFERRED_MODULES = ("main", "app", "asgi", "wsgi", "api", "server", "application")
LOOKED_FOR = (
    "a module-level app = FastAPI(...), Starlette, Flask, Django's get_asgi_application() "
    "and others, app = create_app() of a factory defined in the project, or such a "
    "factory alone"
)
"""What detection looks for, as the error says it when it finds nothing."""


@dataclass(frozen=True)
class App:
    """One candidate for the project's app."""

    entry: str
    """`module:attribute`, or `module:factory()` for a factory, as gunicorn takes it."""
    asgi: bool
    framework: str


@dataclass(frozen=True)
class _Module:
    name: str
    tree: ast.Module


@dataclass(frozen=True)
class _Factory:
    module: str
    function: str
    framework: str
    asgi: bool
    no_arguments: bool
    """Whether gunicorn can call it as `factory()`."""


def _called(node: ast.expr) -> str | None:
    """The name a call calls: `FastAPI` of `FastAPI()` and of `fastapi.FastAPI()`."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _framework(name: str | None) -> tuple[str, bool] | None:
    """(framework, asgi) of a constructor's name, or None for any other call."""
    if name in ASGI_FACTORIES:
        return ASGI_FACTORIES[name], True
    if name in WSGI_FACTORIES:
        return WSGI_FACTORIES[name], False
    return None


def _files(root: Path, code: Sequence[Code]) -> list[tuple[Path, Path]]:
    """(module file, the directory its import name starts from), likely homes first:
    shallow before deep, then main.py, app.py, ... before other names, then by path."""
    files: list[tuple[Path, Path]] = []
    for item in code:
        path = root / item.path
        base = path.parent
        files += [(path, base)] if path.is_file() else [(f, base) for f in path.rglob("*.py")]

    def rank(pair: tuple[Path, Path]) -> tuple[int, int, str]:
        stem = pair[0].stem
        preferred = PREFERRED_MODULES.index(stem) if stem in PREFERRED_MODULES else 99
        return (len(pair[0].relative_to(root).parts), preferred, pair[0].as_posix())

    return sorted(files, key=rank)


def _parsed(root: Path, code: Sequence[Code]) -> Iterator[_Module]:
    """Each module of the code with its import name; unparsable ones are passed over."""
    for path, base in _files(root, code):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        parts = path.relative_to(base).with_suffix("").parts
        yield _Module(".".join(parts[:-1] if parts[-1] == "__init__" else parts), tree)


def _factories(modules: Sequence[_Module]) -> dict[str, _Factory]:
    """Top-level functions that build an app and return something, by name (first wins)."""
    found: dict[str, _Factory] = {}
    for module in modules:
        for node in module.tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name in found:
                continue
            inner = list(ast.walk(node))
            built = next(
                (f for n in inner if isinstance(n, ast.Call) and (f := _framework(_called(n)))),
                None,
            )
            returns = any(isinstance(n, ast.Return) and n.value is not None for n in inner)
            if built is None or not returns:
                continue
            args = node.args
            required = len(args.posonlyargs) + len(args.args) - len(args.defaults)
            no_arguments = required == 0 and None not in args.kw_defaults
            found[node.name] = _Factory(module.name, node.name, *built, no_arguments)
    return found


def _assigned(node: ast.stmt) -> tuple[str, ast.expr] | None:
    """(name, value) of a module-level `name = value` or `name: T = value`."""
    if isinstance(node, ast.Assign):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        return (names[0], node.value) if names else None
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return (node.target.id, node.value) if isinstance(node.target, ast.Name) else None
    return None


def find_apps(root: Path, code: Sequence[Code]) -> list[App]:
    """Every candidate app in the project's code, the one to take first.

    Apps bound at module level come before factories alone; a factory some
    module-level name already calls is not listed again. Within each, the modules'
    order of `_files`, then the order in the module.
    """
    modules = list(_parsed(root, code))
    factories = _factories(modules)
    apps: list[App] = []
    used: set[str] = set()
    for module in modules:
        for node in module.tree.body:
            assigned = _assigned(node)
            if assigned is None:
                continue
            name, value = assigned
            called = _called(value)
            built = _framework(called)
            if built is None and called in factories:
                factory = factories[called]
                built = (factory.framework, factory.asgi)
                used.add(called)
            if built is not None:
                apps.append(App(f"{module.name}:{name}", built[1], built[0]))
    if apps:
        return apps
    return [
        App(f"{f.module}:{f.function}()", f.asgi, f.framework)
        for f in factories.values()
        if f.no_arguments and f.function not in used
    ]
