"""One package rule: the configuration and `invoke init` find the same package.

Each case is read both ways, through `config.parse` and `project.read`, on the same
files. The cases are the ones where the two used to differ: a package not named
after the distribution, a namespace package, a single module, several packages.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shipline import config, packages, project
from shipline.errors import ConfigError

APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def layout(root: Path, name: str, files: tuple[str, ...], extra: str = "") -> str:
    """Write a pyproject for `name` and `files` (each holding a FastAPI app)."""
    text = f'[project]\nname = "{name}"\nversion = "0"\n{extra}'
    (root / "pyproject.toml").write_text(text)
    for relative in files:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("" if path.name == "__init__.py" else APP)
    return text


def both(root: Path, text: str) -> tuple[tuple[str | None, str | None], tuple[str, str]]:
    cfg = config.parse(tomllib.loads(text), root)
    found = project.read(root)
    return (cfg.package, cfg.package_dir), (found.package, found.package_dir)


@pytest.mark.parametrize(
    ("name", "files", "expected"),
    [
        ("my-app", ("src/my_app/__init__.py", "src/my_app/main.py"), ("my_app", "src/my_app")),
        ("My.App", ("my_app/__init__.py", "my_app/main.py"), ("my_app", "my_app")),
        # the distribution's name is not the package's: the only package is taken
        ("acme-server", ("src/app/__init__.py", "src/app/main.py"), ("app", "src/app")),
        ("acme-server", ("app/__init__.py", "app/main.py", "tests/__init__.py"), ("app", "app")),
        # several packages: the one named after the project
        (
            "acme",
            ("src/acme/__init__.py", "src/acme/main.py", "src/tools/__init__.py"),
            ("acme", "src/acme"),
        ),
        # a namespace package (no __init__.py) named after the project
        ("my-app", ("src/my_app/main.py",), ("my_app", "src/my_app")),
        # a single module
        ("app", ("app.py",), ("app", "app.py")),
        ("app", ("src/app.py",), ("app", "src/app.py")),
    ],
    ids=[
        "src-layout",
        "flat-layout",
        "dist-name-differs-src",
        "dist-name-differs-flat",
        "several-one-named",
        "namespace-package",
        "module",
        "src-module",
    ],
)
def test_config_and_init_find_the_same_package(
    tmp_path: Path, name: str, files: tuple[str, ...], expected: tuple[str, str]
) -> None:
    from_config, from_init = both(tmp_path, layout(tmp_path, name, files))
    assert from_config == from_init == expected


def test_the_package_found_is_what_type_and_security_check(tmp_path: Path) -> None:
    text = layout(tmp_path, "acme-server", ("src/app/__init__.py",))
    cfg = config.parse(tomllib.loads(text), tmp_path)
    assert cfg.type.paths == cfg.security.bandit_targets == ("src/app",)


def test_a_single_module_gives_init_its_entry_point(tmp_path: Path) -> None:
    layout(tmp_path, "app", ("app.py",))
    found = project.read(tmp_path)
    assert found.entry == "app:app"
    assert found.framework == "fastapi"


def test_several_packages_none_named_after_the_project(tmp_path: Path) -> None:
    """No package to name, but code to check: src/'s, the layout's (beta at the root is
    no more the project's code than scripts would be)."""
    text = layout(tmp_path, "acme-server", ("src/alpha/__init__.py", "beta/__init__.py"))
    cfg = config.parse(tomllib.loads(text), tmp_path)
    assert (cfg.package, cfg.package_dir, cfg.type.paths) == (None, None, ("src/alpha",))
    with pytest.raises(ConfigError, match=r"no ASGI or WSGI app found in src/alpha \(looked"):
        project.read(tmp_path)


def test_an_unnamed_directory_without_init_is_not_a_package(tmp_path: Path) -> None:
    text = layout(tmp_path, "acme-server", ("static/app.py", "docs/__init__.py"))
    assert config.parse(tomllib.loads(text), tmp_path).package is None
    assert packages.find_package(tmp_path, "acme-server", None) is None


def test_a_configured_package_that_is_missing_is_the_same_error_both_ways(tmp_path: Path) -> None:
    text = layout(
        tmp_path, "acme", ("src/acme/__init__.py",), extra='[tool.shipline]\npackage = "ap"\n'
    )
    with pytest.raises(ConfigError) as from_config:
        config.parse(tomllib.loads(text), tmp_path)
    with pytest.raises(ConfigError) as from_init:
        project.read(tmp_path)
    assert str(from_config.value) == str(from_init.value)
    assert str(from_config.value).startswith("tool.shipline.package: no package 'ap'")


def test_the_configured_package_wins_over_the_named_one(tmp_path: Path) -> None:
    text = layout(
        tmp_path,
        "acme",
        ("src/acme/__init__.py", "src/core/__init__.py", "src/core/main.py"),
        extra='[tool.shipline]\npackage = "core"\n',
    )
    assert both(tmp_path, text) == (("core", "src/core"), ("core", "src/core"))
