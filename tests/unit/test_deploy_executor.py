"""The executor and the fleet logic against fake hosts; real SSH is in the integration tier.

`FakeHost` stands for a `Remote`: it answers each argv by what it is (the script
constant it runs, or its docker words) and keeps what a deploy changes (the files
the stage unpacks from the tar on its stdin, the proxy's upstreams, which image
each slot runs and whether it was stopped, state.json, the audit log), so a survey
after a deploy reads what the deploy did. It has no `put`: a deploy writes every
file through the stage command.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import cast
from unittest.mock import ANY

import pytest

from shipline import config, smoke
from shipline.deploy import commands as cmd
from shipline.deploy import lease as leases
from shipline.deploy import plan as plans
from shipline.deploy import rollout
from shipline.deploy.executor import DeployFailed, Executor, Interrupted
from shipline.deploy.scrub import Scrubber, env_values
from shipline.deploy.survey import Deployed, Truth, port, record_after
from shipline.errors import ShiplineError
from shipline.remote import HostSpec, Remote, RemoteError, RunResult

HOST = HostSpec("deploy", "app1")
NAME = "reg.example/acme/web"
V1 = f"{NAME}@sha256:" + "1" * 64
V2 = f"{NAME}@sha256:" + "2" * 64
V3 = f"{NAME}@sha256:" + "3" * 64
TOKEN = "tok-s3cret-registry-123"
ENV = b'DB_PASSWORD="hunter2secret\nDEBUG=1\n'
COMPOSE = b"services: {}\n"
LOGIN = plans.Inputs(COMPOSE, ENV, ("reg.example", "ci"))
NO_LOGIN = plans.Inputs(COMPOSE, ENV, None)
OK = RunResult(0, "", "")
LIVE = Deployed("v1", V1)

SCRIPTS = {
    "survey": cmd._SURVEY,
    "acquire": cmd._ACQUIRE,
    "renew": cmd._RENEW,
    "release": cmd._RELEASE,
    "stage": cmd._STAGE,
    "resolve": cmd._RESOLVE,
    "switch": cmd._SWITCH,
    "stop": cmd._STOP,
    "finish": cmd._FINISH,
    "audit": cmd._AUDIT,
}


def label(argv: list[str]) -> str:
    """A short readable name for a command, to assert on sequences."""
    if argv[:2] == ["sh", "-c"]:
        name = next(n for n, script in SCRIPTS.items() if argv[2] is script)
        args = argv[4:]
        if name == "stage":
            return f"stage {args[2]}"
        if name == "stop":
            return f"stop {args[2].rsplit('-', 1)[1]}"
        if name == "switch":
            pairs = args[3:]
            return "switch " + " ".join(
                f"{s}={p}" for s, p in zip(pairs[::2], pairs[1::2], strict=True)
            )
        return name
    if "compose" in argv:
        slot = argv[argv.index("-p") + 1].rsplit("-", 1)[1]
        if "up" in argv:
            return f"up {argv[-1]} {slot}"
        if "down" in argv:
            return f"down {slot}"
        if "run" in argv:
            return f"migrate {slot}"
    if argv[:2] == ["docker", "login"]:
        return "login"
    if argv[:3] == ["docker", "ps", "-aq"]:
        return "find " + argv[-1].rsplit("=", 1)[1] + " " + argv[4].rsplit("-", 1)[1]
    if argv[:2] == ["docker", "inspect"] and "RestartCount" in argv[3]:
        return "probe"
    if argv[:2] == ["docker", "inspect"]:
        return "health"
    if argv[:2] == ["docker", "logs"]:
        return "logs"
    if argv[:3] == ["docker", "ps", "-a"]:
        return "containers"
    raise AssertionError(f"an argv the fake host does not know: {argv}")


def untar(payload: bytes) -> dict[str, bytes]:
    """The files of a stage's tar, which holds exactly `commands.STAGED`, plain files."""
    with tarfile.open(fileobj=io.BytesIO(payload)) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == list(cmd.STAGED)
        assert all(m.isfile() for m in members)
        files = {}
        for member in members:
            extracted = archive.extractfile(member)
            assert extracted is not None
            files[member.name] = extracted.read()
    return files


class FakeHost:
    """A host as a deploy sees it (see the module docstring)."""

    def __init__(
        self,
        deploy: config.DeployConfig,
        live: Deployed | None = LIVE,
        name: str = "app1",
        journal: list[tuple[str, str]] | None = None,
    ) -> None:
        self.deploy = deploy
        self.name = name
        self.journal = journal if journal is not None else []
        self.calls: list[tuple[list[str], str | bytes | None]] = []
        self.files: dict[str, tuple[bytes, int]] = {}
        self.upstreams: dict[str, int] = {}
        self.slots: dict[str, str] = {}
        self.stopped: set[str] = set()
        self.proxy = False
        self.state = ""
        self.audit_log: list[str] = []
        self.free = 999999
        self.failing: dict[str, RunResult] = {}
        self.drops: list[str] = []
        self.on_run: Callable[[str], None] = lambda _label: None
        self.leases = [RunResult(0, "taken\n", "")]
        self.probe = RunResult(0, "healthy|running|0\n", "")
        self.logs = RunResult(0, "booting\nready\n", "")
        self.digests = RunResult(0, f"{V2}\n", "")
        self.survey_failure: RunResult | None = None
        self.unrecordable = False
        """state.json cannot be written (`finish` fails after its audit line)."""
        if live:
            self.proxy = True
            self.slots["blue"] = live.image
            self.upstreams = {s: port(deploy, "blue", s) for s in deploy.services}
            env = f"APP_IMAGE={live.image}\nAPP_VERSION={live.version}\n".encode()
            self.files[f"{deploy.path}/slots/blue.env"] = (env, 0o644)
            self.state = record_after(
                "blue", live, truth_before=Truth(None, None, False, (), ()), when="T0"
            )

    # -- the Remote interface ------------------------------------------------------------
    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def put(self, data: bytes, path: str, mode: int = 0o644) -> None:
        raise AssertionError(f"the deploy wrote {path} by SFTP, not through the stage")

    def run(
        self, argv: list[str], stdin: str | bytes | None = None, timeout: float | None = None
    ) -> RunResult:
        argv = list(argv)
        name = label(argv)
        self.calls.append((argv, stdin))
        self.journal.append((self.name, name))
        self.on_run(name)
        if name in self.drops:
            self.drops.remove(name)
            raise RemoteError(f"lost the SSH connection to deploy@{self.name}")
        for prefix, result in self.failing.items():
            if name.startswith(prefix):
                return result
        return self.answer(name, argv, stdin)

    # -- what the host does --------------------------------------------------------------
    def answer(self, name: str, argv: list[str], stdin: str | bytes | None) -> RunResult:
        deploy = self.deploy
        if name == "survey":
            return self.survey_failure or RunResult(0, self.survey(), "")
        if name == "acquire":
            return self.leases.pop(0) if len(self.leases) > 1 else self.leases[0]
        if name.startswith("stage "):
            return self.stage(argv[4:], stdin)
        if name == "resolve":
            return self.digests
        if name.startswith("switch"):
            pairs = argv[7:]
            for service, number in zip(pairs[::2], pairs[1::2], strict=True):
                self.upstreams[service] = int(number)
            self.proxy = True
        elif name == "finish":  # as `commands._FINISH`: the audit line first
            _path, state, _keep, _name, line = argv[4:]
            self.audit_log.append(line)
            if self.unrecordable:
                return RunResult(1, "", "sh: cannot create state.json.tmp: Read-only file system")
            self.state = state
        elif name == "audit":
            self.audit_log.append(argv[5])
        elif name.startswith("stop "):
            slot = name.split()[1]
            self.stopped.add(slot)
            ids = " ".join(f"id-{slot}-{s}" for s in deploy.services)
            return RunResult(0, f"stopping {ids}\n" if slot in self.slots else "", "")
        elif name.startswith("up "):
            slot = name.split()[2]
            env = self.files[f"{deploy.path}/slots/{slot}.env"][0].decode()
            self.slots[slot] = re.findall(r"^APP_IMAGE=(.*)$", env, re.M)[0]
            self.stopped.discard(slot)
        elif name.startswith("down "):
            self.slots.pop(name.split()[1], None)
            self.stopped.discard(name.split()[1])
        elif name.startswith("find "):
            service, slot = name.split()[1:]
            return RunResult(0, f"id-{slot}-{service}\n" if slot in self.slots else "", "")
        elif name == "probe":
            return self.probe
        elif name == "logs":
            return self.logs
        elif name == "health":
            return RunResult(0, '{"Status":"healthy"}\n', "")
        elif name == "containers":
            return RunResult(
                0,
                "".join(
                    f"{deploy.app}-{s} {deploy.app}-{s}-x-1 running {i} Up\n"
                    for s, i in self.slots.items()
                )
                + "other-blue other-blue-x-1 running other Up\n",
                "",
            )
        return OK

    def stage(self, args: list[str], stdin: str | bytes | None) -> RunResult:
        """As `commands._STAGE`: the free space check, then the tar on stdin, then the image."""
        path, release, image, slot, minimum = args
        if self.free < int(minimum):
            return RunResult(4, f"free {self.free}\n", "")
        assert isinstance(stdin, bytes), "the stage's files come as a tar, in bytes"
        files = untar(stdin)
        for name, where in (
            ("compose.yml", f"{release}/compose.yml"),
            ("app.env", f"{release}/app.env"),
            ("slot.env", f"{path}/slots/{slot}.env"),
            ("nginx.conf", f"{path}/proxy/nginx/nginx.conf"),
            ("proxy.yml", f"{path}/proxy/compose.yml"),
        ):
            self.files[where] = (files[name], 0o600 if name == "app.env" else 0o644)
        self.files[f"{release}/image"] = (f"{image}\n".encode(), 0o644)
        return RunResult(0, f"free {self.free}\n", "")

    def survey(self) -> str:
        deploy = self.deploy
        lines = [f"upstream {s} {p}" for s, p in self.upstreams.items()]
        lines.append(f"proxy {'true' if self.proxy else 'absent'}")
        for slot, image in self.slots.items():
            state = "exited" if slot in self.stopped else "running"
            lines += [
                f"container {deploy.app}-{slot} {s} id-{slot}-{s} {state} {image} healthy"
                for s in deploy.services
            ]
        for slot in cmd.SLOTS:
            env = self.files.get(f"{deploy.path}/slots/{slot}.env")
            if env:
                lines += [f"slotenv {slot} {line}" for line in env[0].decode().splitlines()]
        if self.state:
            lines.append(f"state {self.state}")
        return "\n".join(lines) + "\n"

    # -- for assertions ------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return [label(argv) for argv, _ in self.calls]

    def audits(self) -> list[str]:
        """The audit log's lines, written by `audit` or by `finish`."""
        return list(self.audit_log)

    def running(self) -> dict[str, str]:
        """Slot -> image, of the slots whose containers run."""
        return {slot: image for slot, image in self.slots.items() if slot not in self.stopped}

    def stdins(self) -> list[tuple[str, str | bytes]]:
        """(command, stdin) of every command given a stdin."""
        return [(label(argv), stdin) for argv, stdin in self.calls if stdin is not None]

    def payloads(self) -> list[dict[str, bytes]]:
        """The files of every stage's tar, in order."""
        return [
            untar(stdin)
            for argv, stdin in self.calls
            if label(argv).startswith("stage ") and isinstance(stdin, bytes)
        ]

    def record(self) -> dict[str, object]:
        loaded = json.loads(self.state)
        assert isinstance(loaded, dict)
        return loaded


def cfg(tmp_path: Path) -> config.Config:
    return config.parse(
        tomllib.loads(
            '[project]\nname = "web"\n[tool.shipline.deploy]\napp = "web"\npath = "/srv/web"\n'
            'services = ["api", "worker"]\nbase-port = 9000\n'
            "health-timeout = 5\ndrain-seconds = 0\nmin-free-mb = 100\n"
            "[tool.shipline.smoke]\nretries = 0\n"
        ),
        tmp_path,
    )


@pytest.fixture
def c(tmp_path: Path) -> config.Config:
    return cfg(tmp_path)


@pytest.fixture
def echoed() -> list[str]:
    return []


@pytest.fixture(autouse=True)
def smoke_checks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """Smoke checks pass without a network; each call is recorded."""
    seen: list[tuple[str, str | None]] = []

    def run_checks(
        url: str, _cfg: config.SmokeConfig, version: str | None, pause: float = 0.5
    ) -> list[smoke.CheckResult]:
        seen.append((url, version))
        return [smoke.CheckResult("GET /health", True, "status ok", 0.0)]

    monkeypatch.setattr(smoke, "run_checks", run_checks)
    return seen


def make_executor(c: config.Config, hosts: dict[HostSpec, FakeHost], echoed: list[str]) -> Executor:
    return Executor(
        c,
        lambda spec: cast(Remote, hosts[spec]),
        echoed.append,
        "tester@laptop",
        Scrubber.of([*env_values(ENV), TOKEN]),
        TOKEN,
    )


def deploy_once(
    c: config.Config,
    host: FakeHost,
    echoed: list[str],
    inputs: plans.Inputs = LOGIN,
    prepare: Callable[[Executor], None] = lambda _ex: None,
) -> Executor:
    """Survey, plan and execute v2 on HOST (raising what execute raises)."""
    ex = make_executor(c, {HOST: host}, echoed)
    prepare(ex)
    plan = plan_v2(c, ex, inputs)
    ex.execute(plan)
    ex.finish(plan, NAME)
    return ex


def plan_v2(c: config.Config, ex: Executor, inputs: plans.Inputs = LOGIN) -> plans.HostPlan:
    """HOST's plan to deploy v2 over what it runs now (not pulled yet)."""
    release = plans.Release("v2", V2)
    truth = ex.survey(HOST)
    return plans.plan_host(c, host=HOST, release=release, truth=truth, inputs=inputs, pulled=False)


# -- one host ---------------------------------------------------------------------------------


def running(host: FakeHost) -> dict[str, str]:
    """The slots whose containers run: a rollback drains and stops the new one."""
    return {slot: image for slot, image in host.slots.items() if slot not in host.stopped}


def test_a_deploy_moves_every_service_to_the_new_slot(
    c: config.Config, echoed: list[str], smoke_checks: list[tuple[str, str | None]]
) -> None:
    host = FakeHost(c.deploy)
    deploy_once(c, host, echoed)
    assert host.labels == [
        "survey",
        "login",
        f"stage {V2}",
        "up api green",
        "find api green",
        "probe",
        "switch api=9001",
        "up worker green",
        "find worker green",
        "probe",
        "switch worker=9003",
        "stop blue",
        "finish",
    ]  # no separate audit: `finish` writes the line
    assert host.upstreams == {"api": 9001, "worker": 9003}
    assert host.running() == {"green": V2}
    assert host.stopped == {"blue"}  # stopped, not removed: the next deploy recreates it
    assert smoke_checks == [("http://app1:8080", "v2")]
    record = host.record()
    assert (record["slot"], record["version"], record["image"]) == ("green", "v2", V2)
    history = cast(list[dict[str, str]], record["history"])
    assert [(e["version"], e["image"]) for e in history] == [("v2", V2), ("v1", V1)]
    (line,) = host.audits()
    assert line.endswith(f" tester@laptop deployed v2 ({V2}) slot green from v1 ({V1})")
    finish = next(argv for argv, _ in host.calls if label(argv) == "finish")
    assert finish[4:] == ["/srv/web", host.state, "3", NAME, line]
    stop = next(argv for argv, _ in host.calls if label(argv) == "stop blue")
    assert stop == cmd.drain_and_stop("web", "blue", 0)  # drain-seconds = 0 in this config


def test_a_second_deploy_goes_back_into_the_stopped_slot(
    c: config.Config, echoed: list[str]
) -> None:
    host = FakeHost(c.deploy)
    deploy_once(c, host, echoed)
    ex = make_executor(c, {HOST: host}, echoed)
    truth = ex.survey(HOST)
    assert (truth.live, truth.running) == ("green", Deployed("v2", V2))  # blue exited
    plan = plans.plan_host(
        c, host=HOST, release=plans.Release("v3", V3), truth=truth, inputs=NO_LOGIN, pulled=False
    )
    assert plan.next == "blue"
    ex.execute(plan)
    ex.finish(plan, NAME)
    assert host.running() == {"blue": V3}
    assert host.stopped == {"green"}
    assert host.upstreams == {"api": 9000, "worker": 9002}
    history = cast(list[dict[str, str]], host.record()["history"])
    assert [e["version"] for e in history] == ["v3", "v2", "v1"]
    assert host.labels[-2:] == ["stop green", "finish"]


def payload(c: config.Config, slot: str, env: bytes | None = ENV) -> bytes:
    """The tar a stage of v2 into `slot` sends on its stdin."""
    deploy, release = c.deploy, plans.Release("v2", V2)
    return cmd.stage_payload(
        {
            "compose.yml": COMPOSE,
            "app.env": env or b"",
            "slot.env": plans.slot_env(deploy, slot, release),
            "nginx.conf": plans.nginx_conf(deploy),
            "proxy.yml": plans.proxy_compose_file(deploy),
        }
    )


def test_the_files_staged(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    deploy_once(c, host, echoed)
    assert host.files["/srv/web/releases/v2/app.env"] == (ENV, 0o600)
    assert host.files["/srv/web/releases/v2/compose.yml"] == (COMPOSE, 0o644)
    assert host.files["/srv/web/releases/v2/image"] == (f"{V2}\n".encode(), 0o644)
    slot_env = host.files["/srv/web/slots/green.env"][0]
    assert slot_env.startswith(f"APP_IMAGE={V2}\nAPP_VERSION=v2\nAPP_SLOT=green\n".encode())
    assert b"listen 8080;" in host.files["/srv/web/proxy/nginx/nginx.conf"][0]
    proxy = host.files["/srv/web/proxy/compose.yml"][0]
    assert b'"image": "nginx:' in proxy
    assert b'"./nginx:/etc/shipline/nginx:ro"' in proxy  # the directory nginx.conf went to
    assert sorted(host.files) == [
        "/srv/web/proxy/compose.yml",
        "/srv/web/proxy/nginx/nginx.conf",
        "/srv/web/releases/v2/app.env",
        "/srv/web/releases/v2/compose.yml",
        "/srv/web/releases/v2/image",
        "/srv/web/slots/blue.env",
        "/srv/web/slots/green.env",
    ]


def test_the_env_file_goes_only_on_the_stage_stdin(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    deploy_once(c, host, echoed)
    # Sent as bytes, the plan's tar exactly: the env file in it as the secret it is.
    assert host.stdins() == [("login", TOKEN + "\n"), (f"stage {V2}", payload(c, "green"))]
    (files,) = host.payloads()
    assert files["app.env"] == ENV
    assert not any(b"hunter2secret" in data for name, data in files.items() if name != "app.env")
    text = ENV.decode()
    for argv, _ in host.calls:
        for word in argv:
            assert text not in word
            assert "hunter2secret" not in word
            assert "DB_PASSWORD" not in word
    assert not any("hunter2secret" in line for line in echoed)
    assert not any("hunter2secret" in line for line in host.audits())


def test_env_bytes_that_are_not_utf8_are_staged_unchanged(
    c: config.Config, echoed: list[str]
) -> None:
    env = b"LATIN1=caf\xe9\nRAW=\x00\xff\xfe\r\n"
    host = FakeHost(c.deploy)
    deploy_once(c, host, echoed, plans.Inputs(COMPOSE, env, None))
    assert host.stdins() == [(f"stage {V2}", payload(c, "green", env))]
    assert host.files["/srv/web/releases/v2/app.env"] == (env, 0o600)


def test_without_an_env_file_an_empty_one_is_staged(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    deploy_once(c, host, echoed, plans.Inputs(COMPOSE, None, None))
    assert host.stdins() == [(f"stage {V2}", payload(c, "green", None))]
    assert host.payloads()[0]["app.env"] == b""
    assert host.files["/srv/web/releases/v2/app.env"] == (b"", 0o600)


def test_the_token_goes_only_on_the_login_stdin(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    ex = deploy_once(c, host, echoed)
    image = ex.resolve(HOST, NAME, "v2", ("reg.example", "ci"))
    assert image == V2
    login = ["docker", "login", "--username", "ci", "--password-stdin", "reg.example"]
    logins = [(argv, stdin) for argv, stdin in host.calls if label(argv) == "login"]
    assert logins == [(login, TOKEN + "\n")] * 2  # the deploy's login and resolve's
    assert host.stdins() == [  # the stage's stdin is its tar, without the token
        ("login", TOKEN + "\n"),
        (f"stage {V2}", payload(c, "green")),
        ("login", TOKEN + "\n"),
    ]
    assert not any(TOKEN.encode() in data for data in host.payloads()[0].values())
    assert not any(TOKEN in word for argv, _ in host.calls for word in argv)
    assert not any(TOKEN in line for line in echoed)
    assert host.labels[-2:] == ["login", "resolve"]


def test_without_a_token_there_is_no_login(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    deploy_once(c, host, echoed, NO_LOGIN)
    assert "login" not in host.labels
    assert host.stdins() == [(f"stage {V2}", payload(c, "green"))]


def test_a_first_deploy(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy, live=None)
    deploy_once(c, host, echoed)
    assert host.upstreams == {"api": 9000, "worker": 9002}
    assert host.slots == {"blue": V2}
    assert host.stopped == set()
    assert not any(n.startswith(("stop", "down")) for n in host.labels)
    assert host.record()["history"] == [{"version": "v2", "image": V2, "at": ANY}]
    (line,) = host.audits()
    assert line.endswith(f" deployed v2 ({V2}) slot blue")


def test_a_failing_step_shows_diagnostics_then_undoes_and_names_the_step(
    c: config.Config, echoed: list[str]
) -> None:
    host = FakeHost(c.deploy)
    host.logs = RunResult(0, 'boot\nerror: DB_PASSWORD="hunter2secret rejected\n', "")
    host.failing["up worker"] = RunResult(
        1,
        "",
        'pulling\nstep 2\nstep 3\nerror: invalid value "hunter2secret in app.env\n',
    )
    with pytest.raises(DeployFailed) as caught:
        deploy_once(c, host, echoed)
    message = str(caught.value)
    assert message == (
        "deploy@app1: start worker (green) beside the live one failed on deploy@app1: "
        "step 2 | step 3 | error: invalid value *** in app.env"
    )
    labels = host.labels
    failed = labels.index("up worker green")
    after = labels[failed + 1 :]
    # Diagnostics (logs of the new slot, its health, the containers), then the undo.
    assert after.index("logs") < after.index("containers")
    assert after.index("containers") < after.index("switch api=9000 worker=9002")
    assert after.index("switch api=9000 worker=9002") < after.index("stop green")
    assert host.upstreams == {"api": 9000, "worker": 9002}  # traffic back on blue
    assert running(host) == {"blue": V1}
    assert any(" rolled-back v2 " in line for line in host.audits())
    assert "finish" not in labels
    assert "stop blue" not in labels  # the old slot never stopped
    shown = "\n".join(echoed)
    assert "FAILED at start worker (green) beside the live one" in shown
    assert "error: DB_PASSWORD=*** rejected" in shown  # the logs, scrubbed
    assert f"    web-green-x-1 running {V2} Up" in shown  # the new slot's container
    assert "other-blue" not in shown  # another app's containers are not listed
    assert "hunter2secret" not in shown


def test_low_disk_stops_before_anything_changes(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.free = 50
    with pytest.raises(DeployFailed) as caught:
        deploy_once(c, host, echoed)
    assert str(caught.value) == (
        "deploy@app1: deploy@app1 has 50 MB free under /srv/web, less than "
        "tool.shipline.deploy.min-free-mb (100)"
    )
    stage = next(argv for argv, _ in host.calls if label(argv).startswith("stage"))
    assert stage[8] == "100"  # the floor is the stage's to check
    assert not any(n.startswith("up ") for n in host.labels)
    assert not any(path.startswith("/srv/web/releases") for path in host.files)
    assert "/srv/web/slots/green.env" not in host.files
    assert host.upstreams == {"api": 9000, "worker": 9002}


def test_a_stage_that_cannot_say_its_free_space(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.failing["stage"] = RunResult(4, "free \n", "")
    with pytest.raises(DeployFailed, match="has 0 MB free under /srv/web, less than"):
        deploy_once(c, host, echoed)


def test_a_failed_pull_names_the_stage_with_its_output(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.failing["stage"] = RunResult(1, f"free 999999\ndocker pull {V2} failed\n", "")
    with pytest.raises(DeployFailed) as caught:
        deploy_once(c, host, echoed)
    assert str(caught.value) == (
        "deploy@app1: stage the release and pull the image failed on deploy@app1: "
        f"free 999999 | docker pull {V2} failed"
    )
    assert host.labels[-3:] == ["switch api=9000 worker=9002", "stop green", "audit"]
    assert " rolled-back v2 " in host.audits()[-1]


def test_a_crash_at_boot_is_seen_by_the_probe(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.probe = RunResult(0, "|exited|0\n", "")
    with pytest.raises(DeployFailed, match="crashed at boot"):
        deploy_once(c, host, echoed)
    logs = [argv for argv, _ in host.calls if label(argv) == "logs"]
    assert logs[0] == ["docker", "logs", "--tail", "30", "id-green-api"]
    assert "switch api=9001" not in host.labels  # never switched


def test_a_container_that_never_started(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.failing["find api green"] = OK
    with pytest.raises(DeployFailed, match=r"api \(green\) did not start on deploy@app1"):
        deploy_once(c, host, echoed)


def test_a_crash_inside_a_step_is_logged_and_still_undone(
    c: config.Config, echoed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    monkeypatch.setenv("SHIPLINE_LOG_DIR", str(logs))

    def broken(url: str, _cfg: config.SmokeConfig, version: str | None) -> None:
        raise ValueError("boom: hunter2secret")

    monkeypatch.setattr(smoke, "run_checks", broken)
    host = FakeHost(c.deploy)
    with pytest.raises(DeployFailed) as caught:
        deploy_once(c, host, echoed)
    message = str(caught.value)
    assert message.startswith("deploy@app1: internal error (ValueError: boom: ***)")
    assert "hunter2secret" not in message
    found = re.search(r"the traceback is in (\S+)$", message)
    assert found is not None
    crash = Path(found.group(1))
    assert crash.parent == logs
    text = crash.read_text()
    assert "Traceback (most recent call last)" in text
    assert "ValueError: boom" in text
    assert "during a deploy" in text
    # Undone all the same: the switch had happened.
    assert host.upstreams == {"api": 9000, "worker": 9002}
    assert running(host) == {"blue": V1}


def test_cancel_stops_at_the_next_step_and_undoes(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    ex = make_executor(c, {HOST: host}, echoed)

    def on_run(name: str) -> None:
        if name.startswith("stage"):
            ex.cancel.set()

    host.on_run = on_run
    plan = plan_v2(c, ex)
    with pytest.raises(Interrupted) as caught:
        ex.execute(plan)
    assert str(caught.value) == "deploy@app1: interrupted by SIGINT; rolled back"
    assert caught.value.exit_code == 130
    labels = host.labels
    after = labels[labels.index(f"stage {V2}") + 1 :]
    assert not any(n.startswith("up ") for n in after)  # the next step never ran
    assert "stop green" in after
    assert host.upstreams == {"api": 9000, "worker": 9002}
    assert host.running() == {"blue": V1}


def test_cancel_during_the_health_wait(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.probe = RunResult(0, "starting|running|0\n", "")
    ex = make_executor(c, {HOST: host}, echoed)
    ex.signal_name = "SIGTERM"
    host.on_run = lambda name: ex.cancel.set() if name == "probe" else None
    plan = plan_v2(c, ex)
    with pytest.raises(Interrupted, match="interrupted by SIGTERM; rolled back"):
        ex.execute(plan)
    assert running(host) == {"blue": V1}


def test_a_lost_lease_stops_without_touching_the_host(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    ex = make_executor(c, {HOST: host}, echoed)
    lease = leases.Lease(HOST, cast(Remote, host), "/srv/web", 60)
    ex.leases[HOST] = lease

    def on_run(name: str) -> None:
        if name == "login":
            lease.lost = True

    host.on_run = on_run
    plan = plan_v2(c, ex)
    with pytest.raises(leases.LeaseLost, match="another deploy broke this deploy's lock"):
        ex.execute(plan)
    assert host.labels[-1] == "login"  # no stage, no diagnostics, no undo, no audit
    assert not any(path.startswith("/srv/web/releases") for path in host.files)
    assert host.audits() == []


def test_a_dropped_connection_during_the_undo_is_retried(
    c: config.Config, echoed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)  # the undo's pause between attempts
    host = FakeHost(c.deploy)
    host.failing["stage"] = RunResult(1, "", "manifest unknown\n")
    host.drops = ["stop green"]
    with pytest.raises(DeployFailed, match="pull the image failed on deploy@app1: manifest"):
        deploy_once(c, host, echoed)
    assert host.labels.count("stop green") == 2
    assert len(pauses) == 1
    assert any("rollback attempt 1 failed" in line for line in echoed)


def test_rolling_back_a_first_deploy_only_stops_its_slot(
    c: config.Config, echoed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(url: str, _cfg: config.SmokeConfig, version: str | None) -> list[smoke.CheckResult]:
        return [smoke.CheckResult("GET /health", False, "HTTP 502", 0.0)]

    monkeypatch.setattr(smoke, "run_checks", failing)
    host = FakeHost(c.deploy, live=None)
    with pytest.raises(DeployFailed, match="smoke checks failed on deploy@app1 after the switch"):
        deploy_once(c, host, echoed)
    after = host.labels[host.labels.index("switch worker=9002") + 1 :]
    assert [n for n in after if n.startswith(("switch", "stop"))] == ["stop blue"]
    assert running(host) == {}
    assert any("rolling back to nothing (first deploy)" in line for line in echoed)


def test_the_survey_notes_a_stale_record(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.state = json.dumps({"slot": "green", "version": "v0", "image": V2, "history": []})
    truth = make_executor(c, {HOST: host}, echoed).survey(HOST)
    assert (truth.live, truth.running) == ("blue", Deployed("v1", V1))
    assert any("the proxy wins" in line for line in echoed)
    assert any("note: state.json says green is live" in line for line in host.audits())


def test_a_survey_that_fails_is_reported_scrubbed(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.survey_failure = RunResult(1, "", "sh: cannot open hunter2secret: Permission denied\n")
    with pytest.raises(DeployFailed) as caught:
        make_executor(c, {HOST: host}, echoed).survey(HOST)
    assert str(caught.value) == (
        "cannot read the state of deploy@app1: sh: cannot open ***: Permission denied"
    )


def test_resolve(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    ex = make_executor(c, {HOST: host}, echoed)
    host.digests = RunResult(0, f"other/name@sha256:{'9' * 64}\n{V2}\n", "")
    assert ex.resolve(HOST, NAME, "v2", None) == V2
    assert "login" not in host.labels
    digest = "sha256:" + "3" * 64
    assert ex.resolve(HOST, NAME, digest, None) == f"{NAME}@{digest}"
    assert host.labels == ["resolve"]  # a digest needs no pull
    host.digests = RunResult(1, "", "Error: manifest unknown\n")
    with pytest.raises(DeployFailed, match=r"cannot resolve .*:v9 to a digest on deploy@app1"):
        ex.resolve(HOST, NAME, "v9", None)


@pytest.mark.parametrize(
    ("fault", "warning"),
    [
        (
            "fails",
            "[deploy@app1] warning: record, audit, prune (keep the last 3 releases) failed on "
            "deploy@app1: No space left on device",
        ),
        (
            "drops",
            "[deploy@app1] warning: record, audit, prune (keep the last 3 releases): "
            "lost the SSH connection to deploy@app1",
        ),
    ],
)
def test_finishing_never_breaks_a_deploy(
    c: config.Config, echoed: list[str], fault: str, warning: str
) -> None:
    host = FakeHost(c.deploy)
    if fault == "fails":
        host.failing["finish"] = RunResult(1, "", "No space left on device\n")
    else:
        host.drops = ["finish"]
    deploy_once(c, host, echoed)
    assert warning in echoed
    assert host.labels.count("finish") == 1  # tried once, then the deploy goes on
    assert host.running() == {"green": V2}  # deployed all the same
    assert host.record()["image"] == V1  # the record stayed as it was


def test_a_deploy_whose_record_cannot_be_written_is_still_audited(
    c: config.Config, echoed: list[str]
) -> None:
    host = FakeHost(c.deploy)
    host.unrecordable = True
    deploy_once(c, host, echoed)
    assert host.running() == {"green": V2}  # deployed all the same
    assert host.record()["image"] == V1  # the record is behind...
    (line,) = host.audits()  # ...but the audit log says what happened
    assert line.endswith(f" tester@laptop deployed v2 ({V2}) slot green from v1 ({V1})")
    assert (
        "[deploy@app1] warning: record, audit, prune (keep the last 3 releases) failed on "
        "deploy@app1: sh: cannot create state.json.tmp: Read-only file system"
    ) in echoed
    assert host.labels.count("finish") == 1
    assert "audit" not in host.labels  # the one line, written by `finish`


def test_the_audit_line_is_scrubbed(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    ex = Executor(
        c,
        lambda _spec: cast(Remote, host),
        echoed.append,
        f"ci {TOKEN}",
        Scrubber.of([*env_values(ENV), TOKEN]),
        TOKEN,
    )
    plan = plan_v2(c, ex, NO_LOGIN)
    ex.execute(plan)
    ex.finish(plan, NAME)
    (line,) = host.audits()
    assert " ci *** deployed v2 " in line
    assert not any(TOKEN in word for argv, _ in host.calls for word in argv)


def test_the_host_time_runs_from_survey_to_finish(c: config.Config, echoed: list[str]) -> None:
    host = FakeHost(c.deploy)
    host.on_run = lambda name: time.sleep(0.2) if name in ("survey", "finish") else None
    hosts = {HOST: host}
    (run,) = fleet_rollout(c, hosts, echoed).run(
        [HOST], 1, "v2", rollout.fixed(plans.Release("v2", V2))
    )
    timings = dict(run.timings)
    assert run.seconds >= 0.4
    assert timings["read the host"] >= 0.2  # the survey and the finish are counted too
    assert timings["record, audit, prune"] >= 0.2
    assert run.seconds >= sum(timings.values())
    steps = [name for name, _ in run.timings][: len(run.plan.steps)]
    assert steps == [s.name for s in run.plan.steps]
    assert list(timings)[len(run.plan.steps) :] == [
        "read the host",
        "resolve the version",
        "record, audit, prune",
    ]


# -- leases across hosts ------------------------------------------------------------------------

HOLDER = json.dumps({"since": "2030-01-01T00:00:00Z", "version": "v9", "who": "bob@ci"})


def fleet(
    c: config.Config, names: list[str], journal: list[tuple[str, str]] | None = None
) -> dict[HostSpec, FakeHost]:
    return {
        HostSpec("deploy", name): FakeHost(c.deploy, name=name, journal=journal) for name in names
    }


def lease_of(spec: HostSpec, host: FakeHost) -> leases.Lease:
    return leases.Lease(spec, cast(Remote, host), "/srv/web", 60)


def test_acquire_all_takes_every_lease_in_host_order(c: config.Config) -> None:
    journal: list[tuple[str, str]] = []
    hosts = fleet(c, ["b", "a"], journal)
    held = [lease_of(spec, host) for spec, host in hosts.items()]
    leases.acquire_all(held, owner="owner", wait=0, cancelled=lambda: False, sleep=lambda _s: None)
    assert journal == [("a", "acquire"), ("b", "acquire")]
    assert all(lease.held for lease in held)
    tokens = {argv[5] for host in hosts.values() for argv, _ in host.calls}
    assert tokens == {lease.token for lease in held}  # each host got its own token


def test_acquire_all_holds_nothing_when_a_host_is_locked(c: config.Config) -> None:
    journal: list[tuple[str, str]] = []
    hosts = fleet(c, ["b", "a"], journal)
    hosts[HostSpec("deploy", "b")].leases = [RunResult(3, f"held 12 {HOLDER} \n", "")]
    held = [lease_of(spec, host) for spec, host in hosts.items()]
    with pytest.raises(leases.Locked) as caught:
        leases.acquire_all(
            held, owner="owner", wait=0, cancelled=lambda: False, sleep=lambda _s: None
        )
    assert journal == [("a", "acquire"), ("b", "acquire"), ("a", "release")]
    assert str(caught.value).startswith(
        "deploy@b is locked by bob@ci deploying v9 since 2030-01-01T00:00:00Z "
        "(heartbeat 12 s ago; stale after 60 s)"
    )
    assert not any(lease.held for lease in held)
    a = hosts[HostSpec("deploy", "a")]
    released = [argv for argv, _ in a.calls if label(argv) == "release"]
    assert released[0][5] == next(lease.token for lease in held if lease.host.host == "a")


def test_acquire_all_waits_for_a_live_holder(c: config.Config) -> None:
    journal: list[tuple[str, str]] = []
    hosts = fleet(c, ["a", "b"], journal)
    hosts[HostSpec("deploy", "b")].leases = [
        RunResult(3, f"held 3 {HOLDER}\n", ""),
        RunResult(0, "taken\n", ""),
    ]
    pauses: list[float] = []
    held = [lease_of(spec, host) for spec, host in hosts.items()]
    leases.acquire_all(held, owner="owner", wait=30, cancelled=lambda: False, sleep=pauses.append)
    assert journal == [
        ("a", "acquire"),
        ("b", "acquire"),
        ("a", "release"),
        ("a", "acquire"),
        ("b", "acquire"),
    ]
    assert len(pauses) == 1
    assert all(lease.held for lease in held)


def test_acquire_all_stops_waiting_when_cancelled(c: config.Config) -> None:
    hosts = fleet(c, ["a"])
    hosts[HostSpec("deploy", "a")].leases = [RunResult(3, "busy\n", "")]
    held = [lease_of(spec, host) for spec, host in hosts.items()]
    with pytest.raises(leases.Locked, match="a concurrent lock check"):
        leases.acquire_all(
            held, owner="owner", wait=3600, cancelled=lambda: True, sleep=lambda _s: None
        )


def test_acquire_all_releases_what_it_took_when_a_host_errors(c: config.Config) -> None:
    # Not "held by someone": the lock script itself failed on the second host.
    journal: list[tuple[str, str]] = []
    hosts = fleet(c, ["a", "b"], journal)
    hosts[HostSpec("deploy", "b")].leases = [
        RunResult(1, "", "mkdir: cannot create directory '/srv/web': Permission denied\n")
    ]
    held = [lease_of(spec, host) for spec, host in hosts.items()]
    with pytest.raises(ShiplineError, match="cannot take the deploy lock on deploy@b: mkdir"):
        leases.acquire_all(
            held, owner="owner", wait=0, cancelled=lambda: False, sleep=lambda _s: None
        )
    # Every lease or none: host a must not stay locked until its lease goes stale.
    assert not any(lease.held for lease in held)
    assert ("a", "release") in journal


def test_a_broken_stale_lease_is_reported(c: config.Config) -> None:
    hosts = fleet(c, ["a"])
    hosts[HostSpec("deploy", "a")].leases = [RunResult(0, f"broke 700 {HOLDER} \n", "")]
    (lease,) = [lease_of(spec, host) for spec, host in hosts.items()]
    leases.acquire_all(
        [lease], owner="owner", wait=0, cancelled=lambda: False, sleep=lambda _s: None
    )
    assert lease.held
    assert lease.broken is not None
    assert lease.broken.heartbeat_age == 700
    assert lease.broken.describe() == "bob@ci deploying v9 since 2030-01-01T00:00:00Z"


class Clock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """`acquire_all`'s clock (its module's `time.monotonic`); pass `sleep=clock.sleep`."""
    fake = Clock()
    monkeypatch.setattr(leases, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


def held_by_bob(age: int = 3) -> RunResult:
    return RunResult(3, f"held {age} {HOLDER}\n", "")


def test_a_broken_lease_is_still_reported_after_a_retake_round(
    c: config.Config, clock: Clock
) -> None:
    journal: list[tuple[str, str]] = []
    hosts = fleet(c, ["a", "b"], journal)
    a, b = hosts[HostSpec("deploy", "a")], hosts[HostSpec("deploy", "b")]
    a.leases = [RunResult(0, f"broke 700 {HOLDER} \n", ""), RunResult(0, "taken\n", "")]
    b.leases = [held_by_bob(), RunResult(0, "taken\n", "")]
    held = [lease_of(spec, host) for spec, host in hosts.items()]
    leases.acquire_all(held, owner="owner", wait=30, cancelled=lambda: False, sleep=clock.sleep)
    assert journal == [
        ("a", "acquire"),  # broke the stale lease
        ("b", "acquire"),  # held: give a back, wait
        ("a", "release"),
        ("a", "acquire"),  # a plain take this time
        ("b", "acquire"),
    ]
    lease_a, lease_b = sorted(held, key=lambda lease: lease.host.host)
    assert lease_a.held
    assert lease_b.held
    assert lease_a.broken is not None  # the run broke it: the audit and the output say so
    assert lease_a.broken.heartbeat_age == 700
    assert lease_a.broken.describe() == "bob@ci deploying v9 since 2030-01-01T00:00:00Z"
    assert lease_b.broken is None


def test_the_waiting_line_is_said_once(c: config.Config, clock: Clock) -> None:
    hosts = fleet(c, ["a", "b"])
    hosts[HostSpec("deploy", "b")].leases = [held_by_bob(3), held_by_bob(4), held_by_bob(5)]
    hosts[HostSpec("deploy", "b")].leases.append(RunResult(0, "taken\n", ""))
    held = [lease_of(spec, host) for spec, host in hosts.items()]
    said: list[str] = []
    leases.acquire_all(
        held, owner="owner", wait=30, cancelled=lambda: False, sleep=clock.sleep, say=said.append
    )
    assert said == [
        "waiting for deploy@b's lock, held by bob@ci deploying v9 since "
        "2030-01-01T00:00:00Z (up to 30 s)"
    ]
    assert len(clock.sleeps) == 3
    assert all(lease.held for lease in held)


def test_nothing_is_said_without_a_wait(c: config.Config, clock: Clock) -> None:
    said: list[str] = []

    def acquire(hosts: dict[HostSpec, FakeHost], wait: float) -> None:
        held = [lease_of(s, h) for s, h in hosts.items()]
        leases.acquire_all(
            held, owner="o", wait=wait, cancelled=lambda: False, sleep=clock.sleep, say=said.append
        )

    acquire(fleet(c, ["a"]), 30)
    locked = fleet(c, ["a"])
    locked[HostSpec("deploy", "a")].leases = [held_by_bob()]
    with pytest.raises(leases.Locked):  # --lock-wait 0: no wait to announce
        acquire(locked, 0)
    assert said == []
    assert clock.sleeps == []


def test_the_last_try_is_at_the_deadline(c: config.Config, clock: Clock) -> None:
    hosts = fleet(c, ["a"])
    host = hosts[HostSpec("deploy", "a")]
    host.leases = [held_by_bob()]
    tries: list[float] = []
    host.on_run = lambda name: tries.append(clock.now) if name == "acquire" else None
    start = clock.now
    with pytest.raises(leases.Locked, match="deploy@a is locked by bob@ci"):
        leases.acquire_all(
            [lease_of(s, h) for s, h in hosts.items()],
            owner="o",
            wait=5,
            cancelled=lambda: False,
            sleep=clock.sleep,
        )
    # Backing off 0.2 s, x1.5 each time, at most 2 s; the last pause is cut short so
    # that the last try falls on the deadline, not a pause before it.
    assert clock.sleeps == pytest.approx([0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875, 0.84375])
    assert [t - start for t in tries] == pytest.approx(
        [0, 0.2, 0.5, 0.95, 1.625, 2.6375, 4.15625, 5.0]
    )
    assert tries[-1] == pytest.approx(start + 5)
    assert max(tries) <= start + 5 + 1e-9  # never a try after it


def test_a_lock_freed_by_the_deadline_is_taken(c: config.Config, clock: Clock) -> None:
    hosts = fleet(c, ["a"])
    host = hosts[HostSpec("deploy", "a")]
    host.leases = [held_by_bob()] * 7 + [RunResult(0, "taken\n", "")]  # free at the last try
    (lease,) = [lease_of(s, h) for s, h in hosts.items()]
    start = clock.now
    leases.acquire_all([lease], owner="o", wait=5, cancelled=lambda: False, sleep=clock.sleep)
    assert lease.held
    assert clock.now == pytest.approx(start + 5)
    assert host.labels.count("acquire") == 8


@pytest.mark.parametrize(
    ("owner", "shown"),
    [
        ("", "someone (no owner recorded)"),
        ("alice at 10:00 deploying v3", "alice at 10:00 deploying v3"),
        ('["not", "a", "record"]', '["not", "a", "record"]'),
        ('{"who": "carol"}', "carol deploying ? since ?"),
    ],
)
def test_holder_descriptions(owner: str, shown: str) -> None:
    assert leases.Holder(5, owner).describe() == shown


# -- the fleet ------------------------------------------------------------------------------------


def fleet_rollout(
    c: config.Config, hosts: dict[HostSpec, FakeHost], echoed: list[str]
) -> rollout.Rollout:
    return rollout.Rollout(make_executor(c, hosts, echoed), NO_LOGIN, NAME)


def staged(host: FakeHost) -> list[str]:
    """The images staged (and pulled unless present) on a host, in order."""
    return [n.split()[1] for n in host.labels if n.startswith("stage ")]


def test_a_fleet_deploy(c: config.Config, echoed: list[str]) -> None:
    hosts = fleet(c, ["h0", "h1", "h2"])
    runs = fleet_rollout(c, hosts, echoed).run(
        list(hosts), 1, "v2", rollout.fixed(plans.Release("v2", V2))
    )
    assert [r.plan.host.host for r in runs] == ["h0", "h1", "h2"]
    for host in hosts.values():
        assert host.running() == {"green": V2}
        assert host.labels[-3:] == ["stop blue", "finish", "release"]
        assert host.labels[0] == "acquire"
        assert host.labels[-1] == "release"


def test_a_failing_host_puts_the_hosts_already_updated_back(
    c: config.Config, echoed: list[str]
) -> None:
    hosts = fleet(c, ["h0", "h1", "h2"])
    h0, h1, h2 = hosts.values()
    h1.failing[f"stage {V2}"] = RunResult(1, "", "manifest unknown\n")
    with pytest.raises(DeployFailed) as caught:
        fleet_rollout(c, hosts, echoed).run(
            list(hosts), 1, "v2", rollout.fixed(plans.Release("v2", V2))
        )
    assert str(caught.value) == (
        "deploy@h1: stage the release and pull the image failed on deploy@h1: "
        "manifest unknown; rolled back deploy@h0 back on v1 so the fleet stays on one version"
    )
    # h0 ran v2, then a second deploy of the image it ran before, by digest.
    assert staged(h0) == [V2, V1]
    assert h0.running() == {"blue": V1}
    assert h0.stopped == {"green"}
    assert h0.upstreams == {"api": 9000, "worker": 9002}
    assert h0.record()["image"] == V1
    assert h1.slots == {"blue": V1}  # undone on the host itself
    assert "survey" not in h2.labels  # never touched
    for host in hosts.values():
        assert host.labels[-1] == "release"


def test_a_host_that_cannot_be_restored_does_not_strand_the_others(
    c: config.Config, echoed: list[str]
) -> None:
    hosts = fleet(c, ["h0", "h1", "h2"])
    h0, h1, h2 = hosts.values()
    h1.failing[f"stage {V1}"] = RunResult(1, "", "registry unreachable\n")
    h2.failing[f"stage {V2}"] = RunResult(1, "", "manifest unknown\n")
    with pytest.raises(DeployFailed) as caught:
        fleet_rollout(c, hosts, echoed).run(
            list(hosts), 1, "v2", rollout.fixed(plans.Release("v2", V2))
        )
    message = str(caught.value)
    assert message.startswith("deploy@h2: stage the release and pull the image failed")
    assert "rolled back deploy@h0 back on v1" in message
    assert "deploy@h1 could NOT be put back on v1" in message
    assert message.endswith(
        "the fleet is NOT on one version, fix those hosts and run `invoke rollback`"
    )
    assert staged(h1) == [V2, V1]  # tried first (newest first)...
    assert staged(h0) == [V2, V1]  # ...and h0 was still put back
    assert h0.running() == {"blue": V1}
    assert h1.running() == {"green": V2}  # where the failed restore left it


def test_a_batch_deploys_together_and_a_failure_stops_the_rollout(
    c: config.Config, echoed: list[str]
) -> None:
    hosts = fleet(c, ["h0", "h1", "h2", "h3"])
    h0, h1, h2, h3 = hosts.values()
    h1.failing[f"stage {V2}"] = RunResult(1, "", "manifest unknown\n")
    with pytest.raises(DeployFailed, match="rolled back deploy@h0 back on v1"):
        fleet_rollout(c, hosts, echoed).run(
            list(hosts), 2, "v2", rollout.fixed(plans.Release("v2", V2))
        )
    assert staged(h0) == [V2, V1]
    assert (h0.running(), h1.running()) == ({"blue": V1}, {"blue": V1})
    assert "survey" not in h2.labels
    assert "survey" not in h3.labels


def test_a_locked_host_stops_the_fleet_before_any_change(
    c: config.Config, echoed: list[str]
) -> None:
    hosts = fleet(c, ["h0", "h1"])
    h0, h1 = hosts.values()
    h1.leases = [RunResult(3, f"held 5 {HOLDER}\n", "")]
    with pytest.raises(leases.Locked, match="deploy@h1 is locked by bob@ci"):
        fleet_rollout(c, hosts, echoed).run(
            list(hosts), 1, "v2", rollout.fixed(plans.Release("v2", V2))
        )
    assert h0.labels == ["acquire", "release"]
    assert h1.labels == ["acquire"]


def test_a_host_without_a_previous_version_is_left_as_it_is(
    c: config.Config, echoed: list[str]
) -> None:
    hosts = fleet(c, ["h0", "h1"])
    h0, h1 = hosts.values()
    hosts[HostSpec("deploy", "h0")] = h0 = FakeHost(c.deploy, live=None, name="h0")
    h1.failing[f"stage {V2}"] = RunResult(1, "", "manifest unknown\n")
    with pytest.raises(DeployFailed) as caught:
        fleet_rollout(c, hosts, echoed).run(
            list(hosts), 1, "v2", rollout.fixed(plans.Release("v2", V2))
        )
    assert "rolled back" not in str(caught.value)
    assert h0.slots == {"blue": V2}
    assert any("had no previous version; leaving v2" in line for line in echoed)


@pytest.mark.parametrize(
    ("count", "size", "sizes"),
    [(5, 1, [1, 1, 1, 1, 1]), (5, 2, [2, 2, 1]), (4, 4, [4]), (3, 10, [3]), (0, 1, [])],
)
def test_batches(count: int, size: int, sizes: list[int]) -> None:
    hosts = [HostSpec("d", f"h{i}") for i in range(count)]
    groups = rollout.batches(hosts, size)
    assert [len(g) for g in groups] == sizes
    assert [h for g in groups for h in g] == hosts
