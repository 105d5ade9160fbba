"""The deploy plan as data, and the fleet logic (batches, cross-host rollback) with fakes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shipline import config
from shipline.deploy import plan as plans
from shipline.deploy import rollout
from shipline.errors import ShiplineError
from shipline.remote import HostSpec

HOST = HostSpec("deploy", "app1")


def cfg(tmp_path: Path, extra: str = "") -> config.Config:
    text = (
        '[project]\nname = "web"\n[tool.shipline.deploy]\napp = "web"\npath = "/srv/web"\n'
        'services = ["api", "worker"]\nbase-port = 9000\nproxy-port = 80\n' + extra
    )
    return config.parse(tomllib.loads(text), tmp_path)


def make(
    tmp_path: Path, live: str | None = "blue", extra: str = "", login: bool = True
) -> plans.HostPlan:
    return plans.plan_host(
        cfg(tmp_path, extra),
        HOST,
        "ghcr.io/acme/web:v2",
        "v2",
        live,
        "v1" if live else None,
        b"services: {}\n",
        b"SECRET=1\n",
        login,
    )


def test_the_new_version_goes_to_the_idle_slot(tmp_path: Path) -> None:
    plan = make(tmp_path)
    assert (plan.live, plan.next, plan.previous) == ("blue", "green", "v1")
    first = make(tmp_path, live=None)
    assert (first.live, first.next) == (None, "blue")


def test_steps_in_order(tmp_path: Path) -> None:
    names = [s.name for s in make(tmp_path, extra='migrations = "migrate"\n').steps]
    assert names == [
        "lock",
        "check docker and compose",
        "prepare directories",
        "check free disk space",
        "upload compose file",
        "upload env file",
        "write slot variables",
        "validate compose file",
        "registry login",
        "pull the image",
        "run migrations",
        "proxy config",
        "proxy compose file",
        "start api (green) beside the live one",
        "wait for api (green) to be healthy",
        "point the proxy at api (green)",
        "start or reload the proxy",
        "drain api (blue)",
        "start worker (green) beside the live one",
        "wait for worker (green) to be healthy",
        "point the proxy at worker (green)",
        "start or reload the proxy",
        "drain worker (blue)",
        "smoke checks",
        "stop the old slot (blue)",
        "record the live slot",
        "prune: keep the last 3 releases",
        "unlock",
    ]
    # Migrations run once, before any traffic moves.
    assert names.index("run migrations") < names.index("point the proxy at api (green)")


def test_exact_commands(tmp_path: Path) -> None:
    steps = {s.name: s for s in make(tmp_path).steps}
    compose = (
        "docker compose -p web-green --env-file /srv/web/slots/green.env "
        "-f /srv/web/releases/v2/compose.yml"
    )
    assert steps["start api (green) beside the live one"].command == (
        f"{compose} up -d --no-deps --force-recreate api"
    )
    assert steps["pull the image"].command == "docker pull --quiet ghcr.io/acme/web:v2"
    assert steps["stop the old slot (blue)"].command == (
        "docker compose -p web-blue --env-file /srv/web/slots/blue.env "
        "-f /srv/web/releases/v1/compose.yml down --timeout 30"
    )
    assert steps["point the proxy at api (green)"].content == (
        b"upstream api {\n    server 127.0.0.1:9001;\n    keepalive 16;\n}\n"
    )
    assert steps["point the proxy at worker (green)"].content.count(b"127.0.0.1:9003") == 1
    assert steps["write slot variables"].content == (
        b"APP_IMAGE=ghcr.io/acme/web:v2\nAPP_VERSION=v2\nAPP_SLOT=green\n"
        b"APP_PORT_API=9001\nAPP_PORT_WORKER=9003\nAPP_PORT=9001\n"
    )
    env = steps["upload env file"]
    assert (env.mode, env.secret, env.path) == (0o600, True, "/srv/web/releases/v2/app.env")
    assert "(secret, not shown)" in env.describe()
    assert b"SECRET" not in env.describe().encode()
    reload = steps["start or reload the proxy"].command
    assert "nginx -t -q" in reload
    assert "nginx -s reload" in reload
    assert b"listen 80;" in steps["proxy config"].content


def test_secrets_never_in_a_command(tmp_path: Path) -> None:
    for step in make(tmp_path).steps:
        assert "SECRET" not in step.command
    login = next(s for s in make(tmp_path).steps if s.kind == "login")
    assert login.command == ""  # the token goes on stdin, added by the executor
    assert all(s.kind != "login" for s in make(tmp_path, login=False).steps)


def test_a_first_deploy_stops_nothing(tmp_path: Path) -> None:
    names = [s.name for s in make(tmp_path, live=None).steps]
    assert not any(n.startswith("stop the old slot") for n in names)


def test_rollback_steps(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    plan = make(tmp_path)
    before_switch = plans.rollback_steps(c, plan, switched=set())
    assert [s.name for s in before_switch] == ["remove the new slot (green)"]
    after_switch = plans.rollback_steps(c, plan, switched={"api"})
    assert [s.name for s in after_switch] == [
        "point the proxy back at api (blue)",
        "reload the proxy",
        "remove the new slot (green)",
    ]
    assert b"127.0.0.1:9000" in after_switch[0].content


def test_prune_keeps_at_least_the_live_and_previous(tmp_path: Path) -> None:
    deploy = cfg(tmp_path).deploy
    assert deploy is not None
    assert "tail -n +3" in plans.prune_command(deploy, "ghcr.io/acme/web", keep=0)
    assert "tail -n +6" in plans.prune_command(deploy, "ghcr.io/acme/web", keep=5)


@pytest.mark.parametrize(
    ("count", "batch", "sizes"),
    [
        (5, "1", [1, 1, 1, 1, 1]),
        (5, "2", [2, 2, 1]),
        (8, "25%", [2, 2, 2, 2]),
        (3, "10%", [1, 1, 1]),
        (4, "100%", [4]),
    ],
)
def test_batches(count: int, batch: str, sizes: list[int]) -> None:
    hosts = [HostSpec("d", f"h{i}") for i in range(count)]
    groups = rollout.batches(hosts, batch)
    assert [len(g) for g in groups] == sizes
    assert [h for g in groups for h in g] == hosts


class FakeDeployer:
    """Records what the fleet logic asks for; which host fails is scripted."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.versions = {f"h{i}": "v1" for i in range(4)}
        self.executed: list[tuple[str, str]] = []
        self.lines: list[str] = []
        self.broken_restores: set[tuple[str, str]] = set()

    def echo(self, line: str) -> None:
        self.lines.append(line)

    def state(self, host: HostSpec) -> dict[str, str]:
        return {"slot": "blue", "version": self.versions[host.host]}

    def execute(self, plan: plans.HostPlan) -> rollout.HostRun:
        self.executed.append((plan.host.host, plan.version))
        if (plan.host.host, plan.version) in self.broken_restores:
            raise rollout.DeployFailed(f"{plan.host}: SSH unreachable")
        if plan.host.host in self.failing and plan.version == "v2":
            raise rollout.DeployFailed(f"{plan.host}: app v2 is unhealthy")
        self.versions[plan.host.host] = plan.version
        return rollout.HostRun(plan)


def plan_for(tmp_path: Path) -> rollout.PlanFor:
    c = cfg(tmp_path)

    def make_plan(host: HostSpec, version: str, state: dict[str, str]) -> plans.HostPlan:
        return plans.plan_host(
            c,
            host,
            f"web:{version}",
            version,
            state.get("slot"),
            state.get("version"),
            b"",
            None,
            False,
        )

    return make_plan


def test_a_failing_host_rolls_back_those_already_updated(tmp_path: Path) -> None:
    fake = FakeDeployer(failing={"h2"})
    hosts = [HostSpec("d", f"h{i}") for i in range(4)]
    with pytest.raises(ShiplineError) as caught:
        rollout.rollout(fake, hosts, "v2", "1", plan_for(tmp_path))  # type: ignore[arg-type]
    assert str(caught.value) == (
        "d@h2: app v2 is unhealthy; rolled back d@h1 back on v1, d@h0 back on v1 so the fleet "
        "stays on one version"
    )
    assert fake.executed == [("h0", "v2"), ("h1", "v2"), ("h2", "v2"), ("h1", "v1"), ("h0", "v1")]
    assert set(fake.versions.values()) == {"v1"}  # h3 never touched, all on one version


def test_a_batch_runs_together_and_stops_the_rollout(tmp_path: Path) -> None:
    fake = FakeDeployer(failing={"h3"})
    hosts = [HostSpec("d", f"h{i}") for i in range(4)]
    with pytest.raises(ShiplineError):
        rollout.rollout(fake, hosts, "v2", "50%", plan_for(tmp_path))  # type: ignore[arg-type]
    deployed = [e for e in fake.executed if e[1] == "v2"]
    assert sorted(deployed) == [("h0", "v2"), ("h1", "v2"), ("h2", "v2"), ("h3", "v2")]
    assert set(fake.versions.values()) == {"v1"}


def test_success_everywhere(tmp_path: Path) -> None:
    fake = FakeDeployer(failing=set())
    hosts = [HostSpec("d", f"h{i}") for i in range(3)]
    runs = rollout.rollout(fake, hosts, "v2", "1", plan_for(tmp_path))  # type: ignore[arg-type]
    assert [r.plan.host.host for r in runs] == ["h0", "h1", "h2"]
    assert [fake.versions[f"h{i}"] for i in range(3)] == ["v2", "v2", "v2"]
    assert not any("restoring" in line for line in fake.lines)


def test_a_host_that_cannot_be_restored_does_not_strand_the_others(tmp_path: Path) -> None:
    fake = FakeDeployer(failing={"h2"})
    fake.broken_restores = {("h1", "v1")}
    hosts = [HostSpec("d", f"h{i}") for i in range(3)]
    with pytest.raises(ShiplineError) as caught:
        rollout.rollout(fake, hosts, "v2", "1", plan_for(tmp_path))  # type: ignore[arg-type]
    assert str(caught.value) == (
        "d@h2: app v2 is unhealthy; rolled back d@h0 back on v1; d@h1 could NOT be put back on "
        "v1 (d@h1: SSH unreachable): the fleet is NOT on one version, fix those hosts and run "
        "`invoke rollback`"
    )
    assert ("h0", "v1") in fake.executed  # h0 restored although h1 failed first
