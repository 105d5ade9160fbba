"""The pure parts of the image tasks: metadata, build plan, buildx command, push logic."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shipline import config
from shipline.errors import ConfigError, ShiplineError, UsageError
from shipline.images import build, meta, push
from shipline.images.context import repository_from_remote
from shipline.images.tags import GitContext

SHA = "0123456789abcdef0123456789abcdef01234567"
NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def cfg_for(tmp_path: Path, image: str = "", project: str = "") -> config.Config:
    text = (
        f'[project]\nname = "Web-App"\nlicense = "Apache-2.0"\n{project}'
        f"[tool.shipline.image]\n{image}"
    )
    return config.parse(tomllib.loads(text), tmp_path)


def ctx(ref: str = "refs/tags/v1.2.3", repository: str = "acme/web") -> GitContext:
    return GitContext(
        ref=ref, sha=SHA, event_name="push", default_branch="main", repository=repository, date=NOW
    )


def test_metadata_for_a_release(tmp_path: Path) -> None:
    result = meta.compute(cfg_for(tmp_path, 'name = "GHCR.io/Acme/Web"\n'), ctx(), {})
    assert result.name == "ghcr.io/acme/web"
    assert result.tags == ("v1.2.3", "1.2.3", "1.2", "1", "stable", "latest")
    assert result.version == "v1.2.3"
    assert result.registry == "ghcr.io"
    assert dict(result.labels) == {
        "org.opencontainers.image.source": "https://github.com/acme/web",
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.version": "v1.2.3",
        "org.opencontainers.image.created": "2026-11-21T12:00:00Z",
        "org.opencontainers.image.title": "Web-App",
        "org.opencontainers.image.licenses": "Apache-2.0",
    }


def test_untagged_context_builds_locally_but_cannot_push(tmp_path: Path) -> None:
    result = meta.compute(cfg_for(tmp_path), ctx("refs/heads/feature/x"), {})
    assert result.tags == ()
    assert result.fallback
    assert result.refs == ("web-app:sha-0123456",)
    assert result.registry == "docker.io"
    with pytest.raises(UsageError, match="nothing to push"):
        push.require_tags(result)


def test_image_name_defaults(tmp_path: Path) -> None:
    plain = cfg_for(tmp_path)
    assert meta.image_name(plain, {"GITHUB_REPOSITORY": "Acme/Web"}) == "ghcr.io/acme/web"
    assert meta.image_name(plain, {}) == "web-app"
    with pytest.raises(ConfigError, match=r"tool\.shipline\.image\.name"):
        meta.image_name(config.parse({}, tmp_path), {})


def test_source_label_prefers_project_urls(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path, project='[project.urls]\nSource = "https://git.example/web"\n')
    labels = meta.compute(cfg, ctx(), {}).labels
    assert labels["org.opencontainers.image.source"] == "https://git.example/web"


def test_repository_from_remote() -> None:
    assert repository_from_remote("git@github.com:acme/web.git") == "acme/web"
    assert repository_from_remote("https://github.com/acme/web") == "acme/web"
    assert repository_from_remote("https://gitlab.com/acme/web.git") == ""


def test_build_plan_and_buildx_command(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM scratch\n")
    cfg = cfg_for(
        tmp_path,
        'name = "ghcr.io/acme/web"\ndockerfile = "docker/Dockerfile"\ntarget = "runtime"\n'
        'build-args = { BASE_IMAGE = "python:3.12-slim" }\nplatforms = ["linux/amd64"]\n'
        'cache-from = ["type=gha"]\ncache-to = ["type=gha,mode=max"]\n',
    )
    image = meta.compute(cfg, ctx(), {})
    plan = build.plan(cfg, image)
    assert plan.dockerfile == tmp_path / "docker" / "Dockerfile"
    assert dict(plan.build_args) == {"BASE_IMAGE": "python:3.12-slim", "APP_VERSION": "v1.2.3"}
    argv = build.buildx_argv(plan)
    assert argv[:6] == ["docker", "buildx", "build", "--load", "--network", "host"]
    assert argv[argv.index("--target") + 1] == "runtime"
    assert argv[argv.index("--platform") + 1] == "linux/amd64"
    assert argv[argv.index("--cache-from") + 1] == "type=gha"
    assert argv[argv.index("--cache-to") + 1] == "type=gha,mode=max"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--tag"] == list(image.refs)
    assert "APP_VERSION=v1.2.3" in argv
    assert "org.opencontainers.image.revision=" + SHA in argv
    assert argv[-1] == str(tmp_path)


def test_build_plan_needs_a_dockerfile(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path)
    with pytest.raises(ConfigError, match=r"tool.shipline.image.dockerfile: no Dockerfile at"):
        build.plan(cfg, meta.compute(cfg, ctx(), {}))


class FakeAPI:
    """Scripted engine responses for the push logic; the real engine is in the integration tier."""

    def __init__(self, scripts: dict[str, list[list[dict[str, Any]]]]) -> None:
        self.scripts = scripts
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def push(self, name: str, tag: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append((tag, kwargs))
        return self.scripts[tag].pop(0)


class FakeClient:
    def __init__(self, api: FakeAPI) -> None:
        self.api = api
        self.logins: list[dict[str, Any]] = []

    def login(self, **kwargs: Any) -> None:
        self.logins.append(kwargs)


DONE = [{"id": "abc", "status": "Pushed"}, {"aux": {"Digest": "sha256:feed"}}]
FLAKY = [{"error": "x", "errorDetail": {"message": "received unexpected HTTP status: 503"}}]


def release(tmp_path: Path) -> meta.ImageMeta:
    return meta.compute(
        cfg_for(
            tmp_path,
            'name = "ghcr.io/acme/web"\n'
            'tags = ["type=semver,pattern={{version}}", "type=semver,pattern={{major}}"]\n'
            'flavor = ["latest=false"]\n',
        ),
        ctx(),
        {},
    )


def test_push_retries_transient_errors_and_reports_the_digest(tmp_path: Path) -> None:
    api = FakeAPI({"1.2.3": [FLAKY, FLAKY, DONE], "1": [DONE]})
    creds = push.Credentials("ghcr.io", "ci", "s3cret")
    lines: list[str] = []
    report = push.push(
        FakeClient(api), release(tmp_path), creds=creds, echo=lines.append, wait_seconds=0
    )
    assert report == push.PushReport("sha256:feed", ("1.2.3", "1"))
    assert [tag for tag, _ in api.calls] == ["1.2.3", "1.2.3", "1.2.3", "1"]
    assert api.calls[0][1]["auth_config"] == {"username": "ci", "password": "s3cret"}
    assert sum("transient registry error, retrying" in line for line in lines) == 2
    assert not any("s3cret" in line for line in lines)


def test_a_hard_failure_says_which_tags_made_it(tmp_path: Path) -> None:
    denied = [{"error": "x", "errorDetail": {"message": "denied: s3cret is not allowed"}}]
    api = FakeAPI({"1.2.3": [DONE], "1": [denied]})
    creds = push.Credentials("ghcr.io", "ci", "s3cret")
    with pytest.raises(ShiplineError) as caught:
        push.push(
            FakeClient(api), release(tmp_path), creds=creds, echo=lambda line: None, wait_seconds=0
        )
    assert str(caught.value) == (
        "push of ghcr.io/acme/web:1 failed: denied: *** is not allowed; pushed: 1.2.3; "
        "not pushed: 1"
    )
    assert len(api.calls) == 2  # not retried: a refusal is not transient


def test_retries_are_bounded(tmp_path: Path) -> None:
    api = FakeAPI({"1.2.3": [FLAKY] * 4})
    creds = push.Credentials("ghcr.io", "ci", "tok-123")
    with pytest.raises(
        ShiplineError,
        match=r"failed: received unexpected HTTP status: 503; "
        r"pushed: none; not pushed: 1.2.3, 1",
    ):
        push.push(
            FakeClient(api), release(tmp_path), creds=creds, echo=lambda line: None, wait_seconds=0
        )
    assert len(api.calls) == 4
