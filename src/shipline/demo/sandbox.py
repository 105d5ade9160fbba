"""Throwaway infrastructure on this machine, on loopback: a registry and an SSH host.

The demo deploys through them exactly as to real ones (htpasswd auth, a verified
host key, a key login), and shipline's own tests use the same pieces.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class SSHHost:
    address: str
    port: int
    key: Path
    known_hosts: Path
    host_key_pub: str
    base: Path
    process: subprocess.Popen[bytes]

    @property
    def spec(self) -> str:
        return f"root@{self.address}:{self.port}"

    def drop_sessions(self) -> None:
        """Cut every open SSH connection; the listener stays up (a network blip)."""
        # Only this sshd's own children (one per connection), found by its PID: never a
        # pattern, which could match the machine's own SSH sessions.
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in out:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@contextlib.contextmanager
def ssh_host(address: str = "127.0.0.1") -> Iterator[SSHHost]:
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(sshd).exists():
        raise RuntimeError("sshd not found; run scripts/provision (openssh-server)")
    base = Path(tempfile.mkdtemp(prefix="shipline-ssh-"))
    keygen(base / "host_key")
    keygen(base / "client_key")
    shutil.copy(base / "client_key.pub", base / "authorized_keys")
    port = free_port()
    Path("/run/sshd").mkdir(exist_ok=True)
    (base / "sshd_config").write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {base / 'host_key'}\n"
        f"PidFile {base / 'sshd.pid'}\nAuthorizedKeysFile {base / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "Subsystem sftp internal-sftp\nMaxSessions 50\nMaxStartups 50\n"
        # A home of the host's own: docker's login lands there, and the commands do not
        # pay for this machine's ~/.bashrc (bash reads it for commands sshd runs: here it
        # runs `pyenv init`, ~120 ms a command, which a deploy host would not).
        f"SetEnv HOME={base / 'home'}\n"
    )
    (base / "home").mkdir()
    process = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(base / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=(base / "sshd.log").open("w"),
    )
    host_pub = (base / "host_key.pub").read_text().split()
    (base / "known_hosts").write_text(f"[{address}]:{port} {host_pub[0]} {host_pub[1]}\n")
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection((address, port), 0.5):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {(base / 'sshd.log').read_text()}")
            time.sleep(0.05)
        yield SSHHost(
            address,
            port,
            base / "client_key",
            base / "known_hosts",
            f"{host_pub[0]} {host_pub[1]}",
            base,
            process,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


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
    """Remove the containers of an app's slots and proxy (and a bare compose project)."""
    for project in (f"{app}-blue", f"{app}-green", f"{app}-proxy", app):
        ids = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}")
        if ids.split():
            _docker("rm", "-f", *ids.split())
