"""The deploy as the tasks call it: `run` (deploy), `rollback`, `lock_status`, `lock_release`.

Everything the task layer passes in is validated before any SSH: hosts, the
version, the batch, the lock wait (see `inputs`). The files the hosts get are
read once, and the secrets the output must never show are gathered here.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipline import inputs as deploy_inputs
from shipline.config import Config
from shipline.deploy import commands as cmd
from shipline.deploy import lease as leases
from shipline.deploy.executor import Executor, HostRun
from shipline.deploy.plan import HostPlan, Inputs, Release, Run, finish_step, plan_host
from shipline.deploy.rollout import Choose, Rollout
from shipline.deploy.scrub import Scrubber, env_values
from shipline.deploy.survey import Deployed, Truth
from shipline.errors import ConfigError, UsageError
from shipline.images.meta import registry_of
from shipline.progress import Echo
from shipline.remote import HostSpec, Remote


@dataclass(frozen=True)
class SSHOptions:
    accept_new_host_key: bool = False
    known_hosts: str | None = None
    key: str | None = None

    def connector(self) -> Callable[[HostSpec], Remote]:
        known = Path(self.known_hosts).expanduser() if self.known_hosts else None
        key_file = Path(self.key).expanduser() if self.key else None

        def connect(spec: HostSpec) -> Remote:
            return Remote(
                spec, known_hosts=known, key_file=key_file, accept_new=self.accept_new_host_key
            )

        return connect


def who(environ: Mapping[str, str]) -> str:
    actor = environ.get("GITHUB_ACTOR")
    if actor:
        run_id = environ.get("GITHUB_RUN_ID", "?")
        run_id = run_id if run_id.isdigit() else "?"
        return f"{deploy_inputs.actor(actor)} (GitHub run {run_id})"
    return f"{getpass.getuser()}@{socket.gethostname()}"


def hosts(given: Sequence[str]) -> list[HostSpec]:
    if not given:
        raise UsageError("no --host given; pass --host user@host[:port] (repeatable)")
    specs = [HostSpec.parse(h) for h in given]
    seen: set[HostSpec] = set()
    for spec in specs:
        if spec in seen:
            raise UsageError(f"--host {spec}: given twice; name each host once")
        seen.add(spec)
    return specs


def inputs(cfg: Config, environ: Mapping[str, str]) -> tuple[Inputs, Scrubber, str]:
    """The compose and env files, registry login, and the scrubber for the output."""
    compose_path = cfg.root / cfg.deploy.compose_file
    if not compose_path.is_file():
        raise ConfigError(
            f"tool.shipline.deploy.compose-file: no compose file at {str(compose_path)!r}; "
            "create it (`invoke init` writes one) or set the path"
        )
    env_text = None
    if cfg.deploy.env_file:
        env_path = cfg.root / cfg.deploy.env_file
        if not env_path.is_file():
            raise ConfigError(f"tool.shipline.deploy.env-file: no file at {str(env_path)!r}")
        env_text = env_path.read_bytes()
    token = environ.get(cfg.image.token_env, "")
    return (
        Inputs(compose_path.read_bytes(), env_text, None),
        Scrubber.of([*env_values(env_text), token]),
        token,
    )


def with_login(
    base: Inputs, cfg: Config, *, name: str, token: str, environ: Mapping[str, str]
) -> Inputs:
    if not token:
        return base
    registry = registry_of(name)
    user = cfg.image.username or environ.get("GITHUB_ACTOR", "")
    if user and not cfg.image.username:
        deploy_inputs.actor(user)
    if not user:
        raise UsageError(
            f"{cfg.image.token_env} is set but no registry user: set "
            "tool.shipline.image.username or GITHUB_ACTOR"
        )
    return Inputs(base.compose, base.env, (registry, user))


def preview(
    cfg: Config, specs: Sequence[HostSpec], *, name: str, version: str, inputs_: Inputs
) -> list[str]:
    """`--dry-run`: the lease, then each host's plan for an assumed state (blue live)."""
    lines = [
        f"# take the deploy lease on {', '.join(sorted(str(s) for s in specs))} (in that order; "
        f"stale after {cfg.deploy.lock_ttl:g} s without a heartbeat)",
        f"# resolve {name}:{version} to its digest on the first host: "
        + cmd.show(cmd.resolve(f"{name}:{version}")),
        "# on each host, under its lease, read what it runs: "
        + cmd.show(cmd.survey(cfg.deploy.path, cfg.deploy.app, cfg.deploy.services)),
    ]
    assumed = Truth(
        "blue", Deployed("<live version>", f"{name}@sha256:<live digest>"), False, (), ()
    )
    release = Release(version, f"{name}@sha256:<digest of {version}>")
    used: list[Sequence[str]] = [cmd.lease_acquire(cfg.deploy.path, "TOKEN", "OWNER", 1)]
    for spec in specs:
        plan: HostPlan = plan_host(
            cfg, host=spec, release=release, truth=assumed, inputs=inputs_, pulled=False
        )
        lines.append(
            f"# {spec}: deploy {release.image} into slot {plan.next} (assuming blue is live; "
            "the deploy reads where the proxy points, under the lock)"
        )
        lines += [f"{n:2}. {step.name}: {step.describe()}" for n, step in enumerate(plan.steps, 1)]
        done = finish_step(cfg, plan, when="NOW", name=name, audit="AUDIT LINE")
        lines.append(f"    then {done.name}: {done.describe()}")
        used += [s.argv for s in (*plan.steps, done) if isinstance(s, Run)]
    lines.append("# release the lease on every host")
    used += [cmd.survey(cfg.deploy.path, cfg.deploy.app, cfg.deploy.services)]
    used += [cmd.resolve("REF"), cmd.lease_renew("PATH", "TOKEN"), cmd.lease_release("P", "T")]
    for script in dict.fromkeys(n for n in map(cmd.script_name, used) if n):
        lines.append(f"# <{script} script>:")
        lines += [f"#   {line}" for line in cmd.SCRIPTS[script].strip().splitlines()]
    return lines


def execute(
    cfg: Config,
    specs: Sequence[HostSpec],
    *,
    name: str,
    label: str,
    choose_for: Callable[[Executor, Inputs], Choose],
    batch: int,
    lock_wait: float,
    ssh: SSHOptions,
    echo: Echo,
    environ: Mapping[str, str],
) -> list[HostRun]:
    base, scrubber, token = inputs(cfg, environ)
    inputs_ = with_login(base, cfg, name=name, token=token, environ=environ)
    ex = Executor(cfg, ssh.connector(), echo, who(environ), scrubber, token)
    rollout = Rollout(ex, inputs_, name, lock_wait)
    try:
        return rollout.run(specs, batch, label, choose_for(ex, inputs_))
    finally:
        ex.close()


def pinned(name: str, version: str) -> Callable[[Executor, Inputs], Choose]:
    """Deploy one version everywhere: resolved to its digest once, on the first host."""

    def choose_for(ex: Executor, inputs_: Inputs) -> Choose:
        resolved: list[Release] = []

        def choose(host: HostSpec, _truth: Truth) -> tuple[Release, bool]:
            if resolved:
                return resolved[0], False
            image = ex.resolve(host, name, version, inputs_.login)
            resolved.append(Release(version, image))
            ex.say(host, f"{name}:{version} is {image}")
            return resolved[0], True

        return choose

    return choose_for


def previous_on_each_host() -> Callable[[Executor, Inputs], Choose]:
    """Rollback with no --to: each host returns to the image it ran before, by digest."""

    def choose_for(_ex: Executor, _inputs: Inputs) -> Choose:
        def choose(host: HostSpec, truth: Truth) -> tuple[Release, bool]:
            before = truth.previous()
            if before is None:
                raise UsageError(f"{host} records no previous version; pass --to VERSION")
            return Release(before.version, before.image), False

        return choose

    return choose_for


def lock_report(
    cfg: Config, specs: Sequence[HostSpec], ssh: SSHOptions, release: bool
) -> list[str]:
    """`invoke lock --status` / `--release`: live or stale, held by whom, since when."""
    connect = ssh.connector()
    lines: list[str] = []
    for spec in specs:
        remote = connect(spec)
        try:
            argv = (
                cmd.lease_break(cfg.deploy.path) if release else cmd.lease_status(cfg.deploy.path)
            )
            out = remote.run(argv)
        finally:
            remote.close()
        first = out.stdout.strip().splitlines()[0] if out.stdout.strip() else "free"
        if first == "free":
            lines.append(f"{spec}: {'released (was not locked)' if release else 'not locked'}")
            continue
        holder = leases.parse_holder(first)
        stale = holder.heartbeat_age > cfg.deploy.lock_ttl
        state = f"{'STALE' if stale else 'live'}, heartbeat {holder.heartbeat_age} s ago"
        if release:
            lines.append(f"{spec}: released (was held by {holder.describe()}; {state})")
        else:
            lines.append(
                f"{spec}: locked by {holder.describe()} ({state}; "
                f"stale after {cfg.deploy.lock_ttl:g} s)"
            )
    return lines
