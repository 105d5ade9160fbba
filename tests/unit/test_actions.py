from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from shipline import actions, catalogue, ci, summary
from shipline.errors import ShiplineError

ROOT = Path(__file__).parents[2]
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def test_one_action_per_session_and_every_session_has_one() -> None:
    by_name = {a.name: a for a in actions.check_actions()}
    assert list(by_name) == ["lint", "type", "security", "test", "coverage"]
    assert by_name["test"].sessions == ("smoke", "unit", "integration", "database", "e2e")
    covered = sorted(s for a in by_name.values() for s in a.sessions)
    assert covered == sorted(catalogue.NAMES)


@pytest.mark.parametrize("action", actions.check_actions(), ids=lambda a: a.name)
def test_rendered_actions_follow_the_security_rules(action: actions.Action) -> None:
    spec = yaml.safe_load(actions.render(action))
    assert spec["runs"]["using"] == "composite"
    uses = [s["uses"] for s in spec["runs"]["steps"] if "uses" in s]
    assert uses == [u.split(" #")[0] for u in actions.PINNED.values()]
    for pinned in actions.PINNED.values():
        assert SHA_PIN.match(pinned), pinned
    for step in spec["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step
    assert set(spec["inputs"]) >= {"python-version", "working-directory", "args"}
    run = spec["runs"]["steps"][-1]
    assert run["run"] == f"python -m shipline.ci {action.name}"


def test_committed_actions_mirror_the_catalogue() -> None:
    assert actions.problems(ROOT) == []


def copy_actions(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "actions", tmp_path / "actions")
    return tmp_path


def test_out_of_date_missing_and_orphan_actions_are_named(tmp_path: Path) -> None:
    root = copy_actions(tmp_path)
    lint = root / "actions/lint/action.yml"
    lint.write_text(lint.read_text().replace('default: "3.12"', 'default: "3.10"'))
    (root / "actions/type/action.yml").unlink()
    (root / "actions/docs").mkdir()
    (root / "actions/docs/action.yml").write_text("name: docs\n")
    assert actions.problems(root) == [
        "actions/lint/action.yml is out of date with the catalogue; run `invoke actions`",
        "actions/type/action.yml is missing; run `invoke actions` to create it",
        "actions/docs has no session or task; remove it, or add its check to the catalogue "
        "or its task to shipline.tasks",
    ]
    assert actions.write(root) == [Path("actions/lint/action.yml"), Path("actions/type/action.yml")]
    assert actions.problems(root)[-1].startswith("actions/docs has no session or task")


def test_a_session_without_an_action_is_named(tmp_path: Path) -> None:
    without_security = tuple(a for a in actions.check_actions() if a.name != "security")
    found = actions.problems(copy_actions(tmp_path), without_security)
    assert found[0] == "session 'security' has no action; add it in shipline.actions"


def test_ci_maps_inputs_to_sessions() -> None:
    test, lint = (
        next(a for a in actions.check_actions() if a.name == name) for name in ("test", "lint")
    )
    assert ci.session_for(lint, {"SHIPLINE_TIER": "ignored"}) == "lint"
    assert ci.session_for(test, {}) == "unit"
    assert ci.session_for(test, {"SHIPLINE_TIER": " database "}) == "database"
    with pytest.raises(ShiplineError) as caught:
        ci.session_for(test, {"SHIPLINE_TIER": "security"})
    assert str(caught.value) == (
        "unknown tier 'security' for shipline/actions/test; expected one of: smoke, unit, "
        "integration, database, e2e"
    )


def test_ci_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert ci.main(["deploy-everything"]) == 2
    names = ",".join(a.name for a in actions.all_actions())
    assert names == "lint,type,security,test,coverage,gate,build,push,deploy,smoke"
    assert f"usage: python -m shipline.ci {{{names}}}" in capsys.readouterr().err


def test_annotations_escape_what_github_requires() -> None:
    assert summary.annotation(
        "error", file="a,b:c.py", line=3, title="bandit B602", message="50%\nshell=True"
    ) == ("::error file=a%2Cb%3Ac.py,line=3,title=bandit B602::50%25%0Ashell=True")


def test_a_delivery_task_without_an_action_is_named(tmp_path: Path) -> None:
    without_build = tuple(a for a in actions.all_actions() if a.name != "build")
    found = actions.problems(copy_actions(tmp_path), without_build)
    assert "task 'build' has no action; add it in shipline.actions" in found
    assert any(p.startswith("actions/build has no session or task") for p in found)


def test_task_actions_run_invoke_with_the_tasks_outputs() -> None:
    by_name = {a.name: a for a in actions.all_actions()}
    assert [a.name for a in actions.task_actions()] == ["gate", "build", "push", "deploy", "smoke"]
    assert by_name["build"].command == "invoke build"
    assert [o.name for o in by_name["build"].outputs] == ["image-id", "tags", "version"]
    spec = yaml.safe_load(actions.render(by_name["push"]))
    assert spec["runs"]["steps"][-1]["run"] == "python -m shipline.ci push"
    assert spec["runs"]["steps"][-1]["name"] == "invoke push"
