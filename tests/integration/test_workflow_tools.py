"""zizmor and GitHub's schemas over the actions and workflow templates, for real.

Each tool is also shown a planted fault, so these checks are known to be able to fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from support.run import run
from support.sample import subdirectory_project

from shipline import actions, project, scaffold

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
ACTION_FILES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "actions").glob("*/action.yml"))
WORKFLOW_FILES = sorted(
    # The templates as init renders them: the example service's are (test_example_wiring).
    str(p.relative_to(ROOT))
    for p in (ROOT / "examples" / "service" / ".github" / "workflows").glob("*.yml")
)


def zizmor(cwd: Path, *paths: str) -> tuple[int, list[object], str]:
    # Files are named one by one: given a directory, zizmor only collects
    # workflows under .github/workflows and would skip the templates silently.
    done = subprocess.run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--config",
            str(ROOT / "zizmor.yml"),
            "--persona",
            "auditor",
            "--format",
            "json",
            *paths,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    findings: list[object] = json.loads(done.stdout or "[]")
    return done.returncode, findings, done.stdout + done.stderr


def test_zizmor_finds_nothing_in_actions_and_templates() -> None:
    assert len(ACTION_FILES) >= 4
    assert WORKFLOW_FILES == [
        "examples/service/.github/workflows/cd.yml",
        "examples/service/.github/workflows/ci.yml",
    ]
    code, findings, output = zizmor(ROOT, *ACTION_FILES, *WORKFLOW_FILES)
    assert (code, findings) == (0, []), output
    for path in (*ACTION_FILES, *WORKFLOW_FILES):
        assert f"completed {path}" in output


def test_zizmor_finds_nothing_in_shiplines_own_workflow() -> None:
    result = run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--config",
            str(ROOT / "zizmor.yml"),
            ".github/workflows/ci.yml",
        ],
        cwd=ROOT,
    )
    assert result.code == 0, result
    assert "No findings to report" in result.output


def test_zizmor_catches_an_input_expanded_inside_run(tmp_path: Path) -> None:
    bad = tmp_path / "action.yml"
    text = (ROOT / "actions/test/action.yml").read_text()
    bad.write_text(
        text.replace("run: python -m shipline.ci test", 'run: echo "${{ inputs.args }}"')
    )
    code, findings, output = zizmor(tmp_path, "action.yml")
    assert code != 0, output
    assert any("template-injection" in json.dumps(f) for f in findings), output


def test_zizmor_catches_an_unpinned_third_party_action(tmp_path: Path) -> None:
    shutil.copy(ROOT / WORKFLOW_FILES[1], tmp_path / "ci.yml")
    path = tmp_path / "ci.yml"
    path.write_text(
        path.read_text().replace(
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
            "actions/checkout@v4",
            1,
        )
    )
    code, findings, output = zizmor(tmp_path, "ci.yml")
    assert code != 0
    assert any("unpinned-uses" in json.dumps(f) for f in findings), output


def check_jsonschema(schema: str, *paths: str, cwd: Path = ROOT) -> tuple[int, str]:
    result = run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, *paths], cwd=cwd)
    return result.code, result.output


def test_github_schemas_accept_every_action_and_workflow() -> None:
    assert check_jsonschema("vendor.github-actions", *ACTION_FILES) == (
        0,
        "ok -- validation done\n",
    )
    assert check_jsonschema("vendor.github-workflows", *WORKFLOW_FILES) == (
        0,
        "ok -- validation done\n",
    )


def test_github_schema_rejects_a_broken_action(tmp_path: Path) -> None:
    bad = tmp_path / "action.yml"
    bad.write_text(
        (ROOT / "actions/lint/action.yml").read_text().replace('using: "composite"', "using: bash")
    )
    code, output = check_jsonschema("vendor.github-actions", str(bad), cwd=tmp_path)
    assert code == 1, output
    assert "Schema validation errors were encountered" in output


def test_invoke_actions_check_passes_here_and_names_a_stale_file(tmp_path: Path) -> None:
    ok = run([sys.executable, "-m", "invoke", "actions", "--check"], cwd=ROOT)
    assert ok.code == 0, ok
    count = len(actions.all_actions())
    assert f"shipline: actions mirror the catalogue ({count})" in ok.output
    shutil.copytree(ROOT / "actions", tmp_path / "actions")
    shutil.copy(ROOT / "tasks.py", tmp_path / "tasks.py")
    stale = tmp_path / "actions/security/action.yml"
    stale.write_text(stale.read_text().replace('default: "false"', 'default: "true"'))
    result = run([sys.executable, "-m", "invoke", "actions", "--check"], cwd=tmp_path)
    assert result.code == 1
    assert result.output.strip() == (
        "shipline: error: actions/security/action.yml is out of date with the catalogue; "
        "run `invoke actions`"
    )
    fixed = run([sys.executable, "-m", "invoke", "actions"], cwd=tmp_path)
    assert fixed.output.strip() == "wrote actions/security/action.yml"
    assert run([sys.executable, "-m", "invoke", "actions", "--check"], cwd=tmp_path).code == 0


def test_workflows_for_a_project_in_a_subdirectory_pass_the_schema_and_zizmor(
    tmp_path: Path,
) -> None:
    """Written at the repository root, each shipline step run in the project's directory."""
    root = tmp_path / "repo"
    subdirectory_project(root / "services" / "api")
    found = project.read(root / "services" / "api")
    changes = {c.path: c for c in scaffold.plan(found)}
    for name in ("ci.yml", "cd.yml"):
        change = changes[f"../../.github/workflows/{name}"]
        (tmp_path / name).write_text(change.content)
        assert "working-directory: services/api" in change.content
    assert check_jsonschema("vendor.github-workflows", "ci.yml", "cd.yml", cwd=tmp_path) == (
        0,
        "ok -- validation done\n",
    )
    code, findings, output = zizmor(tmp_path, "ci.yml", "cd.yml")
    assert (code, findings) == (0, []), output


def test_a_sharded_ci_passes_the_schema_and_zizmor(tmp_path: Path) -> None:
    """The shard matrix, its artifacts and the combining job, as init renders them."""
    root = tmp_path / "service"
    shutil.copytree(ROOT / "examples" / "service", root, ignore=shutil.ignore_patterns(".nox"))
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.shipline.tiers.unit]\nshards = 3\n")
    changes = {c.path: c for c in scaffold.plan(project.read(root))}
    text = changes[".github/workflows/ci.yml"].content
    assert "shard: [1, 2, 3]" in text
    assert "actions/download-artifact@" in text
    (tmp_path / "ci.yml").write_text(text)
    assert check_jsonschema("vendor.github-workflows", "ci.yml", cwd=tmp_path) == (
        0,
        "ok -- validation done\n",
    )
    code, findings, output = zizmor(tmp_path, "ci.yml")
    assert (code, findings) == (0, []), output
