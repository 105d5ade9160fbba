"""The deploy tests' images and projects: nginx from the local base, the app in its
versions, and a project that deploys it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from support.sandbox import BASE_IMAGE, PROXY_IMAGE, remove_app, remove_images

__all__ = ["remove_app", "remove_images"]

APP = Path(__file__).parent / "deploy_app"
MODES = {
    "v1": "ok",
    "v2": "ok",
    "v4": "ok",
    "v3-unhealthy": "unhealthy",
    "v3-crash": "crash",
    "v3-wrong": "wrong-version",
}
"""Tags and how each build behaves: v3-* fail in one way each (see deploy_app/server.py)."""


def docker(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def proxy_image() -> str:
    """The nginx image scripts/provision builds, the one the demo deploys behind."""
    docker("image", "inspect", PROXY_IMAGE)
    return PROXY_IMAGE


def build_and_push(
    registry_host: str, username: str, password: str, repository: str, tags: Iterable[str]
) -> str:
    """Build the app as `registry_host/repository:tag` for each tag and push it."""
    docker("login", "-u", username, "--password-stdin", registry_host, stdin=password)
    name = f"{registry_host}/{repository}"
    for tag in tags:
        docker(
            "build",
            "--network",
            "host",
            "-q",
            "-t",
            f"{name}:{tag}",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "--build-arg",
            f"APP_MODE={MODES[tag]}",
            "--label",  # each tag its own image and digest, as real releases have
            f"shipline.test.tag={tag}",
            str(APP),
        )
        docker("push", "-q", f"{name}:{tag}")
    return name


def write_project(
    root: Path,
    *,
    image: str,
    app: str,
    path: str,
    proxy_port: int,
    base_port: int,
    proxy_image: str,
    token: str,
    extra: str = "",
) -> None:
    """A project that deploys the app: pyproject, compose file, env file, tasks.py."""
    (root / "pyproject.toml").write_text(f"""[project]
name = "web"
version = "1.0.0"

[tool.shipline.image]
name = "{image}"

[tool.shipline.deploy]
app = "{app}"
path = "{path}"
base-port = {base_port}
proxy-port = {proxy_port}
proxy-image = "{proxy_image}"
health-timeout = 30
drain-seconds = 1
env-file = "prod.env"
url = "http://{{host}}:{proxy_port}"
min-free-mb = 10
{extra}""")
    (root / "compose.yml").write_text((APP / "compose.yml").read_text())
    (root / "prod.env").write_text(f"API_TOKEN={token}\n")
    (root / "tasks.py").write_text("from shipline.tasks import namespace\n")


def deploy_images(
    registry_host: str, username: str, password: str, repository: str, tags: Iterable[str]
) -> str:
    """What every deploy test needs first: the engine, the base and proxy images, and the
    app's tags pushed. Raises RuntimeError saying what is missing."""
    docker("info")
    docker("image", "inspect", BASE_IMAGE)
    proxy_image()
    return build_and_push(registry_host, username, password, repository, tags)


def invoke_argv(project: Path, spec: str, known_hosts: Path, key: Path, task: str) -> list[str]:
    """`python -m invoke TASK` against one SSH host, pinned host key and client key."""
    return [
        sys.executable,
        "-m",
        "invoke",
        task,
        "--host",
        spec,
        "--known-hosts",
        str(known_hosts),
        "--key",
        str(key),
    ]
