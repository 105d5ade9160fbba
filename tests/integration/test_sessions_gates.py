"""Advisory and disabled checks, and lint adopting a project's own linters, with real nox."""

from __future__ import annotations

from pathlib import Path

from support.run import nox
from support.sample import make_project, write

TYPE_ERROR = '"""Extra."""\n\n\ndef f() -> int:\n    return "x"\n'

WIDE = '''\
"""A line black leaves at 100 columns and ruff's defaults (88) would reformat."""


def describe(first_value: int, second_value: int, third_value: int, fourth_value: int) -> str:
    return f"{first_value} {second_value} {third_value} {fourth_value}"
'''

BLACK_FLAKE8_ISORT = """
[tool.black]
line-length = 100

[tool.isort]
profile = "black"
line_length = 100
known_first_party = ["sample_app"]
"""

FLAKE8 = "[flake8]\nmax-line-length = 100\nextend-ignore = E203\n"


def test_an_advisory_check_reports_its_failure_and_passes(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app", extra="[tool.shipline.type]\nadvisory = true\n")
    write(project, "src/sample_app/extra.py", TYPE_ERROR)
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = nox(project, "-s", "type", env=env)
    assert result.code == 0, result
    assert "Incompatible return value type" in result.output, result  # mypy's own error
    assert (
        "advisory: type failed: mypy found type errors (not failing the build; "
        "set advisory = false to enforce in [tool.shipline.type])"
    ) in result.output, result
    assert "::warning title=shipline type (advisory)::mypy found type errors" in result.output
    assert "Session type was successful" in result.output
    text = summary.read_text()
    assert "### ⚠️ shipline `type` (advisory)" in text, text
    assert "Advisory, not failing the build: mypy found type errors" in text


def test_a_disabled_check_says_so_in_one_line_and_installs_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app", extra="[tool.shipline.security]\nenabled = false\n")
    result = nox(project, "-s", "security")
    assert result.code == 0, result
    line = "security: disabled in config ([tool.shipline.security] enabled = false); nothing run"
    assert f"Session security skipped: {line}" in result.output, result
    assert "install" not in result.output, result
    assert not (project / ".nox").exists()  # no environment was even made
    listed = nox(project, "-l")
    assert "security [checks] -> disabled: bandit" in listed.output, listed
    assert "type [checks,fast] -> static types" in listed.output, listed


def test_lint_adopts_the_projects_black_flake8_and_isort(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app", extra=BLACK_FLAKE8_ISORT)
    write(project, ".flake8", FLAKE8)
    write(project, "src/sample_app/wide.py", WIDE)
    result = nox(project, "-s", "lint")
    assert result.code == 0, result
    assert "lint: the project's own setup: flake8 (.flake8), black ([tool.black]), " in (
        result.output
    ), result
    assert "isort ([tool.isort])" in result.output
    assert 'add [tool.ruff] line-length = 100, lint.select = ["E", "W", "F", "I"]' in (
        result.output
    )
    assert "would be left unchanged" in result.output  # black ran, under its line length
    installs = [line for line in result.output.splitlines() if "pip install" in line]
    assert installs, result
    assert not any("ruff" in line for line in installs), installs  # nothing ruff checks

    # A line over the project's own limit, which black cannot split: flake8 names it.
    long_line = f'MESSAGE = "{"x" * 100}"\n'
    write(project, "src/sample_app/long.py", f'"""Long."""\n\n{long_line}')
    failed = nox(project, "-R", "-s", "lint")
    assert failed.code == 1, failed
    assert "long.py:3:101: E501 line too long (112 > 100 characters)" in failed.output, failed
    assert "flake8 found lint errors under the project's rules (.flake8)" in failed.output
