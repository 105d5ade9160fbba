"""known_hosts for the deploy's SSH: OpenSSH's file and the CI variable, read strictly.

Host keys are read line by line here, not by paramiko's own load, so that a
mangled line (a CI secret pasted wrong, a corrupt file) is one error naming its
line, before any connection, rather than a traceback or a silently skipped key
followed by a misleading "unknown host key".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shipline.errors import UsageError

ENV = "SHIPLINE_KNOWN_HOSTS"


def sources(where: Path) -> list[tuple[str, str, str]]:
    """(origin, text, how to fix it): the variable first (its keys win), then the file."""
    sources: list[tuple[str, str, str]] = []
    if os.environ.get(ENV):  # first: its keys win over the file's
        fix = f"fix the {ENV} variable (or the secret it comes from)"
        sources.append((ENV, os.environ[ENV], fix))
    name = str(where) if str(where).isprintable() else repr(str(where))
    fix = "point --known-hosts at an OpenSSH known_hosts file, or remove it"
    try:
        if where.is_file():
            sources.append((name, where.read_bytes().decode(), "fix the file"))
        elif where.exists():
            raise UsageError(f"{name}: not a known_hosts file but a directory; {fix}")
    except UnicodeDecodeError:
        raise UsageError(f"{name}: not a known_hosts file (not text); {fix}") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot be read ({exc.strerror}); {fix}") from None
    return sources


def load(keys: Any, found: list[tuple[str, str, str]]) -> None:
    """Add every usable key to paramiko's HostKeys; refuse a line that cannot be one."""
    import paramiko

    for origin, text, fix in found:
        for number, raw in enumerate(text.splitlines(), 1):
            line = " ".join(raw.split())  # OpenSSH allows runs of blanks, paramiko not
            fields = line.split(" ")
            if not line or line.startswith("#") or fields[0] == "@cert-authority":
                continue  # paramiko cannot check certificates: such hosts stay unknown
            if line.startswith("@"):
                raise UsageError(
                    f"{origin} line {number}: paramiko cannot honour {fields[0]!r} "
                    f"entries; {fix}: drop the line, and the key it names from the others"
                )
            try:
                entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
                problem = "not 'host key-type base64-key'" if len(fields) < 3 else ""
            except (
                paramiko.hostkeys.InvalidHostKey,
                paramiko.SSHException,
                ValueError,  # a short RSA modulus, undecodable UTF-8
                ArithmeticError,  # an RSA key with a negative field
                IndexError,
            ):
                entry, problem = None, "the key does not decode"
            if entry is None and not problem and origin == ENV:
                problem = f"key type {fields[1]!r} is not one paramiko can check"
            if problem:
                raise UsageError(
                    f"{origin} line {number}: {problem}; {fix}, using lines as "
                    "`ssh-keyscan -t ed25519 HOST` prints them"
                )
            if entry is None:
                continue  # a key type paramiko cannot check, in the user's own file
            for name in entry.hostnames:
                known = keys.lookup(name)
                if known is None or entry.key.get_name() not in known:  # first one wins
                    keys.add(name, entry.key.get_name(), entry.key)
