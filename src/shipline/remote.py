"""SSH to the deploy hosts over Fabric, safe by default.

Host keys are checked against known_hosts: an unknown key is refused with its
fingerprint (unless --accept-new-host-key, like OpenSSH's accept-new), a changed
key always. The private key comes from the agent, a file, or a CI secret
variable; secrets reach the host on stdin, never on a command line.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import re
import shlex
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipline import known_hosts
from shipline.errors import ShiplineError, UsageError

KEY_ENV = "SHIPLINE_SSH_KEY"
KNOWN_HOSTS_ENV = known_hosts.ENV


class RemoteError(ShiplineError):
    """SSH could not connect, or lost the connection."""


@dataclass(frozen=True)
class HostSpec:
    user: str
    host: str
    port: int = 22

    @classmethod
    def parse(cls, text: str) -> HostSpec:
        match = re.fullmatch(
            r"([a-z_][a-z0-9_.-]*)@([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d+))?", text.strip()
        )
        if not match or (match.group(3) and not 0 < int(match.group(3)) < 65536):
            raise UsageError(
                f"--host {text!r}: expected user@host or user@host:port, e.g. deploy@app1"
            )
        return cls(match.group(1), match.group(2).strip("[]"), int(match.group(3) or 22))

    def __str__(self) -> str:
        return f"{self.user}@{self.host}" + (f":{self.port}" if self.port != 22 else "")


@dataclass(frozen=True)
class RunResult:
    code: int
    stdout: str
    stderr: str


def fingerprint(key: Any) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _load_pkey(text: str) -> Any:
    import paramiko

    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise UsageError(
        f"{KEY_ENV} does not hold a private key paramiko can read (ed25519, ecdsa, rsa)"
    )


class Remote:
    """One host: run commands, upload files. Nothing here knows what is deployed."""

    def __init__(
        self,
        spec: HostSpec,
        *,
        known_hosts: Path | None = None,
        key_file: Path | None = None,
        accept_new: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.spec = spec
        self.known_hosts = known_hosts or Path.home() / ".ssh" / "known_hosts"
        self.key_file = key_file
        self.accept_new = accept_new
        self.timeout = timeout
        self._conn: Any = None

    def _policy(self) -> Any:
        import paramiko

        remote = self

        class Policy(paramiko.MissingHostKeyPolicy):
            def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
                if not remote.accept_new:
                    raise RemoteError(
                        f"unknown host key for {remote.spec}: {key.get_name()} "
                        f"{fingerprint(key)}; check the fingerprint, then add it to "
                        f"{remote.known_hosts} or pass --accept-new-host-key"
                    )
                client.get_host_keys().add(hostname, key.get_name(), key)
                remote.known_hosts.parent.mkdir(parents=True, exist_ok=True)
                client.save_host_keys(str(remote.known_hosts))

        return Policy()

    def connect(self) -> None:
        import paramiko
        from fabric import Connection

        connect_kwargs: dict[str, Any] = {
            "banner_timeout": self.timeout,
            "auth_timeout": self.timeout,
        }
        if os.environ.get(KEY_ENV):
            connect_kwargs["pkey"] = _load_pkey(os.environ[KEY_ENV])
        elif self.key_file:
            connect_kwargs["key_filename"] = str(self.key_file)
        conn = Connection(
            self.spec.host,
            user=self.spec.user,
            port=self.spec.port,
            connect_kwargs=connect_kwargs,
            connect_timeout=self.timeout,
        )
        client: Any = conn.client
        client.get_host_keys().clear()
        known_hosts.load(client.get_host_keys(), known_hosts.sources(self.known_hosts))
        client.set_missing_host_key_policy(self._policy())
        try:
            conn.open()
        except paramiko.BadHostKeyException as exc:
            raise RemoteError(
                f"host key for {self.spec} has CHANGED: expected {fingerprint(exc.expected_key)}, "
                f"got {fingerprint(exc.key)}; refusing to connect (a new server, or an attack: "
                f"check it, then update {self.known_hosts})"
            ) from None
        except paramiko.AuthenticationException:
            source = KEY_ENV if os.environ.get(KEY_ENV) else self.key_file or "the agent"
            raise RemoteError(
                f"{self.spec} refused the SSH key from {source}; check the key and the "
                "user's authorized_keys"
            ) from None
        except (OSError, paramiko.SSHException) as exc:
            if isinstance(exc, RemoteError):
                raise
            raise RemoteError(f"cannot reach {self.spec} over SSH: {exc}") from None
        # Small request, small answer, one after the other: with Nagle's algorithm on,
        # each command waits out the peer's delayed ACK (40 ms on Linux), the largest
        # part of a command's round trip on a near host.
        with contextlib.suppress(OSError, AttributeError):
            conn.client.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def run(
        self,
        argv: Sequence[str],
        stdin: str | bytes | None = None,
        timeout: float | None = None,
    ) -> RunResult:
        """Run a command given as argv; `stdin` carries secrets so they never touch argv.

        This is the one place a remote command becomes a string: `shlex.join`
        quotes every word, so no value (a version, a path, a service name) is
        ever read by the remote shell as code. Commands that need a shell are
        `sh -c SCRIPT sh ARG...` with the script a constant and values positional.

        A bare channel on Fabric's connection: Fabric's own runner costs ~0.1 s a
        command, and a deploy runs a few dozen.
        """
        import paramiko

        if isinstance(argv, str):  # a plain string would be split into letters below
            raise TypeError("Remote.run takes an argv list, not a string")
        command = shlex.join(argv)
        if self._conn is None:
            self.connect()
        try:
            channel = self._conn.client.get_transport().open_session(timeout=self.timeout)
            channel.exec_command(command)
            if stdin:
                channel.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
            channel.shutdown_write()
            # Outputs here are small and paramiko buffers them as they arrive (up to its
            # window, 2 MB), so waiting for the exit status first cannot deadlock.
            if not channel.status_event.wait(timeout):
                channel.close()
                raise RemoteError(f"{argv[0]} timed out on {self.spec}")
            out, err = bytearray(), bytearray()
            while channel.recv_ready():
                out += channel.recv(65536)
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            code = channel.recv_exit_status()
            channel.close()
        except (OSError, EOFError, AttributeError, paramiko.SSHException) as exc:
            self._conn = None
            raise RemoteError(f"lost the SSH connection to {self.spec}: {exc}") from None
        if code == -1:  # the channel closed without an exit status
            self._conn = None
            raise RemoteError(f"lost the SSH connection to {self.spec} while running a command")
        return RunResult(code, out.decode(errors="replace"), err.decode(errors="replace"))
