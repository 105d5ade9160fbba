"""Carrying out deploy plans over SSH: lock, steps, diagnostics, rollback across hosts.

The thin layer: which commands run comes from `shipline.deploy.plan`; here they
are executed on a `Remote`, and a failure anywhere undoes the run so the fleet
ends on one version.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shipline import health, smoke
from shipline.config import Config
from shipline.deploy import plan as plans
from shipline.deploy.plan import HostPlan, Step
from shipline.errors import ShiplineError
from shipline.remote import HostSpec, Remote, RemoteError

Echo = Callable[[str], None]


class DeployFailed(ShiplineError):
    pass


class Locked(ShiplineError):
    pass


@dataclass
class HostRun:
    plan: HostPlan
    seconds: float = 0.0
    health_seconds: float = 0.0
    switched: set[str] = field(default_factory=set)
    timings: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Deployer:
    cfg: Config
    connect: Callable[[HostSpec], Remote]
    echo: Echo
    who: str
    lock_wait: float = 0.0
    registry_user: str = ""
    registry_token: str = field(default="", repr=False)
    remotes: dict[HostSpec, Remote] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.cfg.deploy.path

    def remote(self, host: HostSpec) -> Remote:
        if host not in self.remotes:
            remote = self.connect(host)
            remote.connect()
            self.remotes[host] = remote
        return self.remotes[host]

    def close(self) -> None:
        for remote in self.remotes.values():
            remote.close()
        self.remotes.clear()

    def state(self, host: HostSpec) -> dict[str, str]:
        out = self.remote(host).run(f"cat {self.path}/state.json 2>/dev/null || echo '{{}}'")
        try:
            data = json.loads(out.stdout or "{}")
        except ValueError:
            data = {}
        return {k: v for k, v in data.items() if isinstance(v, str)}

    # -- the lock --------------------------------------------------------------------------
    def lock_status(self, host: HostSpec) -> str | None:
        out = self.remote(host).run(f"cat {self.path}/.deploy.lock/owner 2>/dev/null")
        return out.stdout.strip() or None if out.code == 0 else None

    def take_lock(self, host: HostSpec, version: str) -> None:
        remote = self.remote(host)
        deadline = time.monotonic() + self.lock_wait
        for delay in health.delays(0.2, 1.5, 2.0):
            got = remote.run(f"mkdir -p {self.path} && mkdir {self.path}/.deploy.lock")
            if got.code == 0:
                when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                remote.put(
                    f"{self.who} at {when} deploying {version}\n".encode(),
                    f"{self.path}/.deploy.lock/owner",
                )
                return
            if time.monotonic() + delay > deadline:
                owner = self.lock_status(host) or "someone (no owner recorded)"
                raise Locked(
                    f"{host} is locked by {owner}; wait for it (--lock-wait SECONDS) or, if "
                    "that deploy is dead, run `invoke lock --release --host ...`"
                )
            time.sleep(delay)

    def release_lock(self, host: HostSpec) -> None:
        self.remote(host).run(f"rm -rf {self.path}/.deploy.lock")

    # -- steps -----------------------------------------------------------------------------
    def _container(self, run: HostRun, service: str) -> str:
        project = f"{self.cfg.deploy.app}-{run.plan.next}"
        out = self.remote(run.plan.host).run(
            f"docker ps -aq --filter label=com.docker.compose.project={project} "
            f"--filter label=com.docker.compose.service={service}"
        )
        return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""

    def _probe(self, host: HostSpec, container: str) -> health.Probe:
        fmt = (
            "{{if .State.Health}}{{.State.Health.Status}}{{end}}"
            "|{{.State.Status}}|{{.RestartCount}}"
        )
        out = self.remote(host).run(f"docker inspect -f '{fmt}' {container}")
        parts = (out.stdout.strip() or "||0").split("|")
        return health.Probe(parts[0], parts[1], int(parts[2] or 0))

    def do(self, run: HostRun, step: Step) -> None:
        host = run.plan.host
        remote = self.remote(host)
        if step.kind == "lock":
            self.take_lock(host, run.plan.version)
        elif step.kind == "unlock":
            self.release_lock(host)
        elif step.kind == "run":
            out = remote.run(step.command)
            if out.code != 0:
                detail = (out.stderr.strip() or out.stdout.strip()).splitlines()[-3:]
                raise DeployFailed(f"{step.name} failed on {host}: {' | '.join(detail)}")
        elif step.kind == "put":
            remote.put(step.content, step.path, step.mode)
            if step.service and "/proxy/upstreams/" in step.path:
                run.switched.add(step.service)
        elif step.kind == "disk":
            out = remote.run(f"df -Pm {self.path} | tail -1 | awk '{{print $4}}'")
            free = int(out.stdout.strip() or 0)
            if free < self.cfg.deploy.min_free_mb:
                raise DeployFailed(
                    f"{host} has {free} MB free under {self.path}, less than "
                    f"tool.shipline.deploy.min-free-mb ({self.cfg.deploy.min_free_mb})"
                )
        elif step.kind == "login":
            registry = run.plan.image.split("/", 1)[0]
            out = remote.run(
                f"docker login --username {self.registry_user} --password-stdin {registry}",
                stdin=self.registry_token + "\n",
            )
            if out.code != 0:
                raise DeployFailed(
                    f"docker login to {registry} failed on {host}: "
                    f"{out.stderr.strip().splitlines()[-1:]}"
                )
        elif step.kind == "wait-healthy":
            container = self._container(run, step.service)
            if not container:
                raise DeployFailed(f"{step.service} ({run.plan.next}) did not start on {host}")
            run.health_seconds += health.wait_healthy(
                lambda: self._probe(host, container),
                self.cfg.deploy.health_timeout,
                f"{step.service} {run.plan.version} on {host}",
            )
        elif step.kind == "drain":
            self.drain(host, float(step.command))
        elif step.kind == "smoke":
            url = self.cfg.deploy.url.format(host=host.host)
            results = smoke.run_checks(url, self.cfg.smoke, run.plan.version)
            failed = [r for r in results if not r.ok]
            if failed:
                raise DeployFailed(
                    f"smoke checks failed on {host} after the switch: "
                    + "; ".join(f"{r.name}: {r.detail}" for r in failed)
                )
        else:  # pragma: no cover - plan and executor are written together
            raise AssertionError(step.kind)

    def drain(self, host: HostSpec, limit: float) -> None:
        """Until nginx's old workers have finished their requests (to the old slot)."""
        command = plans.proxy_draining(self.cfg.deploy)
        deadline = time.monotonic() + limit
        for delay in health.delays(0.05, 1.5, 0.5):
            out = self.remote(host).run(command)
            if out.code == 0 and out.stdout.strip() == "0":
                return
            if time.monotonic() + delay > deadline:
                return  # the bound is reached: the old slot keeps running until after smoke
            time.sleep(delay)

    def diagnostics(self, run: HostRun) -> None:
        """The failing container's logs and health log, and the app's containers."""
        host = run.plan.host
        try:
            remote = self.remote(host)
            for service in self.cfg.deploy.services:
                container = self._container(run, service)
                if not container:
                    continue
                logs = remote.run(f"docker logs --tail 30 {container} 2>&1")
                self.echo(f"[{host}] last log lines of {service} ({run.plan.next}):")
                for line in logs.stdout.splitlines()[-30:]:
                    self.echo(f"    {line}")
                state = remote.run(f"docker inspect -f '{{{{json .State.Health}}}}' {container}")
                self.echo(f"[{host}] health log: {state.stdout.strip()[:600]}")
            fmt = "{{.Name}} {{.State.Status}} restarts={{.RestartCount}} {{.Config.Image}}"
            states = remote.run(
                f"docker ps -aq --filter name={self.cfg.deploy.app}- | "
                f"xargs -r docker inspect -f '{fmt}'"
            )
            self.echo(f"[{host}] containers:")
            for line in states.stdout.splitlines():
                self.echo(f"    {line.lstrip('/')}")
        except ShiplineError as exc:
            self.echo(f"[{host}] diagnostics unavailable: {exc}")

    def execute(self, plan: HostPlan) -> HostRun:
        """Run one host's plan; on failure undo it on that host and raise."""
        run = HostRun(plan)
        start = time.perf_counter()
        locked = False
        try:
            for step in plan.steps:
                self.echo(f"[{plan.host}] {step.name}")
                began = time.perf_counter()
                self.do(run, step)
                run.timings.append((step.name, time.perf_counter() - began))
                locked = locked or step.kind == "lock"
                if step.kind == "unlock":
                    locked = False
        except ShiplineError as exc:
            if isinstance(exc, Locked):
                raise
            self.echo(f"[{plan.host}] FAILED: {exc}")
            self.diagnostics(run)
            self.undo(run, locked)
            raise DeployFailed(f"{plan.host}: {exc}") from None
        run.seconds = time.perf_counter() - start
        self.audit(plan, "deployed")
        return run

    def undo(self, run: HostRun, locked: bool) -> None:
        plan = run.plan
        self.echo(f"[{plan.host}] rolling back to {plan.previous or 'nothing (first deploy)'}")
        for attempt in range(3):  # the connection may have dropped: reconnect and retry
            try:
                self.remotes.pop(plan.host, None) if attempt else None
                for step in plans.rollback_steps(self.cfg, plan, run.switched):
                    self.echo(f"[{plan.host}] {step.name}")
                    if step.kind == "put":
                        self.remote(plan.host).put(step.content, step.path, step.mode)
                    else:
                        self.remote(plan.host).run(step.command)
                self.audit(plan, "rolled-back")
                if locked:
                    self.release_lock(plan.host)
                return
            except RemoteError as exc:
                self.echo(f"[{plan.host}] rollback attempt {attempt + 1} failed: {exc}")
                time.sleep(1 + attempt)
        self.echo(f"[{plan.host}] could not roll back; the lock is left in place for a human")

    def audit(self, plan: HostPlan, outcome: str) -> None:
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = plans.audit_line(when, self.who, plan, outcome)
        try:
            self.remote(plan.host).run(
                f"printf '%s\\n' {shlex.quote(line)} >> {self.path}/audit.log"
            )
        except ShiplineError as exc:
            self.echo(f"[{plan.host}] could not write the audit line: {exc}")


def batches(hosts: Sequence[HostSpec], batch: str) -> list[list[HostSpec]]:
    """--batch 2 (hosts at a time) or --batch 25% (of the hosts, at least one)."""
    percent = batch.endswith("%")
    size = max(1, int(len(hosts) * float(batch[:-1]) / 100)) if percent else int(batch)
    return [list(hosts[i : i + size]) for i in range(0, len(hosts), size)]


PlanFor = Callable[[HostSpec, str, dict[str, str]], HostPlan]
"""Builds a host's plan for a version, from the host's recorded state."""


def rollout(
    deployer: Deployer, hosts: Sequence[HostSpec], version: str, batch: str, plan_for: PlanFor
) -> list[HostRun]:
    """Deploy host by host (or batch by batch); any failure rolls back every updated host."""
    from concurrent.futures import ThreadPoolExecutor

    done: list[HostRun] = []
    for group in batches(hosts, batch):
        plans_ = [plan_for(host, version, deployer.state(host)) for host in group]
        with ThreadPoolExecutor(max_workers=len(plans_)) as pool:
            futures = [pool.submit(deployer.execute, p) for p in plans_]
            failures: list[ShiplineError] = []
            for future in futures:
                try:
                    done.append(future.result())
                except ShiplineError as exc:
                    failures.append(exc)
        if failures:
            restored, stuck = restore(deployer, done, plan_for)
            suffix = f"; rolled back {', '.join(restored)}" if restored else ""
            if stuck:
                suffix += (
                    f"; {'; '.join(stuck)}: the fleet is NOT on one version, fix those "
                    "hosts and run `invoke rollback`"
                )
            elif restored:
                suffix += " so the fleet stays on one version"
            raise DeployFailed(f"{failures[0]}{suffix}")
    return done


def restore(
    deployer: Deployer, done: Sequence[HostRun], plan_for: PlanFor
) -> tuple[list[str], list[str]]:
    """Put hosts this run already updated back on the version they had.

    Returns the hosts put back and those that could not be.
    """
    names: list[str] = []
    stuck: list[str] = []
    for run in reversed(done):  # every host is tried: one failing does not strand the rest
        previous = run.plan.previous
        host = run.plan.host
        if previous is None:
            deployer.echo(f"[{host}] had no previous version; leaving {run.plan.version}")
            continue
        deployer.echo(f"[{host}] restoring {previous}")
        try:
            deployer.execute(plan_for(host, previous, deployer.state(host)))
        except ShiplineError as exc:
            stuck.append(f"{host} could NOT be put back on {previous} ({exc})")
            continue
        names.append(f"{host} back on {previous}")
    return names, stuck
