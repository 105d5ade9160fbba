"""npm semver's valid() and the SemVer fields patterns render against.

A small exact parser of the SemVer 2.0 grammar as npm ``semver`` applies it (strict for
validity and pre-release detection, optional leading ``v``, the 256 character and
MAX_SAFE_INTEGER limits), written here rather than adding a dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shipline.images.tags._js.values import (
    _MAX_SAFE_INTEGER,
    _js_trim,
)

_SEMVER_NUM: Final = r"0|[1-9][0-9]*"
_SEMVER_ID: Final = rf"(?:[0-9]*[a-zA-Z-][a-zA-Z0-9-]*|{_SEMVER_NUM})"
_SEMVER: Final = re.compile(
    rf"v?({_SEMVER_NUM})\.({_SEMVER_NUM})\.({_SEMVER_NUM})"
    rf"(?:-({_SEMVER_ID}(?:\.{_SEMVER_ID})*))?"
    r"(?:\+([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*))?"
)


@dataclass(frozen=True)
class _SemVer:
    raw: str
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...]
    build: tuple[str, ...]

    @property
    def version(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core

    def scope(self) -> dict[str, object]:
        """The fields of an npm SemVer object, which patterns render against."""
        return {
            "raw": self.raw,
            "version": self.version,
            "major": self.major,
            "minor": self.minor,
            "patch": self.patch,
            "prerelease": list(self.prerelease),
            "build": list(self.build),
            "loose": True,
            "includePrerelease": False,
            "options": "[object Object]",
        }


def _parse_semver(raw: str) -> _SemVer | None:
    """npm semver.valid(): SemVer 2.0 with an optional ``v``, after trimming."""
    if len(raw) > 256:
        return None
    found = _SEMVER.fullmatch(_js_trim(raw))
    if found is None:
        return None
    major, minor, patch = (int(part) for part in found.group(1, 2, 3))
    if max(major, minor, patch) > _MAX_SAFE_INTEGER:
        return None
    pre, build = found.group(4), found.group(5)
    return _SemVer(
        raw,
        major,
        minor,
        patch,
        tuple(pre.split(".")) if pre else (),
        tuple(build.split(".")) if build else (),
    )
