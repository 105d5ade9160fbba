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
from shipline.deploy.survey import Deployed, Truth, other, port, record_after
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
class Stage(Run):
    """The release's files written, free disk checked, the image pulled: one round trip.

    The env file is a secret: it travels on stdin, and is never shown."""

    payload: bytes = field(default=b"", repr=False)
    """`commands.stage_payload`: a tar of the files, the env file among them."""
    min_free_mb: int = 0

    def describe(self) -> str:
        names = ", ".join(cmd.STAGED).replace("app.env", "app.env (secret, not shown)")
        return f"{cmd.show(self.argv)}  (stdin: a tar of {names})"


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
        "command": ["nginx", "-c", "/etc/shipline/nginx/nginx.conf", "-g", "daemon off;"],
        # Directories, not files: a file replaced by rename stays the old inode in a
        # container that bind-mounted the file itself.
        "volumes": ["./nginx:/etc/shipline/nginx:ro", "./upstreams:/etc/shipline/upstreams:ro"],
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
    cfg: Config, *, host: HostSpec, release: Release, truth: Truth, inputs: Inputs, pulled: bool
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
    payload = cmd.stage_payload(
        {
            "compose.yml": inputs.compose,
            "app.env": inputs.env or b"",
            "slot.env": slot_env(deploy, nxt, release),
            "nginx.conf": nginx_conf(deploy),
            "proxy.yml": proxy_compose_file(deploy),
        }
    )
    if inputs.login and not pulled:
        registry, user = inputs.login
        steps.append(Login("registry login", tuple(cmd.login(registry, user)), registry))
    argv = cmd.stage(
        deploy.path,
        release=release_path,
        image=release.image,
        slot=nxt,
        min_free_mb=deploy.min_free_mb,
    )
    name = "stage the release and pull the image"
    steps.append(Stage(name, tuple(argv), payload, deploy.min_free_mb))
    if deploy.migrations:
        steps.append(Run("run migrations", tuple(cmd.migrations(new, deploy.migrations))))
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
    url = deploy.url.format(host=host.host)
    steps.append(Smoke("smoke checks", url, release.reported))
    if live:  # smoke ran meanwhile: the old workers have usually drained by now
        argv = cmd.drain_and_stop(deploy.app, live, deploy.drain_seconds)
        steps.append(Run(f"drain and stop the old slot ({live})", tuple(argv)))
    return HostPlan(host, release, truth, nxt, tuple(steps))


def finish_step(cfg: Config, plan: HostPlan, *, when: str, name: str, audit: str) -> Run:
    """After success, one command: the record (history for rollback), the audit line, the
    prune. `name` is the image name whose unused images are removed."""
    deploy = cfg.deploy
    state = record_after(plan.next, plan.release.deployed(), truth_before=plan.truth, when=when)
    argv = cmd.finish(deploy.path, state_json=state, keep=deploy.keep, name=name, audit_line=audit)
    return Run(f"record, audit, prune (keep the last {deploy.keep} releases)", tuple(argv))


def rollback_steps(cfg: Config, plan: HostPlan) -> tuple[Run, ...]:
    """Undo a failed deploy on its host: every upstream back on the live slot, then the new
    slot drained and stopped. Re-pointing every service (not only those switched) is
    idempotent and also heals a proxy a killed deploy left half-switched; the drain lets
    nginx's old workers finish the requests they sent to the new slot before it stops."""
    deploy = cfg.deploy
    steps: list[Run] = []
    if plan.live:
        steps.append(
            switch(deploy, plan.live, deploy.services, f"point the proxy back at {plan.live}")
        )
    argv = cmd.drain_and_stop(deploy.app, plan.next, deploy.drain_seconds)
    steps.append(Run(f"drain and stop the new slot ({plan.next})", tuple(argv)))
    return tuple(steps)


def audit_line(when: str, who: str, plan: HostPlan, outcome: str) -> str:
    before = plan.running
    origin = f" from {before.version} ({before.image})" if before else ""
    return (
        f"{when} {who} {outcome} {plan.release.version} ({plan.release.image}) "
        f"slot {plan.next}{origin}"
    )
