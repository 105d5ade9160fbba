"""Test hosts as namespaces: each its own network (veth), filesystem view, dockerd and sshd.

Addresses come from 198.18.0.0/15 (reserved for network tests): host N is
198.18.N.2, the machine's side of its link 198.18.N.1, and 198.18.0.1 on the
machine's loopback is where every host reaches the shared registry. Each host
runs in a private mount namespace, so the deploy path is its own directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.sshhost import keygen

SHARED = "198.18.0.1"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@dataclass(frozen=True)
class NSHost:
    name: str
    address: str
    key: Path
    known_hosts: Path
    docker_host: str

    @property
    def spec(self) -> str:
        return f"root@{self.address}"

    def docker(self, *args: str) -> str:
        done = subprocess.run(
            ["docker", *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "DOCKER_HOST": self.docker_host},
        )
        return done.stdout

    def cut_network(self) -> None:
        """The host can no longer reach the registry (its default route is gone)."""
        ip("netns", "exec", self.name, "ip", "route", "del", "default")

    def restore_network(self) -> None:
        ip(
            "netns",
            "exec",
            self.name,
            "ip",
            "route",
            "add",
            "default",
            "via",
            self.address.rsplit(".", 1)[0] + ".1",
        )


SHARED_HOLDERS = Path("/run/shipline-shared-address")
"""One file per process using SHARED (named by its PID), and `added` when the tests added it."""


def _holders() -> list[Path]:
    """The live holders of SHARED; a dead process's file is dropped (a killed run heals)."""
    alive = []
    for entry in SHARED_HOLDERS.glob("[0-9]*"):
        try:
            os.kill(int(entry.name), 0)
            alive.append(entry)
        except ProcessLookupError:
            entry.unlink(missing_ok=True)
    return alive


@contextlib.contextmanager
def _holders_locked() -> Iterator[None]:
    SHARED_HOLDERS.mkdir(exist_ok=True)
    with open(SHARED_HOLDERS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def shared_address() -> Iterator[str]:
    """SHARED on the machine's loopback for as long as any test process needs it.

    Counted across processes (xdist workers run the fleet and the swarm modules at
    once): the last holder removes it, and only if the tests added it."""
    me = SHARED_HOLDERS / str(os.getpid())
    with _holders_locked():
        added = subprocess.run(
            ["ip", "addr", "add", f"{SHARED}/32", "dev", "lo"], capture_output=True, check=False
        )
        if added.returncode == 0:
            (SHARED_HOLDERS / "added").touch()
        me.touch()
    try:
        yield SHARED
    finally:
        with _holders_locked():
            me.unlink(missing_ok=True)
            if not _holders() and (SHARED_HOLDERS / "added").exists():
                subprocess.run(
                    ["ip", "addr", "del", f"{SHARED}/32", "dev", "lo"],
                    capture_output=True,
                    check=False,
                )
                (SHARED_HOLDERS / "added").unlink()


def _link(name: str, address: str, gateway: str) -> None:
    """The namespace's veth pair: `address` inside, `gateway` on the machine, a default route."""
    ip("link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b")
    ip("link", "set", f"{name}b", "netns", name)
    ip("addr", "add", f"{gateway}/30", "dev", f"{name}a")
    ip("link", "set", f"{name}a", "up")
    for args in (
        ["addr", "add", f"{address}/30", "dev", f"{name}b"],
        ["link", "set", f"{name}b", "up"],
        ["link", "set", "lo", "up"],
        ["route", "add", "default", "via", gateway],
    ):
        ip("netns", "exec", name, "ip", *args)


def _wait_for_engine(process: subprocess.Popen[bytes], base: Path, name: str, socket: str) -> None:
    """Until the host's dockerd answers; its log's end in the error when it never does."""
    deadline = time.monotonic() + 60
    env = {**os.environ, "DOCKER_HOST": socket}
    while (
        subprocess.run(["docker", "info"], env=env, capture_output=True, check=False).returncode
        != 0
    ):
        if process.poll() is not None or time.monotonic() > deadline:
            log = (
                (base / "dockerd.log").read_text()[-800:] if (base / "dockerd.log").exists() else ""
            )
            raise RuntimeError(f"host {name} did not start: {log}")
        time.sleep(0.2)


@contextlib.contextmanager
def ns_host(
    index: int, deploy_path: str, registry: str, dockerd_args: tuple[str, ...] = ()
) -> Iterator[NSHost]:
    """Host `index` (1-250): sshd on 198.18.<index>.2:22, dockerd, the deploy path private.

    `dockerd_args`: more flags for the host's engine (a swarm node's address pools)."""
    name = f"shp{os.getpid() % 10000}h{index}"
    base = Path(tempfile.mkdtemp(prefix=f"shipline-{name}-", dir="/tmp"))
    address, gateway = f"198.18.{index}.2", f"198.18.{index}.1"
    ip("netns", "add", name)
    process: subprocess.Popen[bytes] | None = None
    try:
        _link(name, address, gateway)
        keygen(base / "host_key")
        keygen(base / "client_key")
        shutil.copy(base / "client_key.pub", base / "authorized_keys")
        socket = f"unix://{base}/d.sock"
        (base / "sshd_config").write_text(
            f"Port 22\nListenAddress {address}\nHostKey {base / 'host_key'}\n"
            f"PidFile {base / 'sshd.pid'}\nAuthorizedKeysFile {base / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\n"
            "KbdInteractiveAuthentication no\nStrictModes no\nSubsystem sftp internal-sftp\n"
            f"SetEnv DOCKER_HOST={socket}\nMaxSessions 50\n"
        )
        (base / "srv").mkdir()
        Path(deploy_path).mkdir(parents=True, exist_ok=True)
        script = (
            f"mount --bind {base / 'srv'} {deploy_path} && "
            f"dockerd --data-root {base / 'docker'} --exec-root {base / 'x'} "
            f"--pidfile {base / 'd.pid'} -H {socket} --bridge=none --iptables=false "
            f"--ip-masq=false --insecure-registry {registry} {shlex.join(dockerd_args)} "
            f">{base / 'dockerd.log'} 2>&1 & "
            f"exec /usr/sbin/sshd -D -e -f {base / 'sshd_config'} 2>{base / 'sshd.log'}"
        )
        Path("/run/sshd").mkdir(exist_ok=True)
        process = subprocess.Popen(
            [
                "nsenter",
                f"--net=/run/netns/{name}",
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
            ],
            start_new_session=True,
        )
        _wait_for_engine(process, base, name, socket)
        host_pub = (base / "host_key.pub").read_text().split()
        (base / "known_hosts").write_text(f"{address} {host_pub[0]} {host_pub[1]}\n")
        yield NSHost(name, address, base / "client_key", base / "known_hosts", socket)
    finally:
        env = {**os.environ, "DOCKER_HOST": f"unix://{base}/d.sock"}
        ids = subprocess.run(
            ["docker", "ps", "-aq"], env=env, capture_output=True, text=True, check=False
        ).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], env=env, capture_output=True, check=False)
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 15)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", f"{name}a"], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
