"""invoke build / tags / push on a real Docker Engine and a real registry."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import registry as registry_support
from support.run import Result, run
from support.sample import add_image, git, make_project, write
from support.sandbox import remove_images


@pytest.fixture(scope="module")
def engine() -> None:
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"no Docker Engine answers (run scripts/provision): {done.stderr.strip()}")
    base = subprocess.run(
        ["docker", "image", "inspect", "shipline/python-base:bookworm"],
        capture_output=True,
        check=False,
    )
    if base.returncode != 0:
        pytest.fail("base image shipline/python-base:bookworm missing; run scripts/provision")


@pytest.fixture
def image_name(registry: registry_support.Registry) -> Iterator[str]:
    name = f"{registry.host}/acme/app-{secrets.token_hex(3)}"
    yield name
    remove_images(name)


def invoke(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return run([sys.executable, "-m", "invoke", *args], cwd=project, env=env)


def inspect(ref: str) -> dict[str, object]:
    out = subprocess.run(
        ["docker", "image", "inspect", ref], capture_output=True, text=True, check=True
    ).stdout
    data: dict[str, object] = json.loads(out)[0]
    return data


def test_build_labels_tags_version_and_cached_rebuild(
    engine: None, tmp_path: Path, image_name: str
) -> None:
    project = add_image(make_project(tmp_path / "app"), image_name)
    sha = git(project, "rev-parse", "HEAD")
    first = invoke(project, "build", "--json")
    assert first.code == 0, first
    result = json.loads(first.output.strip().splitlines()[-1])
    assert result["tags"] == [f"{image_name}:main", f"{image_name}:sha-{sha[:7]}"]
    assert result["version"] == "main"
    assert result["builder"] == "classic"
    image = inspect(f"{image_name}:main")
    assert image["Id"] == result["image_id"]
    assert sorted(image["RepoTags"]) == sorted(result["tags"])  # type: ignore[arg-type]
    labels = image["Config"]["Labels"]  # type: ignore[index]
    assert labels["org.opencontainers.image.revision"] == sha
    assert labels["org.opencontainers.image.version"] == "main"
    assert labels["org.opencontainers.image.source"] == "https://github.com/acme/sample-app"
    assert labels["org.opencontainers.image.title"] == "sample-app"
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert labels["org.opencontainers.image.created"].endswith("Z")
    ran = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", f"{image_name}:main"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.strip() == "main"  # APP_VERSION reached the image

    write(
        project,
        "src/sample_app/core.py",
        (project / "src/sample_app/core.py").read_text() + "\n# a code-only change\n",
    )
    git(project, "commit", "-qam", "code only")
    second = invoke(project, "build", "--json")
    assert second.code == 0, second
    rebuilt = json.loads(second.output.strip().splitlines()[-1])
    assert rebuilt["image_id"] != result["image_id"]
    # The dependency layer (venv + pip install) and everything before the code came from cache.
    log = second.output.splitlines()
    run_step = next(i for i, line in enumerate(log) if "RUN python3 -m venv" in line)
    assert log[run_step + 1].strip() == "---> Using cache", second
    assert rebuilt["cached_steps"] == 2, second  # the dependency RUN and COPY --from=build
    copy_code = next(i for i, line in enumerate(log) if "COPY src/ /app/" in line)
    assert "Using cache" not in log[copy_code + 1]


def test_push_then_read_tags_and_manifest_back(
    engine: None, tmp_path: Path, image_name: str, registry: registry_support.Registry
) -> None:
    project = add_image(make_project(tmp_path / "app"), image_name)
    assert invoke(project, "build").code == 0
    env = {"GITHUB_ACTOR": registry.username, "GITHUB_TOKEN": registry.password}
    pushed = invoke(project, "push", "--json", env=env)
    assert pushed.code == 0, pushed
    report = json.loads(pushed.output.strip().splitlines()[-1])
    repository = image_name.split("/", 1)[1]
    sha = git(project, "rev-parse", "HEAD")
    assert registry.tags(repository) == sorted(["main", f"sha-{sha[:7]}"])
    assert registry.manifest_digest(repository, "main") == report["digest"]
    assert registry.manifest_digest(repository, f"sha-{sha[:7]}") == report["digest"]
    assert registry.password not in pushed.output


def test_wrong_password_is_one_clear_line_and_the_token_stays_secret(
    engine: None, tmp_path: Path, image_name: str, registry: registry_support.Registry
) -> None:
    project = add_image(make_project(tmp_path / "app"), image_name)
    assert invoke(project, "build").code == 0
    token = "wrong-" + secrets.token_hex(8)
    result = invoke(project, "push", env={"GITHUB_ACTOR": "ci", "GITHUB_TOKEN": token})
    assert result.code == 1, result
    assert token not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result
    assert lines[0].startswith(f"shipline: error: registry {registry.host} refused the login")
    assert registry.get(f"/v2/{image_name.split('/', 1)[1]}/tags/list").status_code == 404


def test_missing_token_and_user(engine: None, tmp_path: Path, image_name: str) -> None:
    project = add_image(make_project(tmp_path / "app"), image_name)
    result = invoke(project, "push", env={"GITHUB_ACTOR": "ci"})
    assert result.code == 2
    assert result.output.strip() == (
        "shipline: error: no registry token: set GITHUB_TOKEN (the variable named by "
        "tool.shipline.image.token-env)"
    )
    result = invoke(project, "push", env={"GITHUB_TOKEN": "x"})
    assert result.code == 2
    assert "no registry user: set GITHUB_ACTOR" in result.output


def test_missing_dockerfile_and_unreachable_engine(tmp_path: Path) -> None:
    project = add_image(make_project(tmp_path / "app"), "127.0.0.1:1/acme/app")
    (project / "Dockerfile").unlink()
    missing = invoke(project, "build")
    assert missing.code == 2
    assert missing.output.strip().startswith(
        "shipline: error: tool.shipline.image.dockerfile: no Dockerfile at "
    )
    write(project, "Dockerfile", "FROM scratch\n")
    unreachable = invoke(project, "build", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert unreachable.code == 1
    assert unreachable.output.strip().startswith(
        f"shipline: error: cannot reach the Docker engine at unix://{tmp_path}/none.sock"
    )
    assert "Traceback" not in unreachable.output


BAD_RULES = {
    "unknown-type": (
        ["type=semvar,pattern={{version}}"],
        'unknown tag rule type "semvar"',
    ),
    "malformed": (["type=semver"], "type=semver"),
}


@pytest.mark.parametrize("case", list(BAD_RULES))
def test_bad_tag_rules_are_one_line_exit_2(tmp_path: Path, case: str) -> None:
    rules, needle = BAD_RULES[case]
    project = add_image(make_project(tmp_path / "app"), "127.0.0.1:1/acme/app", tags=rules)
    result = invoke(project, "tags")
    assert result.code == 2, result
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("shipline: error: ")
    assert needle in lines[0]


def test_tags_follow_the_git_context(tmp_path: Path) -> None:
    project = add_image(make_project(tmp_path / "app"), "ghcr.io/Acme/App")
    sha = git(project, "rev-parse", "HEAD")
    local = invoke(project, "tags")
    assert local.output.split() == ["main", f"sha-{sha[:7]}"]
    git(project, "checkout", "-q", "-b", "develop")
    develop = invoke(project, "tags", env={"SOURCE_DATE_EPOCH": "1704810622"})
    assert develop.output.split() == ["develop", "dev-20240109-143022", f"dev-{sha[:7]}"]
    release = invoke(project, "tags", "--ref", "refs/tags/v1.2.3")
    assert release.output.split() == ["v1.2.3", "1.2.3", "1.2", "1", "stable", "latest"]
    in_actions = invoke(
        project,
        "tags",
        env={
            "GITHUB_REF": "refs/tags/v2.0.0-rc.1",
            "GITHUB_SHA": sha,
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REPOSITORY": "acme/app",
        },
    )
    assert in_actions.output.split() == ["v2.0.0-rc.1", "2.0.0-rc.1"]
    bad = invoke(project, "tags", "--ref", "main")
    assert bad.code == 2
    assert "expected a full ref such as refs/heads/main" in bad.output
