"""Sessions install the shipline that registered them, however that shipline was installed.

Each case makes a fresh venv, installs shipline there one way (a wheel file, a
git URL at a commit, a PEP 503 index on loopback, a plain or an editable
checkout), then runs that venv's `nox -s unit` on a sample project. Where the
original came from is removed before nox runs when it can be, so the session
cannot lean on it; shipline is not on the package registry at all.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.run import Result, run
from support.sample import make_project
from uv import find_uv_bin

ROOT = Path(__file__).parents[2]
SOURCE = ("pyproject.toml", "README.md", "src", "templates")
"""What shipline's build reads: the rest of the checkout stays out of the copies."""


def uv(*args: str, cwd: Path | None = None) -> None:
    done = subprocess.run(
        [find_uv_bin(), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"uv {' '.join(args)}\n{done.stdout}\n{done.stderr}"


def git(*args: str, cwd: Path) -> str:
    identity = ("-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false")
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """shipline's wheel from this worktree, built once for every case."""
    out = tmp_path_factory.mktemp("dist")
    uv("build", "--wheel", "--out-dir", str(out), str(ROOT))
    (wheel,) = out.glob("shipline-*.whl")
    return wheel


def checkout_copy(target: Path) -> Path:
    """The worktree's current source (committed or not), as a checkout of its own."""
    target.mkdir(parents=True)
    for name in SOURCE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def index(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PEP 503 simple index holding only shipline, served on loopback."""
    root = tmp_path_factory.mktemp("index")
    (root / "simple" / "shipline").mkdir(parents=True)
    shutil.copy2(built, root / "simple" / "shipline" / built.name)
    page = f'<html><body><a href="{built.name}">{built.name}</a></body></html>\n'
    (root / "simple" / "shipline" / "index.html").write_text(page)
    (root / "simple" / "index.html").write_text('<a href="shipline/">shipline</a>\n')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def from_wheel(python: Path, tmp: Path, built: Path, index: str) -> str:
    copy = tmp / "downloads" / built.name
    copy.parent.mkdir()
    shutil.copy2(built, copy)
    uv("pip", "install", "--python", str(python), str(copy))
    shutil.rmtree(copy.parent)  # the session must not need the file any more
    return "shipline from wheel file://"


def from_git(python: Path, tmp: Path, built: Path, index: str) -> str:
    repo = checkout_copy(tmp / "repo")
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "shipline", cwd=repo)
    commit = git("rev-parse", "HEAD", cwd=repo)
    uv("pip", "install", "--python", str(python), f"shipline @ git+{repo.as_uri()}@{commit}")
    shutil.rmtree(repo)
    return f"shipline from git+{repo.as_uri()}@{commit}"


def from_index(python: Path, tmp: Path, built: Path, index: str) -> str:
    # The loopback index comes first; shipline's dependencies from the default one.
    uv("pip", "install", "--python", str(python), "--index", index, "shipline==0.1.0")
    return "shipline from an index"


def from_checkout(python: Path, tmp: Path, built: Path, index: str) -> str:
    source = checkout_copy(tmp / "source")
    uv("pip", "install", "--python", str(python), str(source))
    shutil.rmtree(source)
    return f"shipline from checkout {source}"


def from_editable(python: Path, tmp: Path, built: Path, index: str) -> str:
    source = checkout_copy(tmp / "source")
    uv("pip", "install", "--python", str(python), "-e", str(source))
    return f"shipline editable from {source}"


Install = Callable[[Path, Path, Path, str], str]


@pytest.mark.parametrize(
    "install",
    [from_wheel, from_git, from_index, from_checkout, from_editable],
    ids=["wheel", "git", "index", "checkout", "editable"],
)
def test_unit_passes_however_shipline_was_installed(
    install: Install, built: Path, index: str, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    uv("venv", "--quiet", "--python", sys.executable, str(venv))
    python = venv / "bin" / "python"
    said = install(python, tmp_path, built, index)
    project = make_project(tmp_path / "app")
    result: Result = run([str(python), "-m", "nox", "-s", "unit"], cwd=project)
    assert result.code == 0, result
    assert said in result.output, result
    assert "Session unit was successful" in result.output
    assert "shipline: tier unit; unmarked tests count as unit" in result.output
    assert "2 passed, 6 deselected" in result.output, result
