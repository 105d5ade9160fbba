"""The image tasks: tags, build, push; and the Docker client they share."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.tasks import task

from shipline import config, delivery, github
from shipline.errors import ShiplineError
from shipline.images import build as image_build
from shipline.images import context as git
from shipline.images import meta as image_meta
from shipline.images import push as image_push
from shipline.tasks.errors import one_line_errors


class EngineUnreachable(ShiplineError):
    pass


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
    ctx = git.git_context(
        cfg.root,
        os.environ,
        default_branch=cfg.default_branch,
        now=now,
        ref=ref,
        sha=sha,
        event=event,
    )
    return cfg, image_meta.compute(cfg, ctx, os.environ)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@task(help=dict(delivery.CONTEXT_HELP), auto_shortflags=False)
def tags(
    c: Context, ref: str | None = None, sha: str | None = None, event: str | None = None
) -> None:
    """Print the image tags for the git context, one per line (metadata-action rules)."""
    with one_line_errors():
        cfg, meta = _meta(ref, sha, event)
    for tag in meta.tags:
        print(tag)
    if meta.fallback:
        # stdout stays metadata-action's (empty) list; the reason goes to stderr.
        _err(
            "shipline: no tag rule matches this git context (the rules tag version tags, "
            f"pull requests, develop and the default branch, {cfg.default_branch!r}: see "
            f"[tool.shipline] default-branch and image.tags); a build would tag {meta.version}"
        )


@task(help=dict(delivery.BUILD.help), auto_shortflags=False)
@delivery.described(delivery.BUILD)
def build(
    c: Context,
    ref: str | None = None,
    sha: str | None = None,
    event: str | None = None,
    json_: bool = False,
) -> None:
    with one_line_errors():
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
    github.write_outputs(
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


@task(help=dict(delivery.PUSH.help), auto_shortflags=False)
@delivery.described(delivery.PUSH)
def push(
    c: Context,
    ref: str | None = None,
    sha: str | None = None,
    event: str | None = None,
    json_: bool = False,
) -> None:
    with one_line_errors():
        cfg, meta = _meta(ref, sha, event)
        image_push.require_tags(meta)
        creds = image_push.credentials(cfg, meta, os.environ)
        client = _client()
        echo = _err if json_ else print
        report = image_push.push(client, meta, creds=creds, echo=echo)
    github.write_outputs({"digest": report.digest, "tags": "\n".join(meta.refs)})
    if json_:
        print(json.dumps({"digest": report.digest, "pushed": list(meta.refs)}))
        return
    print(f"digest {report.digest}")
