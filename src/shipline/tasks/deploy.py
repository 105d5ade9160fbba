"""The deploy tasks: deploy, rollback, lock. They only wire `shipline.deploy.run`."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from invoke.context import Context
from invoke.tasks import task

from shipline import config, delivery, github, inputs
from shipline.delivery import DEPLOY_HELP
from shipline.deploy import run as deploy_run
from shipline.deploy.executor import HostRun
from shipline.errors import UsageError
from shipline.images import context as git
from shipline.images import meta as image_meta
from shipline.tasks import swarm_deploy
from shipline.tasks.errors import one_line_errors


def _default_version(ref: str | None) -> tuple[config.Config, str, str]:
    """The commit's immutable tag: the release tag on a tag ref, else `sha-<sha7>`.

    Never a branch tag such as `main`: it moves, so a rollback to it would go nowhere.
    """
    cfg = config.load(Path.cwd())
    now = dt.datetime.now(dt.UTC)
    ctx = git.git_context(cfg.root, os.environ, default_branch=cfg.default_branch, now=now, ref=ref)
    meta = image_meta.compute(cfg, ctx, os.environ)
    if ctx.ref.startswith("refs/tags/") and meta.tags:
        return cfg, meta.name, meta.version
    immutable = [t for t in meta.tags if t.startswith("sha-")]
    if not immutable:
        raise UsageError(
            f"no immutable tag for {ctx.ref or 'this checkout'} (its tags: "
            f"{', '.join(meta.tags) or 'none'}); pass --version TAG or --version sha256:DIGEST"
        )
    return cfg, meta.name, immutable[0]


def _report(runs: list[HostRun], version: str) -> None:
    for run in runs:
        slowest = sorted(run.timings, key=lambda t: t[1], reverse=True)[:12]
        print(
            f"{run.plan.host}: slowest steps: "
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in slowest)
        )
        print(
            f"{run.plan.host}: {run.plan.release.version} ({run.plan.release.image}) live in "
            f"slot {run.plan.next} in {run.seconds:.1f}s (waiting for healthy "
            f"{run.health_seconds:.1f}s)"
        )
    if runs:
        overhead = max(run.seconds - run.health_seconds for run in runs)
        github.write_outputs({"version": version, "overhead-seconds": f"{overhead:.2f}"})


def _say(line: str) -> None:
    print(line, flush=True)


@task(iterable=["host"], help=dict(delivery.DEPLOY.help), auto_shortflags=False)
@delivery.described(delivery.DEPLOY)
def deploy(
    c: Context,
    host: list[str],
    version: str | None = None,
    batch: str = "1",
    dry_run: bool = False,
    lock_wait: str = "0",
    accept_new_host_key: bool = False,
    known_hosts: str | None = None,
    key: str | None = None,
) -> None:
    with one_line_errors():
        swarm = swarm_deploy.swarm_config()
        if swarm is not None:
            if batch != "1":
                raise UsageError(
                    "--batch is for target ssh; a swarm updates "
                    "tool.shipline.deploy.swarm.parallelism tasks at a time"
                )
            if version is not None:
                name, version = image_meta.image_name(swarm, os.environ), inputs.version(version)
            else:
                _, name, version = _default_version(None)
            ssh = deploy_run.SSHOptions(accept_new_host_key, known_hosts, key)
            swarm_deploy.deploy(
                swarm,
                host,
                version=version,
                name=name,
                dry_run=dry_run,
                lock_wait=lock_wait,
                ssh=ssh,
                say=_say,
            )
            return
        specs = deploy_run.hosts(host)
        size = inputs.batch(batch, len(specs))
        wait = inputs.lock_wait(lock_wait)
        if version is not None:
            version = inputs.version(version)
            cfg = config.load(Path.cwd())
            name = image_meta.image_name(cfg, os.environ)
        else:
            cfg, name, version = _default_version(None)
        if dry_run:
            base, _, token = deploy_run.inputs(cfg, os.environ)
            plan_inputs = deploy_run.with_login(
                base, cfg, name=name, token=token, environ=os.environ
            )
            for line in deploy_run.preview(
                cfg, specs, name=name, version=version, inputs_=plan_inputs
            ):
                print(line)
            return
        ssh = deploy_run.SSHOptions(accept_new_host_key, known_hosts, key)
        runs = deploy_run.execute(
            cfg,
            specs,
            name=name,
            label=version,
            choose_for=deploy_run.pinned(name, version),
            batch=size,
            lock_wait=wait,
            ssh=ssh,
            echo=_say,
            environ=os.environ,
        )
    _report(runs, version)


@task(
    iterable=["host"],
    auto_shortflags=False,
    help={
        **{k: v for k, v in DEPLOY_HELP.items() if k not in ("version", "batch", "dry_run")},
        "to": "Tag or digest to go back to (default: each host's previous image, by digest)",
    },
)
def rollback(
    c: Context,
    host: list[str],
    to: str | None = None,
    lock_wait: str = "0",
    accept_new_host_key: bool = False,
    known_hosts: str | None = None,
    key: str | None = None,
) -> None:
    """Put hosts back on their previous version (or --to VERSION), the same safe way."""
    with one_line_errors():
        swarm = swarm_deploy.swarm_config()
        if swarm is not None:
            ssh = deploy_run.SSHOptions(accept_new_host_key, known_hosts, key)
            swarm_deploy.rollback(swarm, host, to=to, lock_wait=lock_wait, ssh=ssh, say=_say)
            return
        specs = deploy_run.hosts(host)
        wait = inputs.lock_wait(lock_wait)
        target = inputs.version(to, "--to") if to is not None else None
        cfg = config.load(Path.cwd())
        name = image_meta.image_name(cfg, os.environ)
        choose = deploy_run.pinned(name, target) if target else deploy_run.previous_on_each_host()
        ssh = deploy_run.SSHOptions(accept_new_host_key, known_hosts, key)
        runs = deploy_run.execute(
            cfg,
            specs,
            name=name,
            label=target or "previous",
            choose_for=choose,
            batch=1,
            lock_wait=wait,
            ssh=ssh,
            echo=_say,
            environ=os.environ,
        )
    for run in runs:
        print(f"{run.plan.host}: back on {run.plan.release.version} ({run.plan.release.image})")


@task(
    iterable=["host"],
    auto_shortflags=False,
    help={
        "host": DEPLOY_HELP["host"],
        "release": "Remove the lock, whoever holds it",
        "status": "Show who holds the lock, since when, and whether it is stale",
        "known_hosts": DEPLOY_HELP["known_hosts"],
        "key": DEPLOY_HELP["key"],
    },
)
def lock(
    c: Context,
    host: list[str],
    release: bool = False,
    status: bool = False,
    known_hosts: str | None = None,
    key: str | None = None,
) -> None:
    """Show (--status) or remove (--release) the deploy lock on hosts."""
    with one_line_errors():
        if release == status:
            raise UsageError("pass exactly one of --status or --release")
        swarm = swarm_deploy.swarm_config()
        if swarm is not None:
            ssh = deploy_run.SSHOptions(False, known_hosts, key)
            for line in swarm_deploy.lock(swarm, host, ssh, release):
                print(line)
            return
        specs = deploy_run.hosts(host)
        cfg = config.load(Path.cwd())
        ssh = deploy_run.SSHOptions(False, known_hosts, key)
        for line in deploy_run.lock_report(cfg, specs, ssh, release):
            print(line)
