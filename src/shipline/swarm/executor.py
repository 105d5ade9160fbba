"""Carrying out a swarm plan on the manager: steps, the wait for swarm, diagnostics, undo.

The thin layer, on the SSH target's `Executor` (its connection, login, resolve,
audit, output scrubbing and cancellation): which commands run comes from `plan`
and `commands`, what their output means from `state`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from shipline import smoke
from shipline.clock import now
from shipline.deploy.executor import DeployFailed, Executor, Interrupted, one_line
from shipline.deploy.lease import LeaseLost
from shipline.deploy.plan import Login, Run, Smoke, Step
from shipline.errors import ShiplineError, UsageError
from shipline.remote import HostSpec, RemoteError
from shipline.swarm import commands as sc
from shipline.swarm import state
from shipline.swarm.plan import StackDeploy, Stage, SwarmPlan, WaitUpdate, audit_line, record_step

POLL = 1.0
STUCK = 45.0
"""Seconds a task may stay unplaceable before the update is given up."""


@dataclass
class SwarmRun:
    plan: SwarmPlan
    seconds: float = 0.0
    update_seconds: float = 0.0
    deployed: bool = False
    """The stack deploy ran (or started): only then can a service have changed."""
    rolled_back: set[str] = field(default_factory=set)
    """Services swarm rolled back by itself (shipline must not roll them back again)."""


def survey(ex: Executor, manager: HostSpec, services: tuple[str, ...]) -> state.Truth:
    """What the manager runs; fails unless it is a reachable swarm manager."""
    out = ex.run(manager, sc.survey(ex.cfg.deploy.path, services))
    found = state.truth(out.stdout)
    if out.code != 0 or found.engine_error:
        detail = found.engine_error or out.stderr.strip()[-300:]
        raise DeployFailed(ex.scrub.text(f"{manager}: docker does not answer: {detail}"))
    if not found.manager:
        role = (
            "a worker" if found.node_state == "active" else f"not in a swarm ({found.node_state})"
        )
        raise UsageError(
            f"{manager} is {role}, not a swarm manager; pass a manager's address with --host "
            "or tool.shipline.deploy.swarm.manager (`docker node ls` on a manager lists them)"
        )
    return found


def do(ex: Executor, run: SwarmRun, step: Step) -> None:
    host = run.plan.manager
    if isinstance(step, Login):
        ex.do_login(host, step)
    elif isinstance(step, Stage):
        out = ex.run(host, step.argv, stdin=step.payload)
        if out.code != 0:
            raise ex.failure(host, step, out)
    elif isinstance(step, Run):
        run.deployed = run.deployed or isinstance(step, StackDeploy)
        out = ex.run(host, step.argv)
        if out.code != 0:
            raise ex.failure(host, step, out)
    elif isinstance(step, WaitUpdate):
        began = time.perf_counter()
        wait_update(ex, run, step)
        run.update_seconds += time.perf_counter() - began
    elif isinstance(step, Smoke):
        failed = smoke.failures(smoke.run_checks(step.url, ex.cfg.smoke, step.version))
        if failed:
            raise DeployFailed(f"smoke checks failed against {step.url} after the update: {failed}")
    else:  # pragma: no cover - plan and executor are written together
        raise AssertionError(type(step).__name__)


def wait_update(ex: Executor, run: SwarmRun, step: WaitUpdate) -> None:
    host = run.plan.manager
    deadline = time.monotonic() + step.timeout
    stuck_since: float | None = None
    while True:
        ex.check(host)
        found = state.status(ex.run(host, sc.status(step.service)).stdout)
        progress = state.progress(
            found, before=step.before, image=step.image, replicas=step.replicas
        )
        if progress.rolled_back:
            run.rolled_back.add(step.service)
        if progress.failure:
            raise DeployFailed(f"{step.service}: {progress.failure}")
        if progress.done:
            return
        stuck = state.stuck(found)
        if stuck and stuck_since is None:
            ex.say(host, f"waiting: {stuck}")
            stuck_since = time.monotonic()
        stuck_since = stuck_since if stuck else None
        if stuck_since is not None and time.monotonic() - stuck_since > STUCK:
            raise DeployFailed(
                f"{step.service}: {stuck} for {STUCK:g} s (start-first needs a node without "
                "a task of the service for each new task: add a node, or lower replicas)"
            )
        if time.monotonic() > deadline:
            raise DeployFailed(
                f"{step.service}: not updated after {step.timeout:g} s"
                + (f" ({stuck})" if stuck else f" (update status: {found.state or 'none'})")
            )
        time.sleep(POLL)


def execute(ex: Executor, plan: SwarmPlan) -> SwarmRun:
    """Run the plan; on any failure: diagnostics, the services rolled back, DeployFailed."""
    run = SwarmRun(plan)
    began = time.perf_counter()
    total = len(plan.steps)
    step: Step = plan.steps[0]
    try:
        for number, step in enumerate(plan.steps, 1):
            ex.check(plan.manager)
            ex.say(plan.manager, f"step {number}/{total}: {step.name}")
            do(ex, run, step)
    except LeaseLost:
        raise
    except BaseException as exc:
        message = ex.describe(exc)
        ex.say(plan.manager, f"FAILED at {step.name}: {message}")
        if isinstance(exc, Interrupted | KeyboardInterrupt):
            ex.cancel.clear()  # the undo itself must run
        diagnostics(ex, plan)
        undone = undo(ex, run)
        if isinstance(exc, Interrupted | KeyboardInterrupt):
            raise Interrupted(f"{plan.manager}: {message}; {undone}") from None
        raise DeployFailed(f"{plan.manager}: {message}; {undone}") from None
    run.seconds = time.perf_counter() - began
    return run


def diagnostics(ex: Executor, plan: SwarmPlan) -> None:
    """Each service's tasks with their state and error, and a failed task's last log
    lines, scrubbed of secrets."""
    host = plan.manager
    try:
        for service in plan.services:
            out = ex.run(host, sc.tasks(service))
            ex.say(host, f"tasks of {service}:")
            for line in out.stdout.splitlines()[:12]:
                ex.say(None, f"    {line}")
            found = state.status(ex.run(host, sc.status(service)).stdout)
            failed = next((t for t in found.tasks if t.failed), None)
            if failed is None:
                continue
            logs = ex.run(host, sc.task_logs(failed.id))
            ex.say(host, f"last log lines of {failed.name} ({failed.id[:12]}, {failed.error}):")
            for line in (logs.stdout + logs.stderr).splitlines()[-30:]:
                ex.say(None, f"    {line}")
    except ShiplineError as exc:
        ex.say(host, f"diagnostics unavailable: {exc}")


def undo(ex: Executor, run: SwarmRun) -> str:
    """`docker service rollback` of each service this deploy updated, unless swarm already
    rolled it back; waits until swarm reports the rollback completed. Returns what
    was done, for the error line."""
    plan, host = run.plan, run.plan.manager
    done: list[str] = []
    for service in plan.services:
        if service in run.rolled_back:
            done.append(f"swarm rolled {service} back")
            continue
        before = plan.truth.services.get(service)
        if before is None:
            done.append(f"{service} was deployed for the first time: nothing to roll back to")
            continue
        if not changed(ex, run, service, before.image):
            done.append(f"{service} was not changed")
            continue
        ex.say(host, f"rolling {service} back (docker service rollback)")
        try:
            out = ex.run(host, sc.rollback(service))
            if out.code != 0:
                done.append(
                    ex.scrub.text(f"{service} could NOT be rolled back: {out.stderr.strip()}")
                )
                continue
            done.append(wait_rollback(ex, host, service))
        except RemoteError as exc:
            done.append(f"{service} could NOT be rolled back: {exc}")
    ex.audit(host, one_line(ex.scrub.text(audit_line(now(), ex.who, plan, "rolled-back"))))
    return "; ".join(done)


def changed(ex: Executor, run: SwarmRun, service: str, before: str) -> bool:
    """Whether this deploy changed the service's spec (the stack deploy got to it)."""
    if not run.deployed:
        return False
    now_image = ex.run(run.plan.manager, sc.spec_image(service)).stdout.strip()
    want = state.digest(run.plan.release.image)
    return state.digest(now_image) == want and state.digest(before) != want


def wait_rollback(ex: Executor, host: HostSpec, service: str) -> str:
    deadline = time.monotonic() + ex.cfg.deploy.swarm.update_timeout
    while time.monotonic() < deadline:
        found = state.status(ex.run(host, sc.status(service)).stdout)
        if found.state == "rollback_completed":
            return f"rolled {service} back"
        if found.state == "rollback_paused":
            return (
                f"the rollback of {service} PAUSED ({found.message}); "
                "fix it and run `invoke rollback`"
            )
        time.sleep(POLL)
    return f"the rollback of {service} did not finish in {ex.cfg.deploy.swarm.update_timeout:g} s"


def finish(ex: Executor, plan: SwarmPlan) -> None:
    """Record (for `invoke rollback`) and audit; neither can break the deploy that worked."""
    line = one_line(ex.scrub.text(audit_line(now(), ex.who, plan, "deployed")))
    step = record_step(ex.cfg, plan, line)
    try:
        out = ex.run(plan.manager, step.argv)
        if out.code != 0:
            ex.say(plan.manager, f"warning: {ex.failure(plan.manager, step, out)}")
    except RemoteError as exc:
        ex.say(plan.manager, f"warning: {step.name}: {exc}")
