"""The nox shipline needs, read from shipline's own metadata.

pyproject.toml's `nox[uv]>=...` dependency is the one source: the noxfile init
renders writes it as `nox.needs_version` (nox reads that literal from the file
before running it, so an old nox stops with its own clear message), and
`register()` checks it again for noxfiles written by hand.
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement
from packaging.version import Version

from shipline.errors import UsageError

FALLBACK = ">=2025.2.9"
"""Used only when shipline runs from a checkout with no installed metadata."""


def needs() -> str:
    """The version specifier shipline's metadata gives nox, e.g. `>=2025.2.9`."""
    try:
        requires = metadata.requires("shipline") or []
    except metadata.PackageNotFoundError:
        return FALLBACK
    for line in requires:
        requirement = Requirement(line)
        if requirement.name == "nox" and requirement.marker is None:
            return str(requirement.specifier)
    return FALLBACK


def check(version: str) -> None:
    """A one-line error when the running nox is older than shipline needs."""
    wanted = Requirement(f"nox{needs()}").specifier
    if not wanted.contains(Version(version), prereleases=True):
        raise UsageError(
            f"shipline needs nox{wanted}, this is nox {version}; "
            f'upgrade it (pip install -U "nox[uv]{wanted}") or run `uvx nox`'
        )
