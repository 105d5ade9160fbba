"""`invoke tags` itself, in-process, over every metadata-action conformance case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from invoke.program import Program

from shipline.tasks import namespace

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "metadata-action-tags.json").read_text()
)
GITHUB_VARS = (
    "GITHUB_REF",
    "GITHUB_SHA",
    "GITHUB_EVENT_NAME",
    "GITHUB_REPOSITORY",
    "GITHUB_BASE_REF",
    "GITHUB_HEAD_REF",
    "SOURCE_DATE_EPOCH",
)


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"  # JSON strings are TOML strings


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_invoke_tags_prints_metadata_actions_tags(
    case: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pyproject = (
        f'[project]\nname = "app"\n[tool.shipline]\ndefault-branch = "{case["default_branch"]}"\n'
        "[tool.shipline.image]\n"
        f'name = "ghcr.io/acme/app"\nflavor = {toml_list(case["flavor"])}\n'
    )
    if case["tags"]:
        pyproject += f"tags = {toml_list(case['tags'])}\n"
    else:  # no rules given: metadata-action's own defaults, not shipline's
        defaults = [
            "type=schedule",
            "type=ref,event=branch",
            "type=ref,event=tag",
            "type=ref,event=pr",
        ]
        pyproject += f"tags = {toml_list(defaults)}\n"
    (tmp_path / "pyproject.toml").write_text(pyproject)
    monkeypatch.chdir(tmp_path)
    for name in GITHUB_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in case["env"].items():
        monkeypatch.setenv(name, value)
    Program(namespace=namespace).run(["invoke", "tags"], exit=False)
    printed = capsys.readouterr().out.splitlines()
    assert printed == case["expected_tags"]


def test_no_tag_for_a_branch_says_why_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """stdout stays metadata-action's empty list; stderr names the default branch."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\n[tool.shipline]\ndefault-branch = "master"\n'
    )
    monkeypatch.chdir(tmp_path)
    for name in GITHUB_VARS:
        monkeypatch.delenv(name, raising=False)
    argv = ["invoke", "tags", "--ref", "refs/heads/feature", "--sha", "a" * 40, "--event", "push"]
    Program(namespace=namespace).run(argv, exit=False)
    printed = capsys.readouterr()
    assert printed.out == ""
    assert "no tag rule matches this git context" in printed.err
    assert "the default branch, 'master'" in printed.err
    assert "a build would tag sha-aaaaaaa" in printed.err
