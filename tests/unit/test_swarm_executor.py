"""The swarm executor against a fake manager: what it rolls back, and when it does not."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shipline import config, smoke
from shipline.deploy.executor import DeployFailed, Executor
from shipline.deploy.plan import Inputs, Release
from shipline.deploy.scrub import Scrubber
from shipline.remote import HostSpec, RunResult
from shipline.swarm import commands as sc
from shipline.swarm import executor as sx
from shipline.swarm import plan as plans
from shipline.swarm import state

MANAGER = HostSpec("root", "m1")
V1 = "reg.example/web@sha256:" + "1" * 64
V2 = "reg.example/web@sha256:" + "2" * 64
SECRET = b"API_TOKEN=hunter2secret\n"


def task(image: str, error: str = "") -> str:
    current = "Failed 1 second ago" if error else "Running 1 second ago"
    return f"task t1|web_app.1|n1|Running|{current}|{error}|{image}\n"


@dataclass
class FakeManager:
    statuses: list[str]
    stage_code: int = 0
    calls: list[list[str]] = field(default_factory=list)
    rolled: bool = False

    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def run(self, argv: list[str], stdin: str | bytes | None = None) -> RunResult:
        self.calls.append(list(argv))
        name = sc.script_name(argv)
        if name == "swarm-stage":
            return RunResult(self.stage_code, "", "disk full" if self.stage_code else "")
        if name == "service-status":
            if self.rolled:
                return RunResult(0, 'update {"State":"rollback_completed","StartedAt":"R"}\n', "")
            text = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return RunResult(0, text, "")
        if argv == sc.spec_image("web_app"):
            return RunResult(0, V2 + "\n", "")
        if argv == sc.rollback("web_app"):
            self.rolled = True
        if argv[:3] == ["docker", "service", "logs"]:
            return RunResult(0, "boom: hunter2secret\n", "")
        return RunResult(0, "", "")

    def commands(self) -> list[str]:
        return [sc.script_name(a) or " ".join(a[:3]) for a in self.calls]


def setup(
    tmp_path: Path, fake: FakeManager, before: state.Service | None
) -> tuple[Executor, plans.SwarmPlan, list[str]]:
    text = '[project]\nname = "web"\n[tool.shipline.deploy]\ntarget = "swarm"\nurl = "http://lb"\n'
    cfg = config.parse(tomllib.loads(text), tmp_path)
    said: list[str] = []
    scrub = Scrubber.of(["hunter2secret"])
    ex = Executor(cfg, lambda _spec: fake, said.append, "tester", scrub)  # type: ignore[arg-type, return-value]
    truth = state.Truth(None, "active", True, services={"web_app": before})
    inputs = Inputs(b"services: {}\n", SECRET, None)
    plan = plans.plan(cfg, MANAGER, release=Release("v2", V2), truth=truth, inputs=inputs)
    return ex, plan, said


BEFORE = state.Service("web_app", V1, {"State": "completed", "StartedAt": "T1"})
COMPLETED = 'update {"State":"completed","StartedAt":"T2"}\n' + task(V2) + task(V2)


def test_smoke_failing_rolls_the_service_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeManager([COMPLETED])
    ex, plan, _ = setup(tmp_path, fake, BEFORE)
    failed = [smoke.CheckResult("version", False, "reports 'v9'", 0.0)]
    monkeypatch.setattr(smoke, "run_checks", lambda *_a, **_k: failed)
    with pytest.raises(DeployFailed, match=r"smoke checks failed.*rolled web_app back"):
        sx.execute(ex, plan)
    assert sc.rollback("web_app") in fake.calls


def test_swarm_rolling_back_by_itself_is_not_rolled_back_again(tmp_path: Path) -> None:
    rolled = 'update {"State":"rollback_completed","StartedAt":"T2","Message":"task failed"}\n'
    fake = FakeManager([rolled + task(V2, "task: non-zero exit (1)") + task(V1)])
    ex, plan, said = setup(tmp_path, fake, BEFORE)
    with pytest.raises(DeployFailed, match=r"rolled back by itself \(task failed\).*swarm rolled"):
        sx.execute(ex, plan)
    assert sc.rollback("web_app") not in fake.calls
    shown = "\n".join(said)
    assert "tasks of web_app:" in shown
    assert "last log lines of web_app.1" in shown
    assert "boom: ***" in shown
    assert "hunter2secret" not in shown


def test_a_failure_before_the_stack_deploy_changes_nothing(tmp_path: Path) -> None:
    fake = FakeManager([COMPLETED], stage_code=1)
    ex, plan, _ = setup(tmp_path, fake, BEFORE)
    with pytest.raises(DeployFailed, match=r"write the stack failed.*web_app was not changed"):
        sx.execute(ex, plan)
    assert sc.rollback("web_app") not in fake.calls
    assert "stack-deploy" not in fake.commands()


def test_a_first_deploy_has_nothing_to_roll_back_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeManager(["update null\n" + task(V2) + task(V2)])
    ex, plan, _ = setup(tmp_path, fake, None)
    failed = [smoke.CheckResult("health", False, "HTTP 500", 0.0)]
    monkeypatch.setattr(smoke, "run_checks", lambda *_a, **_k: failed)
    with pytest.raises(DeployFailed, match="first time: nothing to roll back to"):
        sx.execute(ex, plan)
    assert sc.rollback("web_app") not in fake.calls


def test_an_update_in_progress_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    updating = 'update {"State":"updating","StartedAt":"T2"}\n' + task(V1) + task(V2)
    fake = FakeManager([updating, updating, COMPLETED])
    ex, plan, _ = setup(tmp_path, fake, BEFORE)
    monkeypatch.setattr(sx, "POLL", 0.0)
    monkeypatch.setattr(smoke, "run_checks", lambda *_a, **_k: [])
    run = sx.execute(ex, plan)
    assert fake.commands().count("service-status") == 3
    assert run.rolled_back == set()
