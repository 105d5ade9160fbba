"""The deploy of one host, computed as typed steps before anything runs.

Each host runs two slots, blue and green: the new version starts in the idle slot
beside the live one, and nginx moves traffic once it is healthy. That is what
makes the deploy lose no request, where `docker compose up -d` stops the old
container before the new one is ready. A plan is made under the host's lock,
from what the host really runs (`survey.truth`); `--dry-run` prints it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from shipline.config import Config, DeployConfig
from shipline.deploy import commands as cmd
from shipline.deploy.commands import SLOTS, Argv
from shipline.deploy.survey import Deployed, Truth, other, port
from shipline.remote import HostSpec


@dataclass(frozen=True)
class Release:
    """What is deployed: the tag people know it by and the immutable image ref it runs."""

    version: str
    image: str
    """name@sha256:... once resolved (a dry run shows name:tag)."""

    @property
    def directory(self) -> str:
        return self.version.replace(":", "-")

    @property
    def reported(self) -> str | None:
        """The version the app should report, when it is a tag (a bare digest has none)."""
        return None if self.version.startswith("sha256:") else self.version

    def deployed(self) -> Deployed:
        return Deployed(self.version, self.image)


@dataclass(frozen=True)
class Step:
    name: str

    def describe(self) -> str:  # pragma: no cover - every kind overrides it
        return self.name


@dataclass(frozen=True)
class Run(Step):
    """A command whose failure fails the deploy."""

    argv: tuple[str, ...]

    def describe(self) -> str:
        return cmd.show(self.argv)


@dataclass(frozen=True)
class Prepare(Run):
    """Engine and compose checks, directories, free disk space (MB) against a floor."""

    min_free_mb: int = 0


@dataclass(frozen=True)
class Upload(Step):
    path: str
    content: bytes = field(repr=False)
    mode: int = 0o644
    secret: bool = False

    def describe(self) -> str:
        shown = "(secret, not shown)" if self.secret else f"{len(self.content)} bytes"
        return f"write {self.path} mode {self.mode:o} {shown}"


@dataclass(frozen=True)
class Login(Run):
    registry: str = ""

    def describe(self) -> str:
        return f"{cmd.show(self.argv)}  (stdin: ***)"


@dataclass(frozen=True)
class StartSlot(Run):
    service: str = ""
    slot: str = ""


@dataclass(frozen=True)
class WaitHealthy(Step):
    service: str
    slot: str
    find: tuple[str, ...]

    def describe(self) -> str:
        return f"poll `docker inspect` of {cmd.show(self.find)} until healthy"


@dataclass(frozen=True)
class Switch(Run):
    """Upstreams written and nginx reloaded in one command."""

    slot: str = ""
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drain(Run):
    limit: float = 0.0

    def describe(self) -> str:
        return f"until `{cmd.show(self.argv)}` says 0, at most {self.limit:g} s"


@dataclass(frozen=True)
class Smoke(Step):
    url: str
    version: str | None

    def describe(self) -> str:
        return f"smoke checks against {self.url}"


@dataclass(frozen=True)
class HostPlan:
    host: HostSpec
    release: Release
    truth: Truth
    next: str
    steps: tuple[Step, ...]

    @property
    def live(self) -> str | None:
        return self.truth.live

    @property
    def running(self) -> Deployed | None:
        return self.truth.running


def release_dir(deploy: DeployConfig, release: Release) -> str:
    return f"{deploy.path}/releases/{release.directory}"


def slot_compose(deploy: DeployConfig, slot: str, release: Release) -> Argv:
    return cmd.compose(deploy.app, deploy.path, slot, release_dir(deploy, release))


def slot_env(deploy: DeployConfig, slot: str, release: Release) -> bytes:
    lines = [f"APP_IMAGE={release.image}", f"APP_VERSION={release.version}", f"APP_SLOT={slot}"]
    for service in deploy.services:
        name = service.upper().replace("-", "_").replace(".", "_")
        lines.append(f"APP_PORT_{name}={port(deploy, slot, service)}")
    lines.append(f"APP_PORT={port(deploy, slot, deploy.services[0])}")
    return ("\n".join(lines) + "\n").encode()


def nginx_conf(deploy: DeployConfig) -> bytes:
    first = deploy.services[0]
    return f"""worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    server_tokens off;
    client_max_body_size 10m;
    include /etc/shipline/upstreams/*.conf;
    server {{
        listen {deploy.proxy_port};
        location / {{
            proxy_pass http://{first};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout http_502;
            proxy_read_timeout 60s;
        }}
    }}
}}
""".encode()


def proxy_compose_file(deploy: DeployConfig) -> bytes:
    """JSON is YAML: the image name is data, whatever it holds, never YAML syntax."""
    service = {
        "image": deploy.proxy_image,
        "network_mode": "host",
        "restart": "unless-stopped",
        "command": ["nginx", "-g", "daemon off;"],
        "volumes": [
            "./nginx.conf:/etc/nginx/nginx.conf:ro",
            "./upstreams:/etc/shipline/upstreams:ro",
        ],
    }
    return (json.dumps({"services": {"nginx": service}}, indent=2) + "\n").encode()


def switch(deploy: DeployConfig, slot: str, services: tuple[str, ...], name: str) -> Switch:
    targets = tuple((s, port(deploy, slot, s)) for s in services)
    return Switch(name, tuple(cmd.switch(deploy.path, deploy.app, targets)), slot, services)


@dataclass(frozen=True)
class Inputs:
    """What every host's plan shares: files read once, registry access, the smoke URL."""

    compose: bytes = field(repr=False)
    env: bytes | None = field(repr=False)
    login: tuple[str, str] | None = None
    """(registry, username) when a token is set; the token itself never enters a plan."""


def plan_host(
    cfg: Config, host: HostSpec, release: Release, truth: Truth, inputs: Inputs, pulled: bool
) -> HostPlan:
    """The ordered steps for one host, from the host's truth (see `survey.truth`)."""
    deploy = cfg.deploy
    live = truth.live
    nxt = other(live) if live else SLOTS[0]
    release_path = release_dir(deploy, release)
    new = slot_compose(deploy, nxt, release)
    steps: list[Step] = []
    if truth.sync and live:
        steps.append(switch(deploy, live, deploy.services, f"re-sync the proxy on {live}"))
    steps += [
        Prepare(
            "prepare the host",
            tuple(cmd.prepare(deploy.path, release_path, release.image)),
            deploy.min_free_mb,
        ),
        Upload("upload compose file", f"{release_path}/compose.yml", inputs.compose),
        Upload("upload env file", f"{release_path}/app.env", inputs.env or b"", 0o600, True),
        Upload(
            "write slot variables",
            f"{deploy.path}/slots/{nxt}.env",
            slot_env(deploy, nxt, release),
        ),
    ]
    if inputs.login and not pulled:
        registry, user = inputs.login
        steps.append(Login("registry login", tuple(cmd.login(registry, user)), registry))
    steps.append(
        Run(
            "check the compose file and pull the image",
            tuple(cmd.check_and_pull(new, release.image)),
        )
    )
    if deploy.migrations:
        steps.append(Run("run migrations", tuple(cmd.migrations(new, deploy.migrations))))
    steps += [
        Upload("proxy config", f"{deploy.path}/proxy/nginx.conf", nginx_conf(deploy)),
        Upload(
            "proxy compose file", f"{deploy.path}/proxy/compose.yml", proxy_compose_file(deploy)
        ),
    ]
    for service in deploy.services:
        steps += [
            StartSlot(
                f"start {service} ({nxt}) beside the live one",
                tuple(cmd.start_slot(new, service)),
                service,
                nxt,
            ),
            WaitHealthy(
                f"wait for {service} ({nxt}) to be healthy",
                service,
                nxt,
                tuple(cmd.find_container(deploy.app, nxt, service)),
            ),
            switch(deploy, nxt, (service,), f"point the proxy at {service} ({nxt})"),
        ]
        if live:
            steps.append(
                Drain(
                    f"drain {service} ({live})",
                    tuple(cmd.draining(deploy.app)),
                    deploy.drain_seconds,
                )
            )
    url = deploy.url.format(host=host.host)
    steps.append(Smoke("smoke checks", url, release.reported))
    if live:
        steps.append(Run(f"stop the old slot ({live})", tuple(cmd.stop_slot(deploy.app, live))))
    return HostPlan(host, release, truth, nxt, tuple(steps))


def finish_steps(cfg: Config, plan: HostPlan, when: str, name: str) -> tuple[Run, ...]:
    """After success: the record (history for rollback) and the prune."""
    from shipline.deploy.survey import record_after

    deploy = cfg.deploy
    state = record_after(plan.next, plan.release.deployed(), plan.truth, when)
    return (
        Run("record the live slot", tuple(cmd.record(deploy.path, state))),
        Run(
            f"prune: keep the last {deploy.keep} releases",
            tuple(cmd.prune(deploy.path, deploy.keep, name)),
        ),
    )


def rollback_steps(cfg: Config, plan: HostPlan) -> tuple[Run, ...]:
    """Undo a failed deploy on its host: every upstream back on the live slot, the new
    slot down. Re-pointing every service (not only those switched) is idempotent and
    also heals a proxy a killed deploy left half-switched."""
    deploy = cfg.deploy
    steps: list[Run] = []
    if plan.live:
        steps.append(
            switch(deploy, plan.live, deploy.services, f"point the proxy back at {plan.live}")
        )
    steps.append(
        Run(f"remove the new slot ({plan.next})", tuple(cmd.remove_slot(deploy.app, plan.next)))
    )
    return tuple(steps)


def audit_line(when: str, who: str, plan: HostPlan, outcome: str) -> str:
    before = plan.running
    origin = f" from {before.version} ({before.image})" if before else ""
    return (
        f"{when} {who} {outcome} {plan.release.version} ({plan.release.image}) "
        f"slot {plan.next}{origin}"
    )
