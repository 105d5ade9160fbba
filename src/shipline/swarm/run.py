"""The swarm deploy as the tasks call it: `deploy` (and rollback), `preview`, `manager`.

Under the manager's lease (the SSH target's lease, on the manager): read the swarm,
choose the release (resolved to a digest on the manager), plan, execute, record.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence

from shipline.clock import now
from shipline.config import Config
from shipline.deploy import commands as cmd
from shipline.deploy import lease as leases
from shipline.deploy import run as deploy_run
from shipline.deploy.executor import DeployFailed, Executor
from shipline.deploy.plan import Inputs, Release
from shipline.deploy.rollout import interruptible
from shipline.errors import ShiplineError, UsageError
from shipline.remote import HostSpec, RemoteError
from shipline.swarm import commands as sc
from shipline.swarm import executor as sx
from shipline.swarm.plan import plan, record_step, service_name, stack_file
from shipline.swarm.state import Service, Truth

Login = tuple[str, str] | None
Choose = Callable[[Executor, HostSpec, Truth, Login], Release]
"""The release to deploy, given the swarm as read and the registry login."""


def manager(cfg: Config, given: Sequence[str]) -> HostSpec:
    """The manager: the one --host given, else tool.shipline.deploy.swarm.manager."""
    if len(given) > 1:
        raise UsageError(
            f"--host given {len(given)} times: a swarm deploy goes through one manager; "
            "pass --host once"
        )
    if given:
        return HostSpec.parse(given[0])
    if cfg.deploy.swarm.manager:
        return HostSpec.parse(cfg.deploy.swarm.manager)
    raise UsageError(
        "no swarm manager: pass --host user@manager or set tool.shipline.deploy.swarm.manager"
    )


def pinned(name: str, version: str) -> Choose:
    """One version, resolved to its digest on the manager."""

    def choose(ex: Executor, host: HostSpec, _truth: Truth, login: Login) -> Release:
        image = ex.resolve(host, name, version, login)
        ex.say(host, f"{name}:{version} is {image}")
        return Release(version, image)

    return choose


def previous() -> Choose:
    """`invoke rollback` with no --to: the release shipline recorded before the current one."""

    def choose(_ex: Executor, _host: HostSpec, truth: Truth, _login: Login) -> Release:
        missing = [name for name, service in truth.services.items() if service is None]
        if missing:
            raise DeployFailed(
                f"{', '.join(missing)}: no such service on the swarm; nothing to roll back "
                "(deploy it first, or check tool.shipline.deploy.swarm.stack and services)"
            )
        before = truth.record.previous
        if before is None:
            raise UsageError("the swarm records no previous version; pass --to VERSION")
        return Release(before.version, before.image)

    return choose


def deploy(
    cfg: Config,
    host: HostSpec,
    *,
    name: str,
    label: str,
    choose: Choose,
    lock_wait: float,
    ssh: deploy_run.SSHOptions,
    environ: Mapping[str, str],
    echo: Callable[[str], None],
) -> sx.SwarmRun:
    base, scrubber, token = deploy_run.inputs(cfg, environ)
    inputs_ = deploy_run.with_login(base, cfg, name=name, token=token, environ=environ)
    ex = Executor(cfg, ssh.connector(), echo, deploy_run.who(environ), scrubber, token)
    try:
        try:
            remote = ex.remote(host)
        except RemoteError as exc:
            raise RemoteError(f"no swarm manager reachable: {exc}") from None
        with interruptible(ex):
            lease = leases.Lease(host, remote, cfg.deploy.path, cfg.deploy.lock_ttl)
            ex.leases = {host: lease}
            leases.acquire_all(
                [lease],
                owner=leases.owner_record(ex.who, label),
                wait=lock_wait,
                cancelled=ex.cancel.is_set,
                say=lambda line: ex.say(None, line),
            )
            try:
                if lease.broken:
                    text = f"broke a stale lock held by {lease.broken.describe()}"
                    ex.say(host, text)
                    ex.audit(host, f"{now()} {ex.who} {text}")
                with leases.Heartbeat([lease], cfg.deploy.lock_ttl):
                    return _locked(ex, host, choose, inputs_)
            finally:
                with contextlib.suppress(ShiplineError):
                    lease.release()
    finally:
        ex.close()


def _locked(ex: Executor, host: HostSpec, choose: Choose, inputs_: Inputs) -> sx.SwarmRun:
    began = time.perf_counter()
    cfg = ex.cfg
    services = tuple(service_name(cfg, s) for s in cfg.deploy.services)
    truth = sx.survey(ex, host, services)
    release = choose(ex, host, truth, inputs_.login)
    swarm_plan = plan(cfg, host, release=release, truth=truth, inputs=inputs_)
    ready = len(truth.ready_nodes())
    ex.say(
        host,
        f"deploying {release.version} ({release.image}) to {', '.join(services)}: "
        f"{cfg.deploy.swarm.replicas} task(s) each on a swarm of {ready} ready node(s)",
    )
    if cfg.deploy.swarm.order == "start-first" and ready <= cfg.deploy.swarm.replicas:
        ex.say(
            host,
            "note: start-first needs a node without a replica for each new task "
            "(ports are published on the node); with no spare node the update waits",
        )
    run = sx.execute(ex, swarm_plan)
    sx.finish(ex, swarm_plan)
    run.seconds = time.perf_counter() - began
    return run


def preview(cfg: Config, host: HostSpec, *, name: str, version: str, inputs_: Inputs) -> list[str]:
    """`--dry-run`: the lease, the survey, then the plan for an assumed swarm (running)."""
    services = tuple(service_name(cfg, s) for s in cfg.deploy.services)
    lines = [
        f"# take the deploy lease on {host} (stale after {cfg.deploy.lock_ttl:g} s without a "
        "heartbeat)",
        "# read the swarm: " + sc.show(sc.survey(cfg.deploy.path, services)),
        f"# resolve {name}:{version} to its digest on the manager: "
        + sc.show(cmd.resolve(f"{name}:{version}")),
        f"# {host}: update {', '.join(services)} (assuming they run; the deploy reads the swarm "
        "under the lock)",
    ]
    release = Release(version, f"{name}@sha256:<digest of {version}>")
    live = Service("", f"{name}@sha256:<live digest>", {"StartedAt": "<last update>"})
    truth = Truth(None, "active", True, services=dict.fromkeys(services, live))
    swarm_plan = plan(cfg, host, release=release, truth=truth, inputs=inputs_)
    lines += [f"{n:2}. {s.name}: {s.describe()}" for n, s in enumerate(swarm_plan.steps, 1)]
    done = record_step(cfg, swarm_plan, "AUDIT LINE")
    lines.append(f"    then {done.name}: {done.describe()}")
    lines.append("    on failure: diagnostics, then `docker service rollback` of each service")
    lines.append("# stack.json (merged with the compose file by docker stack deploy):")
    lines += [f"#   {line}" for line in stack_file(cfg.deploy).decode().splitlines()]
    used = [step.argv for step in swarm_plan.steps if hasattr(step, "argv")]
    used += [
        sc.survey("P", ()),
        sc.status("S"),
        sc.record("P", state_json="", audit_line="", keep=2),
    ]
    for script in dict.fromkeys(n for n in map(sc.script_name, used) if n):
        lines.append(f"# <{script} script>:")
        lines += [f"#   {line}" for line in sc.script(script).strip().splitlines()]
    return lines
