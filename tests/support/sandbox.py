"""What the tests and the demo share on this machine: the images scripts/provision builds,
a free loopback port, and removal of what a run left in the Docker Engine.

The throwaway registry (support.registry), SSH host (support.sshhost) and load
generator (support.load) build on it. The demo (demo/pipeline.py) deploys through
the same pieces as the tests, so both exercise one sandbox, not two look-alikes.
"""

from __future__ import annotations

import socket
import subprocess

from shipline.deploy.commands import SLOTS, proxy_project, slot_project

BASE_IMAGE = "shipline/python-base:bookworm"
"""The Python base image scripts/provision builds with debootstrap (no registry pulls here)."""
PROXY_IMAGE = "shipline/nginx:bookworm"
"""The nginx image scripts/provision builds on BASE_IMAGE: the proxy the deploys run."""


def free_port() -> int:
    """A port free on 127.0.0.1 now, so that parallel runs never collide on a fixed one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _docker(*args: str) -> str:
    """A docker command whose failure does not matter (cleanup of what may not exist)."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    return done.stdout


def remove_images(name: str) -> None:
    """Remove every tag of `name` from the engine (each registry run has its own port)."""
    refs = _docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", name).split()
    if refs:
        _docker("rmi", "-f", *refs)


def remove_app(app: str) -> None:
    """Remove the containers of an app's slots and proxy (and a bare compose project).

    The project names are the deploy's own (shipline.deploy.commands), so a change of
    naming there cannot leave containers behind here.
    """
    projects = (*(slot_project(app, slot) for slot in SLOTS), proxy_project(app), app)
    for project in projects:
        ids = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}")
        if ids.split():
            _docker("rm", "-f", *ids.split())
