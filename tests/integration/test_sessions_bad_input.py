"""Bad configuration and unknown names: one line, non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.run import nox
from support.sample import make_project, write

BAD_CONFIG = {
    "bad-value": (
        '\n[tool.shipline.tiers.unit]\ncoverage-fail-under = "high"\n',
        "shipline: error: tool.shipline.tiers.unit.coverage-fail-under: expected a number "
        'from 0 to 100, got "high"',
    ),
    "unknown-key": (
        '\n[tool.shipline.lint]\npath = ["src"]\n',
        "shipline: error: tool.shipline.lint.path: unknown key; did you mean 'paths'?",
    ),
    "malformed-toml": ("\n[tool.shipline\n", "pyproject.toml: not valid TOML"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIG))
def test_config_errors_end_nox_with_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    text, message = BAD_CONFIG[case]
    project = make_project(tmp_path / "app")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + text)
    result = nox(project, "-s", "unit")
    assert result.code == 2, result
    assert message in result.output
    assert "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.strip()] == [
        line for line in result.output.splitlines() if "shipline: error:" in line
    ], result


def test_unknown_names(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    unknown_session = nox(project, "-s", "unti")
    assert unknown_session.code != 0
    assert "Sessions not found: unti" in unknown_session.output
    write(project, "noxfile.py", 'import shipline.nox\n\nshipline.nox.register("lnt")\n')
    unknown_check = nox(project, "-l")
    assert unknown_check.code == 2
    assert "shipline: error: unknown check 'lnt'; expected one of: lint, type" in (
        unknown_check.output
    )
    assert "Traceback" not in unknown_check.output


def test_register_a_subset(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    write(project, "noxfile.py", 'import shipline.nox\n\nshipline.nox.register("lint", "unit")\n')
    listing = nox(project, "-l")
    assert listing.code == 0, listing
    sessions = [line.split()[1] for line in listing.output.splitlines() if line.startswith("* ")]
    assert sessions == ["lint", "unit"]
