"""The sessions, run by real nox with real ruff, mypy, bandit, pip-audit, pytest, xdist, coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.run import Result, nox
from support.sample import make_project, write

PASSING = ("lint", "type", "smoke", "unit", "integration", "database", "e2e")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    project = make_project(tmp_path_factory.mktemp("clean") / "app", workers="2")
    return project, nox(project, "-s", *PASSING)


def test_clean_project_passes_every_session(clean: tuple[Path, Result]) -> None:
    project, result = clean
    assert result.code == 0, result
    for name in PASSING:
        assert f"* {name}: success" in result.output, result
    # The plugin ran in the session, the tier selected its tests, and xdist was on.
    assert "shipline: tier unit; unmarked tests count as unit" in result.output
    assert "created: 2/2 workers" in result.output
    assert "Required test coverage of 80% reached" in result.output
    # Reports land in one predictable place per tier.
    for tier in ("smoke", "unit", "integration", "database", "e2e"):
        assert (project / "reports" / tier / "junit.xml").is_file()
        assert (project / "reports" / tier / "coverage.xml").is_file()
    # The live e2e test is skipped locally and says why.
    assert "live tests skipped (auto: local run" in result.output


def test_warm_rerun_reuses_and_passes_arguments_through(clean: tuple[Path, Result]) -> None:
    project, _ = clean
    result = nox(project, "-R", "-s", "unit", "--", "-k", "secret", "-p", "no:randomly")
    assert result.code == 0, result
    assert "pip install" not in result.output
    assert "1 passed, 7 deselected" in result.output or "1 passed" in result.output, result
    assert "test_add" not in result.output


def test_security_fails_loudly_when_the_audit_service_is_unreachable(
    tmp_path: Path,
) -> None:
    # This machine reaches the package index but not PyPI's JSON API, exactly the
    # case where pip-audit itself exits 0 with "No known vulnerabilities found".
    project = make_project(tmp_path / "app")
    result = nox(project, "-s", "security")
    assert result.code != 0, result
    assert "No issues identified." in result.output  # bandit ran and passed first
    assert "pip-audit could not audit" in result.output, result
    assert "is the vulnerability service reachable?" in result.output
    assert "Session security aborted: pip-audit could not audit" in result.output


FAULTS = {
    "lint-error": (
        "lint",
        {"src/sample_app/extra.py": '"""Extra."""\n\nimport os\n'},
        ["F401", "ruff check found lint errors"],
    ),
    "format-error": (
        "lint",
        {"src/sample_app/extra.py": '"""Extra."""\n\n\ndef f( x:int )->int:\n    return x\n'},
        ["src/sample_app/extra.py", "1 file would be reformatted", "ruff format would reformat files"],
    ),
    "type-error": (
        "type",
        {"src/sample_app/extra.py": '"""Extra."""\n\n\ndef f() -> int:\n    return "x"\n'},
        ["Incompatible return value type", "mypy found type errors"],
    ),
    "bandit-finding": (
        "security",
        {
            "src/sample_app/extra.py": (
                '"""Extra."""\n\nimport subprocess\n\n\ndef run(cmd: str) -> int:\n'
                "    return subprocess.call(cmd, shell=True)\n"
            )
        },
        ["B602", "bandit found issues of medium severity or above"],
    ),
    "failing-test": (
        "unit",
        {"tests/test_more.py": "from sample_app.core import add\n\n\ndef test_wrong():\n"
                               "    assert add(1, 1) == 3\n"},
        ["1 of 3 unit tests failed"],
    ),
    "coverage-under-gate": (
        "unit",
        {
            "src/sample_app/extra.py": '"""Extra."""\n\n\ndef untested(x: int) -> int:\n'
            + "".join(f"    x = x + {i}\n" for i in range(12))
            + "    return x\n"
        },
        ["Required test coverage of 80% not reached", "is under the 80% gate"],
    ),
    "empty-tier": (
        "e2e",
        {"tests/e2e/test_e2e.py": None},
        ["shipline: tier 'e2e' selected no tests", "tier 'e2e' selected no tests"],
    ),
    "expired-audit-ignore": (
        "security",
        {
            "pyproject.toml+": (
                "\n[tool.shipline.security]\naudit-ignore = [\n"
                '  { id = "CVE-2024-23342", reason = "ecdsa timing; we never sign", '
                "until = 2025-01-31 },\n]\n"
            )
        },
        ["pip-audit ignore CVE-2024-23342 expired on 2025-01-31"],
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_planted_fault_fails_the_right_session_and_names_the_cause(
    tmp_path: Path, fault: str
) -> None:
    session, files, expected = FAULTS[fault]
    project = make_project(tmp_path / "app")
    for relative, text in files.items():
        if text is None:
            (project / relative).unlink()
        elif relative.endswith("+"):
            target = project / relative[:-1]
            target.write_text(target.read_text() + text)
        else:
            write(project, relative, text)
    result = nox(project, "-s", session)
    assert result.code == 1, result
    for text in expected:
        assert text in result.output, result
    assert f"Session {session} aborted" in result.output or (
        f"Session {session} failed" in result.output
    ), result


def test_github_actions_gets_annotations(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    write(project, "src/sample_app/extra.py", '"""Extra."""\n\nimport os\n')
    result = nox(project, "-s", "lint", env={"GITHUB_ACTIONS": "true"})
    assert result.code == 1
    assert "::error title=ruff (f401),file=" in result.output.lower(), result


BAD_CONFIG = {
    "bad-value": (
        '\n[tool.shipline.tiers.unit]\ncoverage-fail-under = "high"\n',
        'shipline: error: tool.shipline.tiers.unit.coverage-fail-under: expected a number '
        'from 0 to 100, got "high"',
    ),
    "unknown-key": (
        "\n[tool.shipline.lint]\npath = [\"src\"]\n",
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
