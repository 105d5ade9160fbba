"""Carrying out one host's plan over SSH: steps, diagnostics, undo.

The thin layer: which commands run comes from `plan` and `commands`; here they
are executed on a `Remote`. Any failure, whatever raised it (a failed command,
a lost connection, a bug, SIGTERM), gets diagnostics and an undo on that host;
the fleet-level rollback is `rollout`'s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shipline import crashlog, health, smoke
from shipline.clock import now
from shipline.config import Config
from shipline.deploy import commands as cmd
from shipline.deploy import plan as plans
from shipline.deploy import survey
from shipline.deploy.lease import Lease, LeaseLost
from shipline.deploy.plan import (
    HostPlan,
    Login,
    Run,
    Smoke,
    Stage,
    Step,
    WaitHealthy,
)
from shipline.deploy.scrub import Scrubber
from shipline.errors import ShiplineError
from shipline.progress import Echo
from shipline.remote import HostSpec, Remote, RemoteError, RunResult


class DeployFailed(ShiplineError):
    pass


class Interrupted(ShiplineError):
    """SIGINT or SIGTERM: the deploy undid its work and released its locks."""

    exit_code = 130


def free_mb(text: str) -> int:
    """The `free N` line of the stage step (0 when missing: the check then fails)."""
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "free" and words[1].isdigit():
            return int(words[1])
    return 0


def one_line(text: str) -> str:
    """An audit entry stays one line, whatever a value in it held."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


@dataclass
class HostRun:
    plan: HostPlan
    seconds: float = 0.0
    health_seconds: float = 0.0
    timings: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Executor:
    """What every host of one run shares: config, SSH, output, secrets, cancellation."""

    cfg: Config
    connect: Callable[[HostSpec], Remote]
    echo: Echo
    who: str
    scrub: Scrubber = field(default_factory=Scrubber)
    registry_token: str = field(default="", repr=False)
    cancel: threading.Event = field(default_factory=threading.Event)
    leases: dict[HostSpec, Lease] = field(default_factory=dict)
    remotes: dict[HostSpec, Remote] = field(default_factory=dict)
    signal_name: str = "SIGINT"

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

    def say(self, host: HostSpec | None, text: str) -> None:
        self.echo(self.scrub.text(f"[{host}] {text}" if host else text))

    def run(
        self, host: HostSpec, argv: list[str] | tuple[str, ...], stdin: str | bytes | None = None
    ) -> RunResult:
        return self.remote(host).run(list(argv), stdin=stdin)

    def check(self, host: HostSpec) -> None:
        """Between steps: stop on a signal, or when someone broke our lease."""
        if self.cancel.is_set():
            raise Interrupted(f"interrupted by {self.signal_name}")
        lease = self.leases.get(host)
        if lease is not None and lease.lost:
            raise LeaseLost(
                f"{host}: another deploy broke this deploy's lock (its heartbeat could not be "
                "renewed); stopping without touching the host further"
            )

    def failure(self, host: HostSpec, step: Step, out: RunResult) -> DeployFailed:
        lines = (out.stderr.strip() or out.stdout.strip()).splitlines()[-3:] or ["no output"]
        return DeployFailed(self.scrub.text(f"{step.name} failed on {host}: {' | '.join(lines)}"))

    # -- reading the host ------------------------------------------------------------------
    def survey(self, host: HostSpec) -> survey.Truth:
        deploy = self.cfg.deploy
        out = self.run(host, cmd.survey(deploy.path, deploy.app, deploy.services))
        if out.code != 0:
            raise DeployFailed(
                self.scrub.text(f"cannot read the state of {host}: {out.stderr.strip()[-300:]}")
            )
        found = survey.truth(survey.parse(out.stdout, deploy.app), deploy)
        for note in found.notes:
            self.say(host, note)
            self.audit(host, f"{now()} {self.who} note: {note}")
        return found

    def resolve(
        self, host: HostSpec, name: str, version: str, login: tuple[str, str] | None
    ) -> str:
        """name:tag -> name@sha256:..., pulled on `host` (logged in first when needed)."""
        if version.startswith("sha256:"):
            return f"{name}@{version}"
        if login:
            self.do_login(host, Login("registry login", tuple(cmd.login(*login)), login[0]))
        out = self.run(host, cmd.resolve(f"{name}:{version}"))
        digests = [
            line.strip() for line in out.stdout.splitlines() if line.startswith(f"{name}@sha256:")
        ]
        if out.code != 0 or not digests:
            detail = (out.stderr.strip() or out.stdout.strip()).splitlines()[-1:] or ["no digest"]
            raise DeployFailed(
                self.scrub.text(
                    f"cannot resolve {name}:{version} to a digest on {host}: {detail[0]} "
                    "(was it pushed? `invoke push` prints its digest)"
                )
            )
        return digests[0]

    # -- the steps -------------------------------------------------------------------------
    def do_login(self, host: HostSpec, step: Login) -> None:
        out = self.run(host, step.argv, stdin=self.registry_token + "\n")
        if out.code != 0:
            raise self.failure(host, step, out)

    def do(self, run: HostRun, step: Step) -> None:
        host = run.plan.host
        if isinstance(step, Login):
            self.do_login(host, step)
        elif isinstance(step, Stage):
            out = self.run(host, step.argv, stdin=step.payload)
            if out.code == 4:
                raise DeployFailed(
                    f"{host} has {free_mb(out.stdout)} MB free under {self.cfg.deploy.path}, "
                    f"less than tool.shipline.deploy.min-free-mb ({step.min_free_mb})"
                )
            if out.code != 0:
                raise self.failure(host, step, out)
        elif isinstance(step, Run):  # Switch, StartSlot and plain commands
            out = self.run(host, step.argv)
            if out.code != 0:
                raise self.failure(host, step, out)
        elif isinstance(step, WaitHealthy):
            run.health_seconds += self.wait_healthy(run, step)
        elif isinstance(step, Smoke):
            failed = smoke.failures(smoke.run_checks(step.url, self.cfg.smoke, step.version))
            if failed:
                raise DeployFailed(f"smoke checks failed on {host} after the switch: {failed}")
        else:  # pragma: no cover - plan and executor are written together
            raise AssertionError(type(step).__name__)

    def wait_healthy(self, run: HostRun, step: WaitHealthy) -> float:
        host = run.plan.host
        found = self.run(host, step.find).stdout.split()
        if not found:
            raise DeployFailed(f"{step.service} ({step.slot}) did not start on {host}")

        def probe() -> health.Probe:
            self.check(host)
            parts = (self.run(host, cmd.probe(found[0])).stdout.strip() or "||0").split("|")
            return health.Probe(parts[0], parts[1], int(parts[2] or 0))

        return health.wait_healthy(
            probe,
            self.cfg.deploy.health_timeout,
            what=f"{step.service} {run.plan.release.version} on {host}",
        )

    # -- one host --------------------------------------------------------------------------
    def execute(self, plan: HostPlan) -> HostRun:
        """Run one host's plan; on any failure undo it on that host and raise DeployFailed."""
        run = HostRun(plan)
        start = time.perf_counter()
        total = len(plan.steps)
        try:
            for number, step in enumerate(plan.steps, 1):
                self.check(plan.host)
                self.say(plan.host, f"step {number}/{total}: {step.name}")
                began = time.perf_counter()
                self.do(run, step)
                run.timings.append((step.name, time.perf_counter() - began))
        except LeaseLost:
            raise
        except BaseException as exc:
            message = self.describe(exc)
            self.say(plan.host, f"FAILED at {step.name}")
            self.diagnostics(plan)
            self.undo(plan)
            if isinstance(exc, Interrupted | KeyboardInterrupt):
                raise Interrupted(f"{plan.host}: {message}; rolled back") from None
            raise DeployFailed(f"{plan.host}: {message}") from None
        run.seconds = time.perf_counter() - start
        return run

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, KeyboardInterrupt):
            return "interrupted by SIGINT"
        if isinstance(exc, ShiplineError):
            return self.scrub.text(str(exc))
        return self.scrub.text(crashlog.line(exc, "during a deploy", self.scrub.text))

    def finish(self, plan: HostPlan, name: str) -> None:
        """Record, audit, prune; none of it can break the deploy that just succeeded."""
        line = one_line(self.scrub.text(plans.audit_line(now(), self.who, plan, "deployed")))
        step = plans.finish_step(self.cfg, plan, when=now(), name=name, audit=line)
        try:
            out = self.run(plan.host, step.argv)
            if out.code != 0:
                self.say(plan.host, f"warning: {self.failure(plan.host, step, out)}")
        except RemoteError as exc:
            self.say(plan.host, f"warning: {step.name}: {exc}")

    def diagnostics(self, plan: HostPlan) -> None:
        """The new slot's logs and health log, and the app's containers (scrubbed)."""
        host, deploy = plan.host, self.cfg.deploy
        try:
            for service in deploy.services:
                found = self.run(
                    host, cmd.find_container(deploy.app, plan.next, service)
                ).stdout.split()
                if not found:
                    continue
                logs = self.run(host, cmd.container_logs(found[0]))
                self.say(host, f"last log lines of {service} ({plan.next}):")
                for line in (logs.stdout + logs.stderr).splitlines()[-30:]:
                    self.say(None, f"    {line}")
                state = self.run(host, cmd.health_log(found[0]))
                self.say(host, f"health log: {state.stdout.strip()[:600]}")
            listing = self.run(host, cmd.containers())
            prefixes = tuple(f"{cmd.slot_project(deploy.app, s)} " for s in cmd.SLOTS)
            self.say(host, "containers:")
            for line in listing.stdout.splitlines():
                if line.startswith((*prefixes, f"{cmd.proxy_project(deploy.app)} ")):
                    self.say(None, f"    {line.split(' ', 1)[1]}")
        except ShiplineError as exc:
            self.say(host, f"diagnostics unavailable: {exc}")

    def undo(self, plan: HostPlan) -> None:
        before = plan.running
        self.say(
            plan.host, f"rolling back to {before.version if before else 'nothing (first deploy)'}"
        )
        for attempt in range(3):  # a dropped connection: `Remote` reconnects on the next run
            try:
                for step in plans.rollback_steps(self.cfg, plan):
                    self.say(plan.host, step.name)
                    out = self.run(plan.host, step.argv)
                    if out.code != 0:
                        self.say(plan.host, f"warning: {self.failure(plan.host, step, out)}")
                self.audit(plan.host, plans.audit_line(now(), self.who, plan, "rolled-back"))
                return
            except RemoteError as exc:
                self.say(plan.host, f"rollback attempt {attempt + 1} failed: {exc}")
                time.sleep(1 + attempt)
        self.say(
            plan.host,
            "could not roll back; its lease expires, and the next deploy reads the host as it is",
        )

    def audit(self, host: HostSpec, line: str) -> None:
        try:
            self.run(host, cmd.audit(self.cfg.deploy.path, one_line(self.scrub.text(line))))
        except ShiplineError as exc:
            self.say(host, f"could not write the audit line: {exc}")
