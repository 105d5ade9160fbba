"""Lint adopts the project's own flake8, black and isort, as a plan of data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shipline import catalogue, config, linters
from shipline.catalogue import Invocation
from shipline.errors import ConfigError


def make(tmp_path: Path, toml: str = "", files: dict[str, str] | None = None) -> config.Config:
    (tmp_path / "src" / "app").mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    return config.parse(tomllib.loads('[project]\nname = "app"\n' + toml), tmp_path)


def lint(cfg: config.Config, ctx: Invocation | None = None) -> list[tuple[str, ...]]:
    return [step.argv for step in catalogue.get("lint").steps(cfg, ctx or Invocation())]


def tools(cfg: config.Config, ctx: Invocation | None = None) -> tuple[str, ...]:
    return catalogue.tool_requirements(cfg, catalogue.get("lint"), ctx)


BLACK = "[tool.black]\nline-length = 100\n"
DEV = "[project.optional-dependencies]\ndev = [{}]\n"


def test_a_project_with_nothing_set_up_gets_ruff(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    assert linters.detect(cfg) == linters.Setup()
    assert lint(cfg) == [("ruff", "check", "."), ("ruff", "format", "--check", ".")]
    assert tools(cfg) == ("ruff>=0.6",)
    assert linters.notes(cfg) == ()


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({".flake8": "[flake8]\nmax-line-length = 100\n"}, ".flake8"),
        (
            {"setup.cfg": "[metadata]\nname = app\n\n[flake8]\nignore = E501\n"},
            "setup.cfg [flake8]",
        ),
        ({"tox.ini": "[tox]\n[flake8]\nmax-line-length = 99\n"}, "tox.ini [flake8]"),
    ],
)
def test_flake8_is_found_where_it_reads_its_settings(
    tmp_path: Path, files: dict[str, str], where: str
) -> None:
    cfg = make(tmp_path, files=files)
    assert linters.detect(cfg).flake8 == where
    check, formatter = catalogue.get("lint").steps(cfg, Invocation(posargs=("--count",)))
    assert check.argv == ("flake8", ".", "--count")
    assert check.explain == f"flake8 found lint errors under the project's rules ({where})"
    assert formatter.argv == ("ruff", "format", "--check", ".")  # no formatter of its own


def test_a_setup_cfg_without_a_flake8_section_is_not_a_flake8_setup(tmp_path: Path) -> None:
    cfg = make(tmp_path, files={"setup.cfg": "[metadata]\nname = app\n# [flake8] later\n"})
    assert linters.detect(cfg).flake8 is None


def test_black_flake8_and_isort_together_replace_ruff(tmp_path: Path) -> None:
    cfg = make(
        tmp_path,
        BLACK + '[tool.isort]\nprofile = "black"\n',
        files={".flake8": "[flake8]\nmax-line-length = 100\n"},
    )
    assert lint(cfg) == [
        ("flake8", "."),
        ("black", "--check", "."),
        ("isort", "--check-only", "."),
    ]
    assert tools(cfg) == ("flake8>=6", "black>=23", "isort>=5.12")
    using, move = linters.notes(cfg)
    assert using == (
        "lint: the project's own setup: flake8 (.flake8), black ([tool.black]), "
        "isort ([tool.isort])"
    )
    assert move.startswith(
        "lint: to move to ruff: ruff check replaces flake8, ruff format replaces black, "
        "ruff check's I rules replaces isort; "
        'add [tool.ruff] line-length = 100, lint.select = ["E", "W", "F", "I"]'
    )
    assert 'linters = "ruff"' in move
    assert linters.MIGRATION in move


def test_tools_declared_in_the_dev_extra_count_as_set_up_and_keep_their_pins(
    tmp_path: Path,
) -> None:
    cfg = make(tmp_path, DEV.format('"black==24.8.0", "flake8~=7.0", "flake8-bugbear>=24"'))
    setup = linters.detect(cfg)
    assert setup.black == "declared in project.optional-dependencies.dev"
    assert setup.flake8 == "declared in project.optional-dependencies.dev"
    # The plugin goes in with flake8, so the codes the project selects exist.
    assert tools(cfg) == ("flake8~=7.0", "black==24.8.0", "flake8-bugbear>=24")


def test_a_project_with_ruff_config_checks_with_ruff_but_keeps_its_black(tmp_path: Path) -> None:
    cfg = make(
        tmp_path,
        BLACK + "[tool.ruff]\nline-length = 100\n",
        files={".flake8": "[flake8]\n"},
    )
    assert linters.detect(cfg).ruff == "[tool.ruff]"
    assert lint(cfg) == [("ruff", "check", "."), ("black", "--check", ".")]
    assert tools(cfg) == ("ruff>=0.6", "black>=23")
    (tmp_path / "ruff.toml").write_text("line-length = 100\n")
    assert linters.detect(make(tmp_path, files={".isort.cfg": "[settings]\n"})).ruff == "ruff.toml"


def test_isort_is_found_in_its_own_file_and_ini_sections(tmp_path: Path) -> None:
    assert linters.detect(make(tmp_path, files={".isort.cfg": "[settings]\n"})).isort == (
        ".isort.cfg"
    )
    other = tmp_path / "other"
    cfg = make(other, files={"setup.cfg": "[tool:isort]\nprofile = black\n"})
    assert linters.detect(cfg).isort == "setup.cfg [tool:isort]"
    assert lint(cfg)[-1] == ("isort", "--check-only", ".")


def test_linters_ruff_turns_adoption_off(tmp_path: Path) -> None:
    cfg = make(tmp_path, BLACK + '[tool.shipline.lint]\nlinters = "ruff"\n')
    assert lint(cfg) == [("ruff", "check", "."), ("ruff", "format", "--check", ".")]
    assert linters.notes(cfg) == ()
    with pytest.raises(ConfigError, match=r"tool.shipline.lint.linters: expected one of"):
        make(tmp_path, '[tool.shipline.lint]\nlinters = "flake8"\n')


def test_sarif_still_comes_from_ruff_when_flake8_checks(tmp_path: Path) -> None:
    # The lint action's `sarif` output promises a file; ruff writes it whoever gates.
    cfg = make(tmp_path, files={".flake8": "[flake8]\n"})
    sarif = Invocation(environ={catalogue.SARIF_ENV: "true"})
    assert lint(cfg, sarif)[0][:3] == ("ruff", "check", "--exit-zero")
    assert lint(cfg, sarif)[1] == ("flake8", ".")
    assert tools(cfg, sarif) == ("ruff>=0.6", "flake8>=6")


def test_the_hint_takes_flake8s_line_length_without_black(tmp_path: Path) -> None:
    cfg = make(tmp_path, files={"tox.ini": "[flake8]\nmax-line-length = 120\n"})
    _, move = linters.notes(cfg)
    assert 'add [tool.ruff] line-length = 120, lint.select = ["E", "W", "F"]' in move
    assert move.startswith("lint: to move to ruff: ruff check replaces flake8; ")
