from __future__ import annotations

from collections.abc import Iterator

import pytest
from support import registry as registry_support
from support.sshhost import SSHHost, ssh_host


@pytest.fixture(scope="module")
def registry() -> Iterator[registry_support.Registry]:
    """A real registry with htpasswd auth on a free loopback port, for one test module."""
    try:
        with registry_support.registry() as running:
            yield running
    except RuntimeError as exc:
        pytest.fail(f"cannot start the registry: {exc}")


@pytest.fixture(scope="module")
def host() -> Iterator[SSHHost]:
    """A real sshd on loopback (key login, pinned host key) deploying onto this engine."""
    try:
        with ssh_host() as running:
            yield running
    except RuntimeError as exc:
        pytest.fail(f"cannot start sshd: {exc}")
