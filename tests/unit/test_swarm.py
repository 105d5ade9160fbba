"""The swarm target as data: config, the stack file, the plan, the state parsers, the scripts."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import tarfile
import tomllib
from pathlib import Path

import pytest

from shipline import config
from shipline.deploy.plan import Inputs, Login, Release, Run, Smoke
from shipline.deploy.survey import Deployed
from shipline.errors import ConfigError, UsageError
from shipline.remote import HostSpec
from shipline.swarm import commands as sc
from shipline.swarm import plan as plans
from shipline.swarm import run as swarm_run
from shipline.swarm import state
from shipline.swarm.plan import StackDeploy, Stage, WaitUpdate

MANAGER = HostSpec("deploy", "manager1")
V1 = "reg.example/acme/web@sha256:" + "a" * 64
V2 = "reg.example/acme/web@sha256:" + "b" * 64
ENV = b"DB_PASSWORD=hunter2secret\n"
INPUTS = Inputs(b"services: {}\n", ENV, ("reg.example", "ci"))


def cfg(tmp_path: Path, deploy: str = "", swarm: str = "") -> config.Config:
    text = (
        '[project]\nname = "web"\n[tool.shipline.deploy]\ntarget = "swarm"\n'
        'path = "/srv/web"\nservices = ["api", "worker"]\nbase-port = 9000\n'
        'url = "https://lb.example"\n' + deploy + "\n[tool.shipline.deploy.swarm]\n" + swarm
    )
    return config.parse(tomllib.loads(text), tmp_path)


def running(started: str = "T0") -> state.Service:
    return state.Service("x", V1, {"State": "completed", "StartedAt": started})


def truth(**services: state.Service | None) -> state.Truth:
    found = {"web_api": running(), "web_worker": running(), **services}
    return state.Truth(
        None, "active", True, services=found, record=state.Record(Deployed("v1", V1), None)
    )


def make(tmp_path: Path, swarm: str = "", found: state.Truth | None = None) -> plans.SwarmPlan:
    return plans.plan(
        cfg(tmp_path, swarm=swarm),
        MANAGER,
        release=Release("v2", V2),
        truth=found or truth(),
        inputs=INPUTS,
    )


def test_the_default_target_is_ssh_and_swarm_defaults(tmp_path: Path) -> None:
    plain = config.parse({"project": {"name": "web"}}, tmp_path)
    assert plain.deploy.target == "ssh"
    swarm = cfg(tmp_path).deploy.swarm
    assert (swarm.stack, swarm.replicas, swarm.order, swarm.failure_action) == (
        "web",
        2,
        "start-first",
        "rollback",
    )
    assert swarm.manager is None


@pytest.mark.parametrize(
    ("swarm", "deploy", "message"),
    [
        ("replicas = 0", "", "tool.shipline.deploy.swarm.replicas: expected a whole number of 1"),
        ('order = "first"', "", "swarm.order: expected one of start-first, stop-first"),
        ('failure-action = "continue"', "", "swarm.failure-action: expected one of"),
        ("max-failure-ratio = 2", "", "swarm.max-failure-ratio: expected a number from 0 to 1"),
        ('constraints = ["node.role==worker; rm -rf /"]', "", "swarm.constraints[0]: expected"),
        ('manager = "manager1"', "", "swarm.manager: expected user@host"),
        ('manager = "a@b:70000"', "", "swarm.manager: expected user@host"),
        ('stack = "Web App"', "", "swarm.stack: expected lowercase"),
        ("monitor = -1", "", "swarm.monitor: expected a number of seconds"),
        ("replica = 2", "", "swarm.replica: unknown key; did you mean 'replicas'?"),
        ("", 'migrations = "migrate"', "deploy.migrations: not supported with target"),
        ("", 'target = "kubernetes"', "deploy.target: expected one of ssh, swarm"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, swarm: str, deploy: str, message: str) -> None:
    def read() -> config.Config:
        if "target" in deploy:
            return config.parse(tomllib.loads(f"[tool.shipline.deploy]\n{deploy}\n"), tmp_path)
        return cfg(tmp_path, deploy=deploy, swarm=swarm)

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("?", r"\?")):
        read()


def test_the_stack_file_carries_update_rollback_placement_and_ports(tmp_path: Path) -> None:
    swarm = (
        'replicas = 3\nparallelism = 2\ndelay = 1.5\nmonitor = 4\norder = "stop-first"\n'
        'max-failure-ratio = 0.25\nconstraints = ["node.role==worker"]\nhealth-interval = 2\n'
    )
    stack = json.loads(plans.stack_file(cfg(tmp_path, swarm=swarm).deploy))
    api = stack["services"]["api"]
    assert api["deploy"]["replicas"] == 3
    assert api["deploy"]["update_config"] == {
        "parallelism": 2,
        "delay": "1500ms",
        "monitor": "4000ms",
        "order": "stop-first",
        "failure_action": "rollback",
        "max_failure_ratio": 0.25,
    }
    assert api["deploy"]["rollback_config"]["failure_action"] == "pause"
    assert api["deploy"]["placement"] == {"constraints": ["node.role==worker"]}
    assert api["ports"] == [{"target": 9000, "published": 9000, "protocol": "tcp", "mode": "host"}]
    assert stack["services"]["worker"]["ports"][0]["published"] == 9002
    assert api["healthcheck"] == {"interval": "2000ms", "retries": 3}


def test_the_plan_is_typed_steps_in_order(tmp_path: Path) -> None:
    plan = make(tmp_path)
    assert [type(s) for s in plan.steps] == [
        Login,
        Stage,
        StackDeploy,
        WaitUpdate,
        WaitUpdate,
        Smoke,
    ]
    assert plan.services == ("web_api", "web_worker")
    stage = plan.steps[1]
    assert isinstance(stage, Stage)
    assert stage.argv == tuple(sc.stage("/srv/web/swarm/v2"))
    with tarfile.open(fileobj=io.BytesIO(stage.payload)) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert set(members) == {"compose.yml", "stack.json", "app.env"}
        assert members["app.env"].mode == 0o600
        env = archive.extractfile("app.env")
        assert env is not None
        assert env.read() == ENV
    deploy = plan.steps[2]
    assert isinstance(deploy, Run)
    assert deploy.argv[3:6] == ("sh", "/srv/web/swarm/v2", "web")
    assert f"APP_IMAGE={V2}" in deploy.argv
    assert "APP_PORT_WORKER=9002" in deploy.argv
    wait = plan.steps[3]
    assert isinstance(wait, WaitUpdate)
    assert (wait.service, wait.image, wait.before, wait.replicas) == ("web_api", V2, "T0", 2)
    smoke = plan.steps[5]
    assert isinstance(smoke, Smoke)
    assert (smoke.url, smoke.version) == ("https://lb.example", "v2")
    shown = "\n".join(step.describe() for step in plan.steps)
    assert "hunter2secret" not in shown


def test_a_first_deploy_waits_from_no_update(tmp_path: Path) -> None:
    plan = make(tmp_path, found=truth(web_api=None, web_worker=None))
    waits = [s for s in plan.steps if isinstance(s, WaitUpdate)]
    assert [w.before for w in waits] == [None, None]


def test_the_record_keeps_the_previous_release(tmp_path: Path) -> None:
    plan = make(tmp_path)
    step = plans.record_step(cfg(tmp_path), plan, "LINE")
    recorded = json.loads(step.argv[5])
    assert recorded == {
        "current": {"version": "v2", "image": V2},
        "previous": {"version": "v1", "image": V1},
    }


def test_the_dry_run_shows_every_command_and_the_stack(tmp_path: Path) -> None:
    lines = swarm_run.preview(
        cfg(tmp_path), MANAGER, name="reg.example/acme/web", version="v2", inputs_=INPUTS
    )
    text = "\n".join(lines)
    assert "# take the deploy lease on deploy@manager1" in text
    assert "sh -c <stack-deploy script>" in text
    assert '"failure_action": "rollback"' in text
    assert "<swarm-survey script>:" in text
    assert "hunter2secret" not in text


def test_the_manager_is_one_host(tmp_path: Path) -> None:
    assert swarm_run.manager(cfg(tmp_path), ["root@m1"]) == HostSpec("root", "m1")
    configured = cfg(tmp_path, swarm='manager = "ops@m2:2222"')
    assert swarm_run.manager(configured, []) == HostSpec("ops", "m2", 2222)
    with pytest.raises(UsageError, match="one manager"):
        swarm_run.manager(configured, ["a@b", "c@d"])
    with pytest.raises(UsageError, match="no swarm manager"):
        swarm_run.manager(cfg(tmp_path), [])


SURVEY = f"""swarm active true
node n1 Ready Active vm
node n2 Down Active vm
service web_api {V1} {{"State":"completed","StartedAt":"T1","Message":"update completed"}}
service web_worker absent
state {{"current": {{"version": "v1", "image": "{V1}"}}, "previous": null}}
"""


def test_the_survey_is_parsed() -> None:
    found = state.truth(SURVEY)
    assert found.manager
    assert [n.id for n in found.ready_nodes()] == ["n1"]
    api = found.services["web_api"]
    assert api is not None
    assert api.started == "T1"
    assert found.services["web_worker"] is None
    assert found.record.current == Deployed("v1", V1)
    assert not state.truth("swarm active false\n").manager
    assert state.truth("engine Cannot connect\n").engine_error == "Cannot connect"


def status(update: str, *tasks: str) -> state.Status:
    return state.status(f"update {update}\n" + "".join(f"task {t}\n" for t in tasks))


def task(image: str, current: str = "Running 2 seconds ago", desired: str = "Running") -> str:
    return f"id1|web_api.1|vm|{desired}|{current}||{image}"


@pytest.mark.parametrize(
    ("update", "tasks", "done", "failure", "rolled"),
    [
        ("null", [task(V2), task(V2)], True, None, False),  # first deploy, running
        ("null", [task(V2), task(V2, "Starting 1 second ago")], False, None, False),
        ('{"State":"updating","StartedAt":"T2"}', [task(V2), task(V2)], False, None, False),
        ('{"State":"completed","StartedAt":"T2"}', [task(V2), task(V2)], True, None, False),
        ('{"State":"completed","StartedAt":"T2"}', [task(V1), task(V2)], False, None, False),
        ('{"State":"rollback_started","StartedAt":"T2"}', [task(V1)], False, None, True),
        ('{"State":"rollback_completed","StartedAt":"T2","Message":"m"}', [], True, "m", True),
        ('{"State":"paused","StartedAt":"T2","Message":"p"}', [], True, "paused (p)", False),
        # An old rollback (the update before this deploy's) is not this deploy's failure.
        (
            '{"State":"rollback_completed","StartedAt":"T1"}',
            [task(V2), task(V2)],
            True,
            None,
            False,
        ),
    ],
)
def test_progress(
    update: str, tasks: list[str], done: bool, failure: str | None, rolled: bool
) -> None:
    found = state.progress(status(update, *tasks), before="T1", image=V2, replicas=2)
    assert found.done == done
    assert (found.failure is None) == (failure is None)
    if failure:
        assert found.failure is not None
        assert failure in found.failure
    assert found.rolled_back == rolled


def test_a_task_no_node_can_take_is_reported() -> None:
    found = status("null", "id|web_api.2||Running|Pending 3 seconds ago|no suitable node (x)|img")
    assert state.stuck(found) == "web_api.2 cannot be placed: no suitable node (x)"
    assert state.stuck(status("null", task(V2))) is None


FAKE_DOCKER = '#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_OUT"\nenv > "$FAKE_ENV"\n'


def test_no_value_runs_as_code_and_values_reach_docker(tmp_path: Path) -> None:
    hostile = "$(touch CANARY); `touch CANARY` | & ; x\nnew"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_OUT": str(tmp_path / "out"),
        "FAKE_ENV": str(tmp_path / "env"),
    }
    release = tmp_path / "rel"
    payload = sc.payload({"compose.yml": b"c", "stack.json": b"s", "app.env": b"secret"})
    argvs = [
        (sc.stage(str(release)), payload),
        (sc.stack_deploy(str(release), hostile, [("APP_VERSION", hostile)]), b""),
        (sc.status(hostile), b""),
        (sc.survey(str(tmp_path / hostile), [hostile]), b""),
        (sc.record(str(tmp_path / "p"), state_json=hostile, audit_line=hostile, keep=2), b""),
    ]
    for argv, stdin in argvs:
        subprocess.run(
            ["sh", "-c", shlex.join(argv)], cwd=tmp_path, env=env, input=stdin, check=False
        )
    assert not list(tmp_path.rglob("CANARY"))
    assert (release / "app.env").read_bytes() == b"secret"
    assert (release / "app.env").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "p" / "swarm-state.json").read_text() == hostile + "\n"


def test_every_script_parses_and_is_named() -> None:
    for name, script in sc.SCRIPTS.items():
        done = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
        assert (done.returncode, done.stderr) == (0, ""), name
    assert sc.script_name(sc.status("s")) == "service-status"
    assert sc.show(sc.rollback("web_api")) == "docker service rollback --detach web_api"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (b"services: {}\n", b'version: "3.8"\nservices: {}\n'),
        (b'version: "3.9"\nservices: {}\n', b'version: "3.9"\nservices: {}\n'),
        (b"# c\n---\nservices: {}\n", b'# c\n---\nversion: "3.8"\nservices: {}\n'),
        (b"{services: {}}\n", b"{services: {}}\n"),
        (
            b"services:\n  app:\n    version: 1\n",
            b'version: "3.8"\nservices:\n  app:\n    version: 1\n',
        ),
    ],
)
def test_the_compose_file_gets_a_version_for_older_docker_clis(
    given: bytes, expected: bytes
) -> None:
    assert plans.with_version(given) == expected
