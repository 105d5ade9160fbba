"""The workflow templates, as init renders them: shape, least privilege, pinned actions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipline import project, scaffold

EXAMPLE = Path(__file__).parents[2] / "examples" / "service"
SHA = re.compile(r"@[0-9a-f]{40}$")


def load(name: str) -> dict[str, Any]:
    """The workflow as init renders it for the example service (its wiring is init's)."""
    values = scaffold.context(project.read(EXAMPLE), None)
    text = scaffold.environment().get_template(f"workflows/{name}").render(values)
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@pytest.mark.parametrize("name", ["ci.yml", "cd.yml"])
def test_least_privilege_and_pinning(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}
    for job_name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{name}: job {job_name} declares no permissions"
        for step in job["steps"]:
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            if uses and not uses.startswith("shipline/shipline/actions/"):
                assert SHA.search(uses), f"{name}: {uses} is not pinned to a commit SHA"
            assert "${{" not in step.get("run", "")


def test_ci_runs_fast_checks_first_then_tiers_in_parallel() -> None:
    jobs = load("ci.yml")["jobs"]
    assert set(jobs) == {"lint", "type", "security", "smoke", "tests"}
    assert jobs["tests"]["needs"] == ["lint", "type", "security", "smoke"]
    assert jobs["tests"]["strategy"]["matrix"]["tier"] == ["unit", "integration", "database"]
    on = load("ci.yml")[True]  # YAML 1.1 reads the key `on` as true
    assert set(on) == {"pull_request", "push"}


def test_cd_orders_gate_build_deploy_smoke_live() -> None:
    """The CD workflow waits for the commit's quality checks (CI's jobs, whatever else
    reports on the commit) through the gate instead of running them again."""
    workflow = load("cd.yml")
    jobs = workflow["jobs"]
    assert list(jobs) == ["gate", "build-and-push", "deploy", "live-integration"]
    assert jobs["gate"]["permissions"] == {
        "checks": "read",
        "statuses": "read",
        "contents": "read",
    }
    gate_step = jobs["gate"]["steps"][-1]
    assert gate_step["uses"] == "shipline/shipline/actions/gate@v1"
    assert gate_step["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    assert jobs["build-and-push"]["needs"] == ["gate"]
    assert jobs["deploy"]["needs"] == ["build-and-push"]
    assert jobs["live-integration"]["needs"] == ["deploy"]
    assert jobs["build-and-push"]["permissions"]["packages"] == "write"
    used = {
        step["uses"].split("@")[0].rsplit("/", 1)[-1]
        for job in jobs.values()
        for step in job["steps"]
        if step.get("uses", "").startswith("shipline/shipline/actions/")
    }
    # coverage combines a sharded tier's shards: CI's job, when a tier is sharded.
    assert used == {"gate", "build", "push", "deploy", "smoke", "test"}
    assert workflow[True]["push"]["tags"] == ["v*.*.*"]


def test_cd_job_names_are_left_out_by_the_gates_default_exclusions() -> None:
    """Every CD job but the gate matches a default `exclude` pattern, so a CD run's own
    jobs (queued behind the gate) never hold the gate up, in this run or another."""
    from shipline import checkgate, config

    cfg = config.load(EXAMPLE)
    rules = checkgate.Rules(exclude=cfg.gate.exclude)
    for job in load("cd.yml")["jobs"].values():
        assert checkgate.excluded(checkgate.Check(job["name"], "queued", None), rules), job["name"]
    for job in load("ci.yml")["jobs"].values():
        name = job["name"]
        assert not checkgate.excluded(checkgate.Check(name, "queued", None), rules), name
