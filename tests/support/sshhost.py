"""A real OpenSSH server on a loopback port, with its own host key and one client key."""

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

from support.postgres import free_port


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
        subprocess.run(["pkill", "-f", f"sshd: root@.*{self.base.name}|sshd-session"], check=False)
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
    )
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
