"""The deploy plan as data: typed steps, their order, their argv, what is shown."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
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
        host=HOST,
        release=plans.Release("v2", V2),
        truth=blue_live() if truth is None else truth,
        inputs=inputs,
        pulled=pulled,
    )


def kinds(plan: plans.HostPlan) -> list[tuple[str, str]]:
    return [(type(step).__name__, step.name) for step in plan.steps]


def test_a_redeploy_goes_to_the_idle_slot_in_order(tmp_path: Path) -> None:
    plan = make(tmp_path, extra='migrations = "migrate"\n')
    assert (plan.live, plan.next, plan.running) == ("blue", "green", Deployed("v1", V1))
    assert kinds(plan) == [
        ("Login", "registry login"),
        ("Stage", "stage the release and pull the image"),
        ("Run", "run migrations"),
        ("StartSlot", "start api (green) beside the live one"),
        ("WaitHealthy", "wait for api (green) to be healthy"),
        ("Switch", "point the proxy at api (green)"),
        ("StartSlot", "start worker (green) beside the live one"),
        ("WaitHealthy", "wait for worker (green) to be healthy"),
        ("Switch", "point the proxy at worker (green)"),
        ("Smoke", "smoke checks"),
        ("Run", "drain and stop the old slot (blue)"),
    ]
    # No step writes a file by SFTP or checks the host apart: one stage does it all.
    assert not {"Prepare", "Upload", "Drain"} & {kind for kind, _ in kinds(plan)}
    assert not hasattr(plans, "Prepare")
    assert not hasattr(plans, "Upload")


def test_a_first_deploy_has_no_drain_and_stops_nothing(tmp_path: Path) -> None:
    plan = make(tmp_path, FIRST)
    assert (plan.live, plan.next, plan.running) == (None, "blue", None)
    names = [name for _, name in kinds(plan)]
    assert not any(cmd.script_name(s.argv) == "drain-and-stop" for s in runs(plan))
    assert not any("the old slot" in name for name in names)
    assert names[-1] == "smoke checks"
    switches = [s for s in plan.steps if isinstance(s, plans.Switch)]
    assert [(s.slot, s.services) for s in switches] == [("blue", ("api",)), ("blue", ("worker",))]
    assert switches[0].argv[-2:] == ("api", "9000")
    assert switches[1].argv[-2:] == ("worker", "9002")


def runs(plan: plans.HostPlan) -> list[plans.Run]:
    return [step for step in plan.steps if isinstance(step, plans.Run)]


def test_a_redeploy_drains_the_old_slot_and_stops_it_only_after_smoke(tmp_path: Path) -> None:
    plan = make(tmp_path)
    names = [s.name for s in plan.steps]
    stops = [s for s in runs(plan) if cmd.script_name(s.argv) == "drain-and-stop"]
    assert [s.name for s in stops] == ["drain and stop the old slot (blue)"]  # one, the last
    stop = stops[0]
    assert plan.steps[-1] is stop
    assert names.index("smoke checks") < names.index(stop.name)
    # After every switch: the old workers drain (at most drain-seconds, default 2) and
    # the old slot's containers stop, in one command.
    assert list(stop.argv) == cmd.drain_and_stop("web", "blue", 2.0)
    assert stop.argv[4:] == ("web-proxy-nginx-1", "2", "web-blue", cmd._DRAINING)
    longer = make(tmp_path, extra="drain-seconds = 7.5\n").steps[-1]
    assert isinstance(longer, plans.Run)
    assert longer.argv[5] == "8"
    assert stop.describe().startswith("sh -c <drain-and-stop script> sh web-proxy-nginx-1 2 ")


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
    stage = steps["stage the release and pull the image"]
    assert isinstance(stage, plans.Stage)
    deploy = cfg(tmp_path).deploy
    release = plans.Release("v2", V2)
    assert list(stage.argv) == cmd.stage(
        "/srv/web", release="/srv/web/releases/v2", image=V2, slot="green", min_free_mb=1024
    )
    assert stage.argv[:4] == ("sh", "-c", cmd._STAGE, "sh")
    assert stage.argv[4:] == ("/srv/web", "/srv/web/releases/v2", V2, "green", "1024")
    assert stage.min_free_mb == 1024
    # The files go on stdin, as the tar `stage` unpacks, the env file among them.
    assert stage.payload == cmd.stage_payload(
        {
            "compose.yml": b"services: {}\n",
            "app.env": ENV,
            "slot.env": plans.slot_env(deploy, "green", release),
            "nginx.conf": plans.nginx_conf(deploy),
            "proxy.yml": plans.proxy_compose_file(deploy),
        }
    )
    # The files land where the slot's compose command reads them.
    assert compose[compose.index("-f") + 1] == f"{stage.argv[5]}/compose.yml"
    assert compose[compose.index("--env-file") + 1] == f"{stage.argv[4]}/slots/{stage.argv[7]}.env"
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
    # ...and after the stage: the release's files and image are there.
    assert names.index("stage the release and pull the image") < names.index("run migrations")


def test_no_migrations_step_unless_configured(tmp_path: Path) -> None:
    assert "run migrations" not in [s.name for s in make(tmp_path).steps]


def test_an_image_already_pulled_needs_no_login(tmp_path: Path) -> None:
    names = [s.name for s in make(tmp_path).steps]
    # Logged in before the stage, which pulls.
    assert names.index("registry login") < names.index("stage the release and pull the image")
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


def staged(stage: plans.Stage) -> dict[str, bytes]:
    """The files in a stage's payload, by name, in the tar's order."""
    with tarfile.open(fileobj=io.BytesIO(stage.payload)) as archive:
        found = {}
        for member in archive.getmembers():
            extracted = archive.extractfile(member)
            assert extracted is not None
            found[member.name] = extracted.read()
    return found


def test_the_env_file_goes_on_the_stage_stdin_and_is_never_shown(tmp_path: Path) -> None:
    steps = {s.name: s for s in make(tmp_path).steps}
    stage = steps["stage the release and pull the image"]
    assert isinstance(stage, plans.Stage)
    files = staged(stage)
    assert list(files) == list(cmd.STAGED)
    assert files["app.env"] == ENV
    assert not any(b"hunter2secret" in data for name, data in files.items() if name != "app.env")
    assert not any("hunter2secret" in word for word in stage.argv)
    assert "hunter2secret" not in repr(stage)
    assert "payload" not in repr(stage)  # not even the tar's bytes
    assert stage.describe() == (
        f"sh -c <stage script> sh /srv/web /srv/web/releases/v2 {V2} green 1024  "
        "(stdin: a tar of compose.yml, app.env (secret, not shown), slot.env, nginx.conf, "
        "proxy.yml)"
    )
    no_env = make(tmp_path, inputs=plans.Inputs(b"services: {}\n", None, None))
    empty = next(s for s in no_env.steps if isinstance(s, plans.Stage))
    assert staged(empty)["app.env"] == b""  # an empty env file is written all the same
    assert empty.describe() == stage.describe()  # nothing about the file is shown
    assert empty.argv == stage.argv


def test_the_staged_files_are_bytes_as_given(tmp_path: Path) -> None:
    compose = b"services:\n  web:\n    image: caf\xe9\n" + b"#" * (300 * 1024)  # no UTF-8
    env = b"K=\x00\xff\xfe\r\n"
    stage = next(
        s
        for s in make(tmp_path, inputs=plans.Inputs(compose, env, None)).steps
        if isinstance(s, plans.Stage)
    )
    files = staged(stage)
    assert (files["compose.yml"], files["app.env"]) == (compose, env)
    assert len(stage.payload) > 300 * 1024  # in the tar, never in argv
    assert sum(len(word) for word in stage.argv) < 2000


def test_no_step_shows_a_secret(tmp_path: Path) -> None:
    for step in make(tmp_path, extra='migrations = "migrate"\n').steps:
        assert "hunter2secret" not in step.describe()
        assert "hunter2secret" not in repr(step)
        if isinstance(step, plans.Run):
            assert not any("hunter2secret" in word for word in step.argv)
        assert "\n" not in step.describe()  # file contents are shown by their size


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
    stage = next(s for s in make(tmp_path).steps if isinstance(s, plans.Stage))
    assert stage.argv[7] == "green"  # written to /srv/web/slots/green.env
    assert staged(stage)["slot.env"] == plans.slot_env(deploy, "green", release)
    first = next(s for s in make(tmp_path, FIRST).steps if isinstance(s, plans.Stage))
    assert first.argv[7] == "blue"
    assert staged(first)["slot.env"] == plans.slot_env(deploy, "blue", release)


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
        cfg(tmp_path),
        host=HOST,
        release=plans.Release(digest, V2),
        truth=FIRST,
        inputs=INPUTS,
        pulled=False,
    )
    stage = next(s for s in plan.steps if isinstance(s, plans.Stage))
    assert stage.argv[5] == f"/srv/web/releases/sha256-{'c' * 64}"  # its app.env, its image
    assert stage.argv[6] == V2
    smoke = plan.steps[-1]
    assert isinstance(smoke, plans.Smoke)
    assert (smoke.url, smoke.version) == ("http://app1:8080", None)


def test_the_smoke_step_checks_the_deployed_version_on_this_host(tmp_path: Path) -> None:
    plan = make(tmp_path, extra='url = "https://{host}/"\n')
    smoke = next(s for s in plan.steps if isinstance(s, plans.Smoke))
    assert (smoke.url, smoke.version) == ("https://app1/", "v2")
    assert smoke.describe() == "smoke checks against https://app1/"


def test_rollback_repoints_every_service_then_drains_and_stops_the_new_slot(
    tmp_path: Path,
) -> None:
    c = cfg(tmp_path)
    steps = plans.rollback_steps(c, make(tmp_path))
    assert [s.name for s in steps] == [
        "point the proxy back at blue",
        "drain and stop the new slot (green)",
    ]
    back, remove = steps
    assert isinstance(back, plans.Switch)
    assert list(back.argv) == cmd.switch("/srv/web", "web", (("api", 9000), ("worker", 9002)))
    assert remove.name == "drain and stop the new slot (green)"
    assert list(remove.argv) == cmd.drain_and_stop("web", "green", 2.0)


def test_rolling_back_a_first_deploy_only_stops_the_slot(tmp_path: Path) -> None:
    steps = plans.rollback_steps(cfg(tmp_path), make(tmp_path, FIRST))
    assert [(type(s).__name__, list(s.argv)) for s in steps] == [
        ("Run", cmd.drain_and_stop("web", "blue", 2.0))
    ]


def test_finish_records_the_slot_and_history_audits_and_prunes(tmp_path: Path) -> None:
    c = cfg(tmp_path, "keep = 5\n")
    plan = make(tmp_path)
    line = plans.audit_line("2030-01-02T03:04:05Z", "bob", plan, "deployed")
    step = plans.finish_step(
        c, plan, when="2030-01-02T03:04:05Z", name="reg.example/acme/web", audit=line
    )
    assert type(step) is plans.Run  # one command
    assert step.name == "record, audit, prune (keep the last 5 releases)"
    assert step.argv[:5] == ("sh", "-c", cmd._FINISH, "sh", "/srv/web")
    state = json.loads(step.argv[5])
    assert state == {
        "slot": "green",
        "version": "v2",
        "image": V2,
        "history": [
            {"version": "v2", "image": V2, "at": "2030-01-02T03:04:05Z"},
            {"version": "v1", "image": V1},
        ],
    }
    assert step.argv[6:] == ("5", "reg.example/acme/web", line)
    assert list(step.argv) == cmd.finish(
        "/srv/web", state_json=step.argv[5], keep=5, name="reg.example/acme/web", audit_line=line
    )
    assert step.describe().startswith("sh -c <finish script> sh /srv/web ")


def test_finish_keeps_at_least_the_live_and_the_previous_release(tmp_path: Path) -> None:
    step = plans.finish_step(
        cfg(tmp_path, "keep = 1\n"), make(tmp_path), when="T", name="n", audit="line"
    )
    assert step.argv[6] == "2"


def test_a_first_deploy_records_a_history_of_one(tmp_path: Path) -> None:
    step = plans.finish_step(cfg(tmp_path), make(tmp_path, FIRST), when="T", name="n", audit="line")
    assert json.loads(step.argv[5]) == {
        "slot": "blue",
        "version": "v2",
        "image": V2,
        "history": [{"version": "v2", "image": V2, "at": "T"}],
    }


def test_the_proxy_compose_file_is_yaml_naming_the_configured_image(tmp_path: Path) -> None:
    deploy = cfg(tmp_path).deploy
    loaded = yaml.safe_load(plans.proxy_compose_file(deploy))
    nginx = loaded["services"]["nginx"]
    assert nginx["image"] == PROXY_IMAGE
    assert nginx["network_mode"] == "host"
    assert nginx["restart"] == "unless-stopped"
    # nginx runs the config of the mounted directory, the one the switch tests and reloads.
    assert nginx["command"] == [
        "nginx",
        "-c",
        "/etc/shipline/nginx/nginx.conf",
        "-g",
        "daemon off;",
    ]
    # Directories, not files: a file the stage or the switch renames into place is seen
    # by the running container (a bind-mounted file would stay the old inode).
    assert nginx["volumes"] == [
        "./nginx:/etc/shipline/nginx:ro",
        "./upstreams:/etc/shipline/upstreams:ro",
    ]
    assert not any("nginx.conf:" in volume for volume in nginx["volumes"])
    stage = next(s for s in make(tmp_path).steps if isinstance(s, plans.Stage))
    files = staged(stage)
    assert files["proxy.yml"] == plans.proxy_compose_file(deploy)  # -> proxy/compose.yml
    assert files["nginx.conf"] == plans.nginx_conf(deploy)  # -> proxy/nginx/nginx.conf


def test_the_proxy_image_is_data_in_the_compose_file(tmp_path: Path) -> None:
    odd = 'nginx:1\n  evil: {image: x}\n"quoted": [1]'
    deploy = dataclasses.replace(cfg(tmp_path).deploy, proxy_image=odd)
    loaded = yaml.safe_load(plans.proxy_compose_file(deploy))
    assert list(loaded["services"]) == ["nginx"]
    assert loaded["services"]["nginx"]["image"] == odd


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
