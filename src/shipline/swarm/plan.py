"""A swarm deploy computed as typed steps before anything runs (what `--dry-run` prints).

The stack is the user's compose file, unchanged, merged by `docker stack deploy`
with `stack.json`, which shipline writes: replicas, placement, `update_config`,
`rollback_config`, the healthcheck's timing, and each service's port published in
host mode on the node that runs the task. Swarm then does the rolling update;
shipline watches it, runs the smoke checks, and rolls back when they fail.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from shipline.config import Config, DeployConfig, SwarmConfig
from shipline.deploy import commands as cmd
from shipline.deploy.plan import Inputs, Login, Release, Run, Smoke, Step
from shipline.deploy.survey import Deployed
from shipline.remote import HostSpec
from shipline.swarm import commands as sc
from shipline.swarm.state import Record, Truth


def service_name(cfg: Config, service: str) -> str:
    return f"{cfg.deploy.swarm.stack}_{service}"


def service_port(deploy: DeployConfig, service: str) -> int:
    """The port a service listens on and publishes on its node: base-port + 2i."""
    return deploy.base_port + 2 * deploy.services.index(service)


def _duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def _update(swarm: SwarmConfig, action: str) -> dict[str, Any]:
    return {
        "parallelism": swarm.parallelism,
        "delay": _duration(swarm.delay),
        "monitor": _duration(swarm.monitor),
        "order": swarm.order,
        "failure_action": action,
        "max_failure_ratio": swarm.max_failure_ratio,
    }


def stack_file(deploy: DeployConfig) -> bytes:
    """stack.json: what shipline adds to the user's compose file (JSON is YAML)."""
    swarm = deploy.swarm
    services: dict[str, Any] = {}
    for service in deploy.services:
        port = service_port(deploy, service)
        spec: dict[str, Any] = {
            "replicas": swarm.replicas,
            "update_config": _update(swarm, swarm.failure_action),
            "rollback_config": _update(swarm, "pause"),
            "restart_policy": {"condition": "any", "delay": "1s"},
        }
        if swarm.constraints:
            spec["placement"] = {"constraints": list(swarm.constraints)}
        services[service] = {
            "deploy": spec,
            "ports": [{"target": port, "published": port, "protocol": "tcp", "mode": "host"}],
            "healthcheck": {
                "interval": _duration(swarm.health_interval),
                "retries": swarm.health_retries,
            },
        }
    stack = {"version": STACK_VERSION, "services": services}
    return (json.dumps(stack, indent=2) + "\n").encode()


STACK_VERSION = "3.8"
"""The compose file format `docker stack deploy` reads: a docker CLI before 23 refuses a
file without a `version` ("unsupported Compose file version: 1.0"); later ones ignore it."""


def with_version(compose: bytes) -> bytes:
    """The user's compose file, given a top-level `version` when it has none: the line is
    put first, after any YAML directives and `---`. A file whose root is a flow mapping
    (`{...}`) is left as it is."""
    lines = compose.splitlines(keepends=True)
    if any(re.match(rb"version\s*:", line) for line in lines):
        return compose
    head = 0
    while head < len(lines) and (lines[head].startswith((b"%", b"#")) or not lines[head].strip()):
        head += 1
    if head < len(lines) and lines[head].startswith(b"---"):
        head += 1
    rest = b"".join(lines[head:]).lstrip()
    if rest.startswith(b"{"):
        return compose
    added = f'version: "{STACK_VERSION}"\n'.encode()
    return b"".join(lines[:head]) + added + b"".join(lines[head:])


def variables(deploy: DeployConfig, release: Release) -> list[tuple[str, str]]:
    """What `${...}` in the compose file can use: the same names as the SSH target."""
    found = [
        ("APP_IMAGE", release.image),
        ("APP_VERSION", release.version),
        ("APP_SLOT", "swarm"),
    ]
    for service in deploy.services:
        name = service.upper().replace("-", "_").replace(".", "_")
        found.append((f"APP_PORT_{name}", str(service_port(deploy, service))))
    found.append(("APP_PORT", str(service_port(deploy, deploy.services[0]))))
    return found


@dataclass(frozen=True)
class Command(Run):
    """A command on the manager; shown with the swarm scripts' names."""

    def describe(self) -> str:
        return sc.show(self.argv)


@dataclass(frozen=True)
class StackDeploy(Command):
    """`docker stack deploy`: from here on, services may run the new spec."""


@dataclass(frozen=True)
class Stage(Run):
    """compose.yml, stack.json and app.env (secret) written to the release directory."""

    payload: bytes = field(default=b"", repr=False)

    def describe(self) -> str:
        return f"{sc.show(self.argv)}  (stdin: a tar of compose.yml, stack.json, app.env " + (
            "(secret, not shown))"
        )


@dataclass(frozen=True)
class WaitUpdate(Step):
    """Poll the service until swarm has updated every task (or rolled back)."""

    service: str
    image: str
    before: str | None
    """StartedAt of the service's last update before this deploy."""
    replicas: int
    timeout: float

    def describe(self) -> str:
        return (
            f"poll {sc.show(sc.status(self.service))} until {self.replicas} task(s) run "
            f"{self.image} and the update is completed (at most {self.timeout:g} s)"
        )


@dataclass(frozen=True)
class SwarmPlan:
    manager: HostSpec
    release: Release
    truth: Truth
    steps: tuple[Step, ...]
    services: tuple[str, ...]
    """The swarm services, `<stack>_<service>`."""

    @property
    def running(self) -> Deployed | None:
        return self.truth.record.current


def release_dir(deploy: DeployConfig, release: Release) -> str:
    return f"{deploy.path}/swarm/{release.directory}"


def plan(
    cfg: Config, manager: HostSpec, *, release: Release, truth: Truth, inputs: Inputs
) -> SwarmPlan:
    deploy, swarm = cfg.deploy, cfg.deploy.swarm
    where = release_dir(deploy, release)
    files = {
        "compose.yml": with_version(inputs.compose),
        "stack.json": stack_file(deploy),
        "app.env": inputs.env or b"",
    }
    steps: list[Step] = []
    if inputs.login:
        registry, user = inputs.login
        steps.append(Login("registry login", tuple(cmd.login(registry, user)), registry))
    steps.append(Stage("write the stack", tuple(sc.stage(where)), payload=sc.payload(files)))
    argv = sc.stack_deploy(where, swarm.stack, variables(deploy, release))
    steps.append(StackDeploy(f"docker stack deploy {swarm.stack}", tuple(argv)))
    names = tuple(service_name(cfg, s) for s in deploy.services)
    for name in names:
        before = truth.services.get(name)
        steps.append(
            WaitUpdate(
                f"wait for {name}",
                service=name,
                image=release.image,
                before=before.started if before else None,
                replicas=swarm.replicas,
                timeout=swarm.update_timeout,
            )
        )
    url = deploy.url.format(host=manager.host)
    steps.append(Smoke("smoke checks", url, release.reported))
    return SwarmPlan(manager, release, truth, tuple(steps), names)


def record_step(cfg: Config, plan_: SwarmPlan, audit: str) -> Command:
    before = plan_.truth.record.current
    previous = (
        before if before and before.image != plan_.release.image else plan_.truth.record.previous
    )
    state = Record(plan_.release.deployed(), previous).json()
    argv = sc.record(cfg.deploy.path, state_json=state, audit_line=audit, keep=cfg.deploy.keep)
    return Command("record and audit", tuple(argv))


def audit_line(when: str, who: str, plan_: SwarmPlan, outcome: str) -> str:
    before = plan_.running
    origin = f" from {before.version} ({before.image})" if before else ""
    return (
        f"{when} {who} {outcome} {plan_.release.version} ({plan_.release.image}) "
        f"swarm {','.join(plan_.services)}{origin}"
    )
