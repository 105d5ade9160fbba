"""What `invoke init` reads around a project's code: git, its CI, its tests, its routes.

Detection only, and each answer comes with where it came from, so init can say
why it chose what it wrote. Kept apart from `project` (package and entry point):
these rules read the repository a project lives in, not the package itself.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

ROUTE_METHODS = frozenset(
    {"get", "post", "head", "route", "api_route", "add_url_rule", "add_api_route", "add_route"}
)
"""Decorator or call names whose first argument is a route path (FastAPI, Flask, Starlette)."""
ROUTE_CALLS = frozenset({"Route", "path", "re_path"})
"""Calls that declare a route by path: Starlette's Route, Django's path and re_path."""
HEALTH_WORDS = ("health", "live", "ready", "ping", "status", "alive")
"""Route words in order of preference: a path with `health` in it wins over `/ping`."""
REMOTE_TIERS = ("integration", "e2e")
"""Tiers whose existing tests may reach a deployed service rather than the app in-process."""
URL_VARIABLE = re.compile(
    r"^(?:[A-Z0-9_]*_)?(?:BASE|API|SERVICE|APP|SERVER|SITE|TARGET|STAGING|PROD|PRODUCTION"
    r"|LIVE|DEPLOY|DEPLOYED|PUBLIC|E2E)?_?(?:URL|URI|HOST|ENDPOINT)$"
)
"""A variable naming where the service under test runs: BASE_URL, API_HOST, SERVICE_URL."""
DATASTORE = re.compile(r"DATABASE|(^|_)DB_|REDIS|BROKER|CELERY|CACHE|MONGO|AMQP|KAFKA|SQL|S3")
"""Variables of a test's own services, not of a deployed app: DATABASE_URL, REDIS_URL."""
MOCKS = re.compile(
    r"^\s*(?:import|from)\s+(respx|responses|httpretty|vcr|pytest_httpserver)\b", re.MULTILINE
)
"""A module that imports an HTTP mock names remote hosts without reaching them."""
RESERVED_DOMAINS = (".example", ".test", ".invalid", ".localhost", ".local", "example.com")
"""Hosts that never resolve to a real service (RFC 2606), used in examples and mocks."""
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1", "testserver", "test"})  # noqa: S104 - compared, never bound
PYTHON_IN_CI = re.compile(r"^\s*-?\s*python(?:-version)?\s*:\s*(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Chosen:
    """A detected value and where it came from, for init to print."""

    value: str
    source: str


def _git(root: Path, *args: str) -> str | None:
    """One git query's output, or None when git, the repository or the answer is missing."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    answer = done.stdout.strip()
    return answer if done.returncode == 0 and answer else None


def choose_branch(origin_head: str | None, current: str | None, configured: str | None) -> Chosen:
    """origin's HEAD, else the current branch when it is main or master, else git's default.

    A repository whose default is `master` gets `master`: with `main` written, the
    image tags and the CD workflow would never fire on its pushes.
    """
    if origin_head:
        return Chosen(origin_head.removeprefix("refs/remotes/origin/"), "origin/HEAD")
    if current in ("main", "master"):
        return Chosen(current, "the current branch")
    if configured:
        return Chosen(configured, "git config init.defaultBranch")
    return Chosen("main", "no remote HEAD, main/master branch or init.defaultBranch")


def default_branch(root: Path) -> Chosen:
    """The repository's default branch, read from git (see `choose_branch`)."""
    return choose_branch(
        _git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"),
        _git(root, "symbolic-ref", "--quiet", "--short", "HEAD"),
        _git(root, "config", "--get", "init.defaultBranch"),
    )


def git_root(root: Path) -> Path | None:
    top = _git(root, "rev-parse", "--show-toplevel")
    return Path(top).resolve() if top else None


def workflow_home(root: Path, top: Path | None) -> str:
    """The project's directory relative to the repository root, "." when they are one.

    GitHub reads workflows from the repository root's .github/ only, so a project
    in a subdirectory gets its workflows there, run in its directory. A project
    that keeps a .github/ of its own (a copy of the repository, an example) keeps it.
    """
    here = root.resolve()
    if top is None or top == here or (here / ".github").exists() or not here.is_relative_to(top):
        return "."
    return here.relative_to(top).as_posix()


def ci_versions(texts: Iterable[str]) -> list[str]:
    """Every `python-version:` (or matrix `python:`) 3.x value in workflow files."""
    found: list[str] = []
    for text in texts:
        for value in PYTHON_IN_CI.findall(text):
            found += re.findall(r"(?<![\d.])(3\.\d{1,2})(?![\d])", value.split("#")[0])
    return found


def ci_python(directories: Sequence[Path], requires: str | None) -> Chosen | None:
    """The newest Python the project's own CI runs that requires-python allows.

    `directories`: the project's first (the source is named from it), then the
    repository root when the project's workflows live there.
    """
    files = [
        path
        for directory in directories
        for pattern in ("*.yml", "*.yaml")
        for path in sorted((directory / ".github" / "workflows").glob(pattern))
    ]
    texts = {path: path.read_text(encoding="utf-8", errors="replace") for path in files}
    spec = _specifier(requires)
    best: Chosen | None = None
    for path, text in texts.items():
        for version in ci_versions([text]):
            allowed = spec is None or spec.contains(version) or spec.contains(f"{version}.99")
            if allowed and (best is None or _minor(version) > _minor(best.value)):
                best = Chosen(version, relative(path, directories[0]))
    return best


def _specifier(requires: str | None) -> SpecifierSet | None:
    try:
        return SpecifierSet(requires) if requires else None
    except ValueError:
        return None


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def migrations(root: Path) -> Chosen | None:
    """alembic with a root alembic.ini; Flask-Migrate with migrations/alembic.ini."""
    if (root / "alembic.ini").is_file():
        return Chosen("alembic", "alembic.ini")
    if (root / "migrations" / "alembic.ini").is_file():
        return Chosen("flask-migrate", "migrations/alembic.ini (Flask-Migrate)")
    return None


def route_paths(source: str) -> list[str]:
    """Route paths a module declares: decorators and calls whose first argument is a path."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    prefixes = _router_prefixes(tree)
    paths: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ROUTE_METHODS:
            owner = func.value.id if isinstance(func.value, ast.Name) else ""
            paths.append(prefixes.get(owner, "") + first.value)
        elif isinstance(func, ast.Name) and func.id in ROUTE_CALLS:
            paths.append(first.value if first.value.startswith("/") else f"/{first.value}")
    return [path for path in paths if path.startswith("/")]


def _router_prefixes(tree: ast.Module) -> dict[str, str]:
    """`router = APIRouter(prefix="/api")` at module level: router's routes start with /api."""
    prefixes: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        for keyword in node.value.keywords:
            value = keyword.value
            if keyword.arg in ("prefix", "url_prefix") and isinstance(value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(value.value, str):
                        prefixes[target.id] = value.value.rstrip("/")
    return prefixes


def health_route(paths: Sequence[str]) -> str | None:
    """The declared route most likely to be the health check, by HEALTH_WORDS' order."""
    for word in HEALTH_WORDS:
        for path in paths:
            segments = [s for s in path.lower().split("/") if s]
            if segments and word in segments[-1] and "{" not in path and "<" not in path:
                return path
    return None


def find_health_route(*code: Path) -> str | None:
    """The health route the project's code (packages or single modules) declares."""
    files = [f for top in code for f in ([top] if top.is_file() else sorted(top.rglob("*.py")))]
    paths: list[str] = []
    for path in files:
        try:
            paths += route_paths(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
    return health_route(paths)


def remote_signs(source: str) -> list[str]:
    """What in a test module points at a deployed service: URL variables, non-local URLs."""
    signs: list[str] = []
    for name in re.findall(
        r"""(?:environ(?:\.get)?|getenv)\s*[\[(]\s*["']([A-Z0-9_]+)["']""", source
    ):
        if is_service_variable(name) and name not in signs:
            signs.append(name)
    if MOCKS.search(source):
        return signs
    for host in re.findall(r"""["']https?://([^/:"'\s]+)""", source):
        lowered = host.lower()
        local = lowered in LOCAL_HOSTS or lowered.startswith("127.")
        if not local and not lowered.endswith(RESERVED_DOMAINS) and host not in signs:
            signs.append(host)
    return signs


def is_service_variable(name: str) -> bool:
    """BASE_URL, API_URL, SERVICE_HOST: yes; DATABASE_URL, REDIS_URL: the test's own store."""
    return bool(URL_VARIABLE.match(name)) and not DATASTORE.search(name)


@dataclass(frozen=True)
class RemoteTier:
    """A tier of the project's own whose tests reach a deployed service."""

    tier: str
    variables: tuple[str, ...]
    """The URL variables its tests read; CD sets each to the deployed service's URL."""
    evidence: str
    """`file: sign`, for init's note."""


def remote_tiers(tests: Path) -> tuple[RemoteTier, ...]:
    """Existing integration/e2e tiers whose tests read a URL variable or name a remote host."""
    found: list[RemoteTier] = []
    for tier in REMOTE_TIERS:
        variables: list[str] = []
        evidence = ""
        for path in sorted((tests / tier).rglob("*.py")):
            try:
                signs = remote_signs(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, OSError):
                continue
            variables += [s for s in signs if is_service_variable(s) and s not in variables]
            if signs and not evidence:
                evidence = f"{path.relative_to(tests.parent).as_posix()}: {signs[0]}"
        if evidence:
            found.append(RemoteTier(tier, tuple(variables), evidence))
    return tuple(found)


def has_tests(directory: Path, skip: Iterable[str] = ()) -> bool:
    """Any test module under `directory`, outside the subdirectories named in `skip`."""
    skipped = {directory / name for name in skip}
    return any(
        not any(parent in skipped for parent in path.parents)
        for pattern in ("test_*.py", "*_test.py")
        for path in directory.rglob(pattern)
    )


def relative(path: Path, start: Path) -> str:
    """`path` from `start`, with `..` where it lies outside (the repository root's .github)."""
    return Path(os.path.relpath(path, start)).as_posix()
