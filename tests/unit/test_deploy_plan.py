"""The deploy plan as data: typed steps, their order, their argv, what is shown."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest
import yaml

from shipline import config
from shipline.deploy import commands as cmd
from shipline.deploy import plan as plans
from shipline.deploy.survey import Deployed, Truth, port
from shipline.remote import HostSpec

HOST = HostSpec("deploy", "app1")
V1 = "reg.example/acme/web@sha256:" + "a" * 64
V2 = "reg.example/acme/web@sha256:" + "b" * 64
ENV = b"DB_PASSWORD=hunter2secret\nDEBUG=1\n"
PROXY_IMAGE = "registry.example:5000/mirror/nginx:1.27-alpine"


def cfg(tmp_path: Path, extra: str = "") -> config.Config:
    text = (
        '[project]\nname = "web"\n[tool.shipline.deploy]\napp = "web"\npath = "/srv/web"\n'
        'services = ["api", "worker"]\nbase-port = 9000\nproxy-port = 80\n'
        f'proxy-image = "{PROXY_IMAGE}"\n' + extra
    )
    return config.parse(tomllib.loads(text), tmp_path)


def blue_live(sync: bool = False) -> Truth:
    return Truth("blue", Deployed("v1", V1), sync, (), (Deployed("v1", V1),))


FIRST = Truth(None, None, False, (), ())
INPUTS = plans.Inputs(b"services: {}\n", ENV, ("reg.example", "ci"))


def make(
    tmp_path: Path,
    truth: Truth | None = None,
    extra: str = "",
    inputs: plans.Inputs = INPUTS,
    pulled: bool = False,
) -> plans.HostPlan:
    return plans.plan_host(
        cfg(tmp_path, extra),
        HOST,
        plans.Release("v2", V2),
        blue_live() if truth is None else truth,
        inputs,
        pulled,
    )


def kinds(plan: plans.HostPlan) -> list[tuple[str, str]]:
    return [(type(step).__name__, step.name) for step in plan.steps]


def test_a_redeploy_goes_to_the_idle_slot_in_order(tmp_path: Path) -> None:
    plan = make(tmp_path, extra='migrations = "migrate"\n')
    assert (plan.live, plan.next, plan.running) == ("blue", "green", Deployed("v1", V1))
    assert kinds(plan) == [
        ("Prepare", "prepare the host"),
        ("Upload", "upload compose file"),
        ("Upload", "upload env file"),
        ("Upload", "write slot variables"),
        ("Login", "registry login"),
        ("Run", "check the compose file and pull the image"),
        ("Run", "run migrations"),
        ("Upload", "proxy config"),
        ("Upload", "proxy compose file"),
        ("StartSlot", "start api (green) beside the live one"),
        ("WaitHealthy", "wait for api (green) to be healthy"),
        ("Switch", "point the proxy at api (green)"),
        ("Drain", "drain api (blue)"),
        ("StartSlot", "start worker (green) beside the live one"),
        ("WaitHealthy", "wait for worker (green) to be healthy"),
        ("Switch", "point the proxy at worker (green)"),
        ("Drain", "drain worker (blue)"),
        ("Smoke", "smoke checks"),
        ("Run", "stop the old slot (blue)"),
    ]


def test_a_first_deploy_has_no_drain_and_stops_nothing(tmp_path: Path) -> None:
    plan = make(tmp_path, FIRST)
    assert (plan.live, plan.next, plan.running) == (None, "blue", None)
    names = [name for _, name in kinds(plan)]
    assert not any(isinstance(step, plans.Drain) for step in plan.steps)
    assert not any(name.startswith("stop the old slot") for name in names)
    assert names[-1] == "smoke checks"
    switches = [s for s in plan.steps if isinstance(s, plans.Switch)]
    assert [(s.slot, s.services) for s in switches] == [("blue", ("api",)), ("blue", ("worker",))]
    assert switches[0].argv[-2:] == ("api", "9000")
    assert switches[1].argv[-2:] == ("worker", "9002")


def test_a_redeploy_drains_the_old_slot_and_stops_it_only_after_smoke(tmp_path: Path) -> None:
    plan = make(tmp_path)
    drains = [s for s in plan.steps if isinstance(s, plans.Drain)]
    assert [d.name for d in drains] == ["drain api (blue)", "drain worker (blue)"]
    assert all(d.argv == tuple(cmd.draining("web")) for d in drains)
    assert all(d.limit == 2.0 for d in drains)  # the configured default drain-seconds
    names = [s.name for s in plan.steps]
    assert names.index("smoke checks") < names.index("stop the old slot (blue)")
    stop = plan.steps[names.index("stop the old slot (blue)")]
    assert isinstance(stop, plans.Run)
    assert list(stop.argv) == cmd.stop_slot("web", "blue")
    assert list(stop.argv) == ["docker", "compose", "-p", "web-blue", "down", "--timeout", "30"]


def test_a_sync_plan_first_points_the_proxy_back_at_the_live_slot(tmp_path: Path) -> None:
    plan = make(tmp_path, Truth("green", Deployed("v1", V1), True, ("note",), ()))
    first = plan.steps[0]
    assert isinstance(first, plans.Switch)
    assert first.name == "re-sync the proxy on green"
    assert (first.slot, first.services) == ("green", ("api", "worker"))
    assert list(first.argv) == cmd.switch("/srv/web", "web", (("api", 9001), ("worker", 9003)))
    assert plan.next == "blue"
    # Without the flag there is no re-sync step.
    assert not isinstance(make(tmp_path).steps[0], plans.Switch)


def test_the_exact_commands(tmp_path: Path) -> None:
    steps = {s.name: s for s in make(tmp_path, extra='migrations = "migrate"\n').steps}
    compose = [
        "docker",
        "compose",
        "-p",
        "web-green",
        "--env-file",
        "/srv/web/slots/green.env",
        "-f",
        "/srv/web/releases/v2/compose.yml",
    ]
    start = steps["start api (green) beside the live one"]
    assert isinstance(start, plans.StartSlot)
    assert list(start.argv) == [*compose, "up", "-d", "--no-deps", "--force-recreate", "api"]
    assert (start.service, start.slot) == ("api", "green")
    migrate = steps["run migrations"]
    assert isinstance(migrate, plans.Run)
    assert list(migrate.argv) == [*compose, "run", "--rm", "--no-deps", "migrate"]
    pull = steps["check the compose file and pull the image"]
    assert isinstance(pull, plans.Run)
    assert list(pull.argv) == cmd.check_and_pull(compose, V2)
    prepare = steps["prepare the host"]
    assert isinstance(prepare, plans.Prepare)
    assert list(prepare.argv) == cmd.prepare("/srv/web", "/srv/web/releases/v2", V2)
    assert prepare.min_free_mb == 1024
    wait = steps["wait for worker (green) to be healthy"]
    assert isinstance(wait, plans.WaitHealthy)
    assert list(wait.find) == cmd.find_container("web", "green", "worker")
    assert "docker ps -aq" in wait.describe()
    switch = steps["point the proxy at worker (green)"]
    assert isinstance(switch, plans.Switch)
    assert list(switch.argv) == cmd.switch("/srv/web", "web", (("worker", 9003),))
    # Migrations run once, before any traffic moves.
    names = list(steps)
    assert names.index("run migrations") < names.index("point the proxy at api (green)")


def test_no_migrations_step_unless_configured(tmp_path: Path) -> None:
    assert "run migrations" not in [s.name for s in make(tmp_path).steps]


def test_an_image_already_pulled_needs_no_login(tmp_path: Path) -> None:
    assert "registry login" in [s.name for s in make(tmp_path).steps]
    assert not any(isinstance(s, plans.Login) for s in make(tmp_path, pulled=True).steps)
    no_token = plans.Inputs(b"services: {}\n", ENV, None)
    assert not any(isinstance(s, plans.Login) for s in make(tmp_path, inputs=no_token).steps)


def test_the_login_step_takes_the_token_on_stdin(tmp_path: Path) -> None:
    login = next(s for s in make(tmp_path).steps if isinstance(s, plans.Login))
    assert list(login.argv) == cmd.login("reg.example", "ci")
    assert list(login.argv) == [
        "docker",
        "login",
        "--username",
        "ci",
        "--password-stdin",
        "reg.example",
    ]
    assert login.registry == "reg.example"
    shown = login.describe()
    assert "--password-stdin" in shown
    assert shown.endswith("(stdin: ***)")
    # The plan never holds a token: Inputs has nowhere to put one.
    assert "token" not in {f for f in plans.Inputs.__dataclass_fields__}


def test_the_env_file_is_a_secret_upload_mode_0600(tmp_path: Path) -> None:
    steps = {s.name: s for s in make(tmp_path).steps}
    env = steps["upload env file"]
    assert isinstance(env, plans.Upload)
    assert (env.path, env.mode, env.secret, env.content) == (
        "/srv/web/releases/v2/app.env",
        0o600,
        True,
        ENV,
    )
    assert env.describe() == "write /srv/web/releases/v2/app.env mode 600 (secret, not shown)"
    assert "hunter2secret" not in repr(env)
    compose = steps["upload compose file"]
    assert isinstance(compose, plans.Upload)
    assert (compose.mode, compose.secret) == (0o644, False)
    assert compose.describe() == "write /srv/web/releases/v2/compose.yml mode 644 13 bytes"
    no_env = make(tmp_path, inputs=plans.Inputs(b"services: {}\n", None, None))
    empty = next(s for s in no_env.steps if s.name == "upload env file")
    assert isinstance(empty, plans.Upload)
    assert (empty.content, empty.mode) == (b"", 0o600)


def test_no_step_shows_a_secret(tmp_path: Path) -> None:
    for step in make(tmp_path, extra='migrations = "migrate"\n').steps:
        assert "hunter2secret" not in step.describe()
        assert "hunter2secret" not in repr(step)


def test_slot_variables_and_ports(tmp_path: Path) -> None:
    deploy = cfg(tmp_path).deploy
    release = plans.Release("v2", V2)
    assert (
        plans.slot_env(deploy, "green", release)
        == (
            f"APP_IMAGE={V2}\nAPP_VERSION=v2\nAPP_SLOT=green\n"
            "APP_PORT_API=9001\nAPP_PORT_WORKER=9003\nAPP_PORT=9001\n"
        ).encode()
    )
    assert plans.slot_env(deploy, "blue", release).endswith(
        b"APP_SLOT=blue\nAPP_PORT_API=9000\nAPP_PORT_WORKER=9002\nAPP_PORT=9000\n"
    )
    assert {(slot, s): port(deploy, slot, s) for slot in cmd.SLOTS for s in deploy.services} == {
        ("blue", "api"): 9000,
        ("green", "api"): 9001,
        ("blue", "worker"): 9002,
        ("green", "worker"): 9003,
    }
    steps = {s.name: s for s in make(tmp_path).steps}
    slot_vars = steps["write slot variables"]
    assert isinstance(slot_vars, plans.Upload)
    assert slot_vars.path == "/srv/web/slots/green.env"
    assert slot_vars.content == plans.slot_env(deploy, "green", release)


def test_service_names_become_variable_names(tmp_path: Path) -> None:
    deploy = cfg(tmp_path).deploy
    odd = dataclasses.replace(deploy, services=("my-api", "jobs.v2"))
    text = plans.slot_env(odd, "blue", plans.Release("v2", V2)).decode()
    assert "APP_PORT_MY_API=9000\n" in text
    assert "APP_PORT_JOBS_V2=9002\n" in text


@pytest.mark.parametrize(
    ("version", "directory", "reported"),
    [
        ("v2", "v2", "v2"),
        ("1.4.0-rc.1", "1.4.0-rc.1", "1.4.0-rc.1"),
        ("sha256:" + "c" * 64, "sha256-" + "c" * 64, None),
    ],
)
def test_release_directory(version: str, directory: str, reported: str | None) -> None:
    release = plans.Release(version, V2)
    assert release.directory == directory
    assert ":" not in release.directory
    assert release.reported == reported
    assert release.deployed() == Deployed(version, V2)


def test_a_digest_release_lives_in_its_own_directory(tmp_path: Path) -> None:
    digest = "sha256:" + "c" * 64
    plan = plans.plan_host(
        cfg(tmp_path), HOST, plans.Release(digest, V2), FIRST, INPUTS, pulled=False
    )
    env = next(s for s in plan.steps if s.name == "upload env file")
    assert isinstance(env, plans.Upload)
    assert env.path == f"/srv/web/releases/sha256-{'c' * 64}/app.env"
    smoke = plan.steps[-1]
    assert isinstance(smoke, plans.Smoke)
    assert (smoke.url, smoke.version) == ("http://app1:8080", None)


def test_the_smoke_step_checks_the_deployed_version_on_this_host(tmp_path: Path) -> None:
    plan = make(tmp_path, extra='url = "https://{host}/"\n')
    smoke = next(s for s in plan.steps if isinstance(s, plans.Smoke))
    assert (smoke.url, smoke.version) == ("https://app1/", "v2")
    assert smoke.describe() == "smoke checks against https://app1/"


def test_rollback_repoints_every_service_then_removes_the_new_slot(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    steps = plans.rollback_steps(c, make(tmp_path))
    assert [s.name for s in steps] == [
        "point the proxy back at blue",
        "remove the new slot (green)",
    ]
    back, remove = steps
    assert isinstance(back, plans.Switch)
    assert list(back.argv) == cmd.switch("/srv/web", "web", (("api", 9000), ("worker", 9002)))
    assert list(remove.argv) == ["docker", "compose", "-p", "web-green", "down", "--timeout", "10"]


def test_rolling_back_a_first_deploy_only_removes_the_slot(tmp_path: Path) -> None:
    steps = plans.rollback_steps(cfg(tmp_path), make(tmp_path, FIRST))
    assert [(type(s).__name__, list(s.argv)) for s in steps] == [
        ("Run", cmd.remove_slot("web", "blue"))
    ]


def test_finish_records_the_slot_and_history_then_prunes(tmp_path: Path) -> None:
    c = cfg(tmp_path, "keep = 5\n")
    plan = make(tmp_path)
    record, prune = plans.finish_steps(c, plan, "2030-01-02T03:04:05Z", "reg.example/acme/web")
    assert record.argv[:5] == ("sh", "-c", cmd._RECORD, "sh", "/srv/web")
    state = json.loads(record.argv[5])
    assert state == {
        "slot": "green",
        "version": "v2",
        "image": V2,
        "history": [
            {"version": "v2", "image": V2, "at": "2030-01-02T03:04:05Z"},
            {"version": "v1", "image": V1},
        ],
    }
    assert prune.name == "prune: keep the last 5 releases"
    assert list(prune.argv) == cmd.prune("/srv/web", 5, "reg.example/acme/web")


def test_the_proxy_compose_file_is_yaml_naming_the_configured_image(tmp_path: Path) -> None:
    deploy = cfg(tmp_path).deploy
    loaded = yaml.safe_load(plans.proxy_compose_file(deploy))
    nginx = loaded["services"]["nginx"]
    assert nginx["image"] == PROXY_IMAGE
    assert nginx["network_mode"] == "host"
    assert nginx["command"] == ["nginx", "-g", "daemon off;"]
    assert "./upstreams:/etc/shipline/upstreams:ro" in nginx["volumes"]
    steps = {s.name: s for s in make(tmp_path).steps}
    upload = steps["proxy compose file"]
    assert isinstance(upload, plans.Upload)
    assert upload.path == "/srv/web/proxy/compose.yml"
    assert upload.content == plans.proxy_compose_file(deploy)


def test_the_nginx_config(tmp_path: Path) -> None:
    conf = plans.nginx_conf(cfg(tmp_path).deploy)
    assert b"listen 80;" in conf
    assert b"proxy_pass http://api;" in conf
    assert b"include /etc/shipline/upstreams/*.conf;" in conf
    assert conf.count(b"{") == conf.count(b"}")


def test_the_audit_line(tmp_path: Path) -> None:
    plan = make(tmp_path)
    assert plans.audit_line("T", "bob@laptop", plan, "deployed") == (
        f"T bob@laptop deployed v2 ({V2}) slot green from v1 ({V1})"
    )
    first = make(tmp_path, FIRST)
    assert plans.audit_line("T", "ci", first, "rolled-back") == (
        f"T ci rolled-back v2 ({V2}) slot blue"
    )
