"""A throwaway image registry on loopback: docker-registry with htpasswd auth.

Pushes and pulls go through it as through a real one (a login, a password that never
reaches an argv), for the image and deploy tests and the demo (demo/pipeline.py).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from support.sandbox import free_port


@dataclass(frozen=True)
class Registry:
    host: str
    username: str
    password: str = field(repr=False)

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(
            f"http://{self.host}{path}",
            auth=(self.username, self.password),
            headers=headers,
            timeout=10,
        )

    def tags(self, repository: str) -> list[str]:
        response = self.get(f"/v2/{repository}/tags/list")
        response.raise_for_status()
        return sorted(response.json()["tags"])

    def manifest_digest(self, repository: str, tag: str) -> str:
        response = self.get(
            f"/v2/{repository}/manifests/{tag}",
            Accept="application/vnd.docker.distribution.manifest.v2+json",
        )
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]


@contextlib.contextmanager
def registry(username: str = "ci", listen: str = "127.0.0.1") -> Iterator[Registry]:
    """`listen` 0.0.0.0 also serves namespace hosts (at netns.SHARED); pushes use loopback."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry not found; run scripts/provision")
    password = secrets.token_urlsafe(16)
    base = Path(tempfile.mkdtemp(prefix="shipline-registry-"))
    port = free_port()
    subprocess.run(
        ["htpasswd", "-B", "-i", "-c", str(base / "htpasswd"), username],
        input=password,
        text=True,
        check=True,
        capture_output=True,
    )
    (base / "config.yml").write_text(
        f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {base / "data"}
  delete:
    enabled: true
http:
  addr: {listen}:{port}
auth:
  htpasswd:
    realm: shipline
    path: {base / "htpasswd"}
"""
    )
    log = (base / "registry.log").open("w")
    process = subprocess.Popen(
        [binary, "serve", str(base / "config.yml")], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"docker-registry did not start: {(base / 'registry.log').read_text()[-500:]}"
                )
            time.sleep(0.1)
        yield Registry(f"127.0.0.1:{port}", username, password)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(base, ignore_errors=True)
