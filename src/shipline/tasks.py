"""Invoke tasks; a user's tasks.py is exactly `from shipline.tasks import namespace`."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from shipline import actions as generated_actions
from shipline import config, crashlog
from shipline import smoke as smoke_checks
from shipline.deploy import inputs
from shipline.deploy import run as deploy_run
from shipline.deploy.executor import HostRun
from shipline.errors import ConfigError, ShiplineError, UsageError
from shipline.images import build as image_build
from shipline.images import context as git
from shipline.images import meta as image_meta
from shipline.images import push as image_push

CONTEXT_HELP = {
    "ref": "Git ref to tag for, e.g. refs/tags/v1.2.3 (default: GITHUB_REF, else the checkout)",
    "sha": "Commit SHA (default: GITHUB_SHA, else HEAD)",
    "event": "GitHub event name (default: GITHUB_EVENT_NAME, else push)",
}


class EngineUnreachable(ShiplineError):
    pass


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Every error a user can fix ends the task with one line and its exit status."""
    try:
        yield
    except ShiplineError as exc:
        raise Exit(f"shipline: error: {exc}", code=exc.exit_code) from None
    except Exit:
        raise
    except BrokenPipeError:  # `invoke deploy --dry-run | head`: the reader left, not a bug
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise Exit(code=1) from None
    except Exception as exc:
        raise Exit(f"shipline: error: {crashlog.line(exc)}", code=1) from None


def _client() -> Any:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(version="auto")
        client.ping()
    except DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        reason = str(exc).split(": ", 1)[-1][:160]
        raise EngineUnreachable(
            f"cannot reach the Docker engine at {where} ({reason}); start it "
            "(scripts/provision does) or set DOCKER_HOST"
        ) from None
    return client


def _meta(
    ref: str | None, sha: str | None, event: str | None
) -> tuple[config.Config, image_meta.ImageMeta]:
    cfg = config.load(Path.cwd())
    now = dt.datetime.now(dt.UTC)
    ctx = git.git_context(cfg.root, os.environ, cfg.default_branch, now, ref, sha, event)
    return cfg, image_meta.compute(cfg, ctx, os.environ)


def _github_output(values: Mapping[str, str]) -> None:
    """Outputs for the `build` and `push` actions, in GitHub's multiline-safe form."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            handle.write(f"{key}<<SHIPLINE_EOF\n{value}\nSHIPLINE_EOF\n")


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@task(help={"check": "Only check that the committed action files mirror the catalogue."})
def actions(c: Context, check: bool = False) -> None:
    """Write actions/<name>/action.yml from the catalogue of checks (or --check them)."""
    root = Path.cwd()
    if check:
        found = generated_actions.problems(root)
        if found:
            raise Exit("\n".join(f"shipline: error: {p}" for p in found), code=1)
        print(f"shipline: actions mirror the catalogue ({len(generated_actions.all_actions())})")
        return
    changed = generated_actions.write(root)
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print("shipline: actions already up to date")


@task(help=CONTEXT_HELP)
def tags(
    c: Context, ref: str | None = None, sha: str | None = None, event: str | None = None
) -> None:
    """Print the image tags for the git context, one per line (metadata-action rules)."""
    with _one_line_errors():
        _, meta = _meta(ref, sha, event)
    for tag in meta.tags:
        print(tag)


IMAGE_HELP = {
    **CONTEXT_HELP,
    "json": "Print the result as JSON on stdout (the log goes to stderr).",
}


@task(help=IMAGE_HELP)
def build(
    c: Context,
    ref: str | None = None,
    sha: str | None = None,
    event: str | None = None,
    json_: bool = False,
) -> None:
    """Build the image from the Dockerfile with its tags, APP_VERSION and OCI labels."""
    with _one_line_errors():
        cfg, meta = _meta(ref, sha, event)
        plan = image_build.plan(cfg, meta)
        client = _client()
        echo = _err if json_ else print
        if meta.fallback:
            echo(f"shipline: no tag rule matched this git context; tagging {meta.refs[0]}")
        runner = image_build.run_buildx if image_build.has_buildx() else image_build.run_classic
        result = runner(client, plan, echo)
    summary = {
        "image_id": result.image_id,
        "tags": list(result.refs),
        "version": meta.version,
        "size": result.size,
        "seconds": round(result.seconds, 2),
        "steps": result.steps,
        "cached_steps": result.cached_steps,
        "builder": result.builder,
    }
    _github_output(
        {"image-id": result.image_id, "tags": "\n".join(result.refs), "version": meta.version}
    )
    if json_:
        print(json.dumps(summary))
        return
    print(f"image {result.image_id}")
    for ref_ in result.refs:
        print(f"  {ref_}")
    print(
        f"size {result.size / 1e6:.1f} MB; built in {result.seconds:.1f}s by the "
        f"{result.builder} builder ({result.cached_steps} of {result.steps} steps cached)"
    )


@task(help=IMAGE_HELP)
def push(
    c: Context,
    ref: str | None = None,
    sha: str | None = None,
    event: str | None = None,
    json_: bool = False,
) -> None:
    """Push every tag of the image to its registry; prints the digest."""
    with _one_line_errors():
        cfg, meta = _meta(ref, sha, event)
        image_push.require_tags(meta)
        creds = image_push.credentials(cfg, meta, os.environ)
        client = _client()
        echo = _err if json_ else print
        report = image_push.push(client, meta, creds, echo)
    _github_output({"digest": report.digest, "tags": "\n".join(meta.refs)})
    if json_:
        print(json.dumps({"digest": report.digest, "pushed": list(meta.refs)}))
        return
    print(f"digest {report.digest}")


DEPLOY_HELP = {
    "host": "A host as user@host[:port]; repeat for several hosts",
    "version": "The image tag or digest to deploy (default: the commit's immutable tag)",
    "batch": "Hosts at a time: a number, or a percentage such as 25%",
    "dry_run": "Print the plan (steps and commands per host) and change nothing",
    "lock_wait": "Seconds to wait for another deploy's lock before giving up",
    "accept_new_host_key": "Trust a host's key on first contact (like OpenSSH accept-new)",
    "known_hosts": "known_hosts file (default ~/.ssh/known_hosts; also SHIPLINE_KNOWN_HOSTS)",
    "key": "Private key file (default: the agent; also SHIPLINE_SSH_KEY)",
}


def _default_version(ref: str | None) -> tuple[config.Config, str, str]:
    """The commit's immutable tag: the release tag on a tag ref, else `sha-<sha7>`.

    Never a branch tag such as `main`: it moves, so a rollback to it would go nowhere.
    """
    cfg = config.load(Path.cwd())
    now = dt.datetime.now(dt.UTC)
    ctx = git.git_context(cfg.root, os.environ, cfg.default_branch, now, ref, None, None)
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
        _github_output({"version": version, "overhead-seconds": f"{overhead:.2f}"})


def _say(line: str) -> None:
    print(line, flush=True)


@task(iterable=["host"], help=DEPLOY_HELP)
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
    """Rolling deploy over SSH: new version beside the old, healthy, switch, drain, smoke."""
    with _one_line_errors():
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
            plan_inputs = deploy_run.with_login(base, cfg, name, token, os.environ)
            for line in deploy_run.preview(cfg, specs, name, version, plan_inputs):
                print(line)
            return
        ssh = deploy_run.SSHOptions(accept_new_host_key, known_hosts, key)
        runs = deploy_run.execute(
            cfg,
            specs,
            name,
            version,
            deploy_run.pinned(name, version),
            size,
            wait,
            ssh,
            _say,
            os.environ,
        )
    _report(runs, version)


@task(
    iterable=["host"],
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
    with _one_line_errors():
        specs = deploy_run.hosts(host)
        wait = inputs.lock_wait(lock_wait)
        target = inputs.version(to, "--to") if to is not None else None
        cfg = config.load(Path.cwd())
        name = image_meta.image_name(cfg, os.environ)
        choose = deploy_run.pinned(name, target) if target else deploy_run.previous_on_each_host()
        ssh = deploy_run.SSHOptions(accept_new_host_key, known_hosts, key)
        runs = deploy_run.execute(
            cfg, specs, name, target or "previous", choose, 1, wait, ssh, _say, os.environ
        )
    for run in runs:
        print(f"{run.plan.host}: back on {run.plan.release.version} ({run.plan.release.image})")


@task(
    iterable=["host"],
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
    with _one_line_errors():
        if release == status:
            raise UsageError("pass exactly one of --status or --release")
        specs = deploy_run.hosts(host)
        cfg = config.load(Path.cwd())
        ssh = deploy_run.SSHOptions(False, known_hosts, key)
        for line in deploy_run.lock_report(cfg, specs, ssh, release):
            print(line)


@task(
    help={
        "url": "The service's base URL, e.g. https://app.example.com",
        "version": "Also check the service reports this version",
    }
)
def smoke(c: Context, url: str, version: str | None = None) -> None:
    """HTTP smoke checks: /health is ok with every component true, 401 without a token, version."""
    from rich.console import Console

    with _one_line_errors():
        cfg = config.load(Path.cwd())
        results = smoke_checks.run_checks(url, cfg.smoke, version)
    Console().print(smoke_checks.table(url, results))
    failed = [r.name for r in results if not r.ok]
    if failed:
        raise Exit(f"shipline: error: smoke checks failed: {', '.join(failed)}", code=1)


@task(
    help={
        "force": "Overwrite files that differ from the templates (their diffs are shown first)",
        "dry_run": "Show what init would write and change nothing",
        "entry": "The app as module:attribute, e.g. app.main:app (default: detected)",
        "wsgi": "With --entry: the app is WSGI (default ASGI)",
        "base_image": "The Dockerfile's default BASE_IMAGE (default: python:<version>-slim)",
    }
)
def init(
    c: Context,
    force: bool = False,
    dry_run: bool = False,
    entry: str | None = None,
    wsgi: bool = False,
    base_image: str | None = None,
) -> None:
    """Render shipline's Dockerfile, compose, proxy, server, nox, tasks, workflows and config."""
    from shipline import project as detect
    from shipline import scaffold

    root = Path.cwd()
    with _one_line_errors():
        found = detect.read(root, entry, wsgi)
        planned = scaffold.plan(found, base_image, force)
    conflicts = [a for a in planned if a.status in ("conflict", "overwrite")]
    for action in conflicts:
        print(action.diff, end="" if action.diff.endswith("\n") else "\n")
    blocked = [a.path for a in planned if a.status == "conflict"]
    if blocked:
        raise Exit(
            f"shipline: error: {len(blocked)} file(s) differ from the templates: "
            f"{', '.join(blocked)}; keep yours, or rerun with --force to take the template "
            "(diffs above; nothing was written)",
            code=2,
        )
    print(
        f"shipline: {found.name}: package {found.package_dir}, "
        f"{'ASGI' if found.asgi else 'WSGI'} app {found.entry}, Python {found.python}"
    )
    for action in planned:
        shown = f"{action.path} ([tool.shipline])" if action.status == "append" else action.path
        print(f"  {action.status:>9}  {shown}")
    if not found.health_found:
        print(
            f"shipline: note: no {found.health_path} route found in {found.package_dir}; "
            "the image's HEALTHCHECK, the deploy and the smoke checks use it: add one"
        )
    if dry_run:
        print("shipline: dry run; nothing written")
        return
    try:
        scaffold.apply(root, planned)
    except OSError as exc:
        raise Exit(
            f"shipline: error: cannot write {exc.filename}: {exc.strerror}; nothing was changed",
            code=1,
        ) from None


namespace = Collection(actions, tags, build, push, deploy, rollback, lock, smoke, init)
DELIVERY = ("build", "push", "deploy", "smoke")
"""Tasks that have an action of their own (`actions/<task>`), mirrored one-to-one."""
