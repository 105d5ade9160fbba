"""A throwaway SSH host on loopback: its own sshd, host key and client key.

Deploys reach it exactly as a real host (a verified host key, a key login, root), so
the deploy tests and the demo (demo/pipeline.py) run shipline's real SSH path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.sandbox import free_port


def children(pid: int) -> list[int]:
    """The PIDs whose parent is `pid`, read from /proc: by parent PID, never by name."""
    found: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


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
        # name or a pattern, which could match the machine's own SSH sessions.
        for pid in children(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)


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
