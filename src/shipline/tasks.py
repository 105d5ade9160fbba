"""Invoke tasks; a user's tasks.py is exactly `from shipline.tasks import namespace`."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from shipline import actions as generated_actions
from shipline import config
from shipline.errors import ShiplineError
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


@task(help={**CONTEXT_HELP, "json": "Print the result as JSON on stdout (the log goes to stderr)."})
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


@task(help={**CONTEXT_HELP, "json": "Print the result as JSON on stdout (the log goes to stderr)."})
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


namespace = Collection(actions, tags, build, push)
DELIVERY = ("build", "push")
"""Tasks that have an action of their own (`actions/<task>`), mirrored one-to-one."""
