"""The deploy tasks on `target = "swarm"`: what `deploy`, `rollback` and `lock` call then.

Plain functions, no tasks: `shipline.tasks.deploy` declares the tasks (one set of
flags for both targets) and hands over here when the project's target is swarm.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from shipline import config, github, inputs
from shipline.deploy import run as deploy_run
from shipline.errors import ConfigError
from shipline.images import meta as image_meta
from shipline.swarm import run as swarm_run
from shipline.swarm.executor import SwarmRun


def swarm_config() -> config.Config | None:
    """The project's config when its deploy target is swarm; None otherwise (and when it
    cannot be read: the SSH path then reports that, in its usual order)."""
    try:
        cfg = config.load(Path.cwd())
    except ConfigError:
        return None
    return cfg if cfg.deploy.target == "swarm" else None


def _report(run: SwarmRun, say: Callable[[str], None]) -> None:
    release = run.plan.release
    say(
        f"{run.plan.manager}: {', '.join(run.plan.services)} on {release.version} "
        f"({release.image}) in {run.seconds:.1f}s "
        f"(swarm's rolling update {run.update_seconds:.1f}s)"
    )


def deploy(
    cfg: config.Config,
    hosts: Sequence[str],
    *,
    version: str,
    name: str,
    dry_run: bool,
    lock_wait: str,
    ssh: deploy_run.SSHOptions,
    say: Callable[[str], None],
) -> None:
    manager = swarm_run.manager(cfg, hosts)
    wait = inputs.lock_wait(lock_wait)
    base, _, token = deploy_run.inputs(cfg, os.environ)
    if dry_run:
        plan_inputs = deploy_run.with_login(base, cfg, name=name, token=token, environ=os.environ)
        for line in swarm_run.preview(
            cfg, manager, name=name, version=version, inputs_=plan_inputs
        ):
            print(line)
        return
    run = swarm_run.deploy(
        cfg,
        manager,
        name=name,
        label=version,
        choose=swarm_run.pinned(name, version),
        lock_wait=wait,
        ssh=ssh,
        environ=os.environ,
        echo=say,
    )
    _report(run, say)
    github.write_outputs(
        {"version": version, "overhead-seconds": f"{run.seconds - run.update_seconds:.2f}"}
    )


def rollback(
    cfg: config.Config,
    hosts: Sequence[str],
    *,
    to: str | None,
    lock_wait: str,
    ssh: deploy_run.SSHOptions,
    say: Callable[[str], None],
) -> None:
    manager = swarm_run.manager(cfg, hosts)
    wait = inputs.lock_wait(lock_wait)
    target = inputs.version(to, "--to") if to is not None else None
    name = image_meta.image_name(cfg, os.environ)
    choose = swarm_run.pinned(name, target) if target else swarm_run.previous()
    run = swarm_run.deploy(
        cfg,
        manager,
        name=name,
        label=target or "previous",
        choose=choose,
        lock_wait=wait,
        ssh=ssh,
        environ=os.environ,
        echo=say,
    )
    release = run.plan.release
    say(f"{run.plan.manager}: back on {release.version} ({release.image})")


def lock(
    cfg: config.Config, hosts: Sequence[str], ssh: deploy_run.SSHOptions, release: bool
) -> list[str]:
    return deploy_run.lock_report(cfg, [swarm_run.manager(cfg, hosts)], ssh, release)
