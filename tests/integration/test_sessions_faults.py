"""One planted fault at a time makes the right session fail and name the cause."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.run import nox
from support.sample import make_project, write

FAULTS = {
    "lint-error": (
        "lint",
        {"src/sample_app/extra.py": '"""Extra."""\n\nimport os\n'},
        ["F401", "ruff check found lint errors"],
    ),
    "format-error": (
        "lint",
        {"src/sample_app/extra.py": '"""Extra."""\n\n\ndef f( x:int )->int:\n    return x\n'},
        [
            "src/sample_app/extra.py",
            "1 file would be reformatted",
            "ruff format would reformat files",
        ],
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
        {
            "tests/test_more.py": "from sample_app.core import add\n\n\ndef test_wrong():\n"
            "    assert add(1, 1) == 3\n"
        },
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
