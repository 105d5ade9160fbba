"""The deploy tests' images: nginx from the local base, and the app in its versions."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from support.sample import BASE_IMAGE

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


def build_nginx(ref: str) -> None:
    docker(
        "build",
        "--network",
        "host",
        "-q",
        "-t",
        ref,
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE}",
        "-f",
        str(APP / "nginx.Dockerfile"),
        str(APP),
    )


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
            str(APP),
        )
        docker("push", "-q", f"{name}:{tag}")
    return name


def remove_images(name: str) -> None:
    """Remove every tag of `name` from the engine (each run's registry has its own port)."""
    refs = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", name).split()
    if refs:
        docker("rmi", "-f", *refs)
