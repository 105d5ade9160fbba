"""The lint, type and security actions, run step by step against sample projects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.composite import make_runner_python, run_action
from support.sample import make_project, write

ACTIONS = Path(__file__).parents[2] / "actions"


@pytest.fixture(scope="module")
def python_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_python(tmp_path_factory.mktemp("runner") / "python")


def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "app")
    return root


def test_lint_passes_clean_and_annotates_a_broken_project(tmp_path: Path, python_bin: Path) -> None:
    clean = run_action(
        ACTIONS / "lint/action.yml", {"python-version": "3.11"}, project(tmp_path / "a"), python_bin
    )
    assert clean.code == 0, clean
    assert "shipline: nox -s lint" in clean.log
    assert "### ✅ shipline `lint`" in clean.summary

    broken = project(tmp_path / "b")
    write(broken, "src/sample_app/extra.py", '"""Extra."""\n\nimport os\n')
    result = run_action(
        ACTIONS / "lint/action.yml", {"python-version": "3.11", "sarif": "true"}, broken, python_bin
    )
    assert result.code == 1, result
    assert "::error title=ruff (f401),file=" in result.log.lower()
    assert "### ❌ shipline `lint`" in result.summary
    assert "ruff check found lint errors" in result.summary
    sarif = json.loads(Path(result.outputs["sarif"]).read_text())
    rules = [r["ruleId"] for run in sarif["runs"] for r in run["results"]]
    assert "F401" in rules


def test_type_fails_on_a_type_error_with_matcher_lines(tmp_path: Path, python_bin: Path) -> None:
    clean = run_action(
        ACTIONS / "type/action.yml", {"python-version": "3.11"}, project(tmp_path / "a"), python_bin
    )
    assert clean.code == 0, clean

    broken = project(tmp_path / "b")
    write(broken, "src/sample_app/extra.py", '"""Extra."""\n\n\ndef f() -> int:\n    return "x"\n')
    result = run_action(ACTIONS / "type/action.yml", {"python-version": "3.11"}, broken, python_bin)
    assert result.code == 1, result
    matcher_path = re.search(r"::add-matcher::(\S+)", result.log)
    assert matcher_path, result
    matcher = json.loads(Path(matcher_path.group(1)).read_text())
    pattern = matcher["problemMatcher"][0]["pattern"][0]
    matches = [re.match(pattern["regexp"], line) for line in result.log.splitlines()]
    hits = [m for m in matches if m]
    assert hits, "the mypy problem matcher matched no line of real mypy output"
    hit = hits[0]
    assert hit.group(pattern["file"]) == "src/sample_app/extra.py"
    assert hit.group(pattern["line"]) == "5"
    assert hit.group(pattern["severity"]) == "error"
    assert "Incompatible return value type" in hit.group(pattern["message"])
    assert hit.group(pattern["code"]) == "return-value"


def test_an_advisory_type_check_passes_the_action_with_warnings(
    tmp_path: Path, python_bin: Path
) -> None:
    broken = make_project(tmp_path / "app", extra="[tool.shipline.type]\nadvisory = true\n")
    write(broken, "src/sample_app/extra.py", '"""Extra."""\n\n\ndef f() -> int:\n    return "x"\n')
    result = run_action(ACTIONS / "type/action.yml", {"python-version": "3.11"}, broken, python_bin)
    assert result.code == 0, result
    assert "advisory: type failed: mypy found type errors" in result.log, result
    assert "::warning title=shipline type (advisory)::mypy found type errors" in result.log
    assert "### ⚠️ shipline `type` (advisory)" in result.summary
    matcher_path = re.search(r"::add-matcher::(\S+)", result.log)
    assert matcher_path, result
    matcher = json.loads(Path(matcher_path.group(1)).read_text())["problemMatcher"][0]
    assert matcher["severity"] == "warning"
    pattern = matcher["pattern"][0]
    assert "severity" not in pattern  # mypy's "error:" cannot turn it back into an error
    hits = [m for line in result.log.splitlines() if (m := re.match(pattern["regexp"], line))]
    assert hits, "the advisory matcher matched no line of real mypy output"
    assert hits[0].group(pattern["file"]) == "src/sample_app/extra.py"
    assert hits[0].group(pattern["code"]) == "return-value"


def test_security_annotates_bandit_findings_and_summarises(
    tmp_path: Path, python_bin: Path
) -> None:
    broken = project(tmp_path / "b")
    write(
        broken,
        "src/sample_app/extra.py",
        '"""Extra."""\n\nimport subprocess\n\n\ndef run(cmd: str) -> int:\n'
        "    return subprocess.call(cmd, shell=True)\n",
    )
    result = run_action(
        ACTIONS / "security/action.yml",
        {"python-version": "3.11", "sarif": "true"},
        broken,
        python_bin,
    )
    assert result.code == 1, result
    assert "::error file=src/sample_app/extra.py,line=7,title=bandit B602::" in result.log
    assert "| B602 | high |" in result.summary
    sarif = json.loads(Path(result.outputs["sarif"]).read_text())
    assert any(r["ruleId"] == "B602" for run in sarif["runs"] for r in run["results"])


def test_security_on_a_clean_project_fails_only_at_the_unreachable_audit(
    tmp_path: Path, python_bin: Path
) -> None:
    result = run_action(
        ACTIONS / "security/action.yml",
        {"python-version": "3.11"},
        project(tmp_path / "a"),
        python_bin,
    )
    assert result.code == 1, result
    assert "bandit: no findings." in result.summary
    assert "pip-audit could not audit" in result.summary
    assert "| security | 1 | 0 |" in result.summary  # the security tests ran and passed
