"""@renovate/pep440's valid() and clean(), on top of packaging's Version.

``packaging.version.Version`` parses; rendering follows ``@renovate/pep440``, which joins
local segments with commas (``1.0+ubuntu.1`` -> ``1.0+ubuntu,1``).
"""

from __future__ import annotations

import math
import re

from packaging.version import InvalidVersion, Version

from shipline.images.tags._js.values import (
    _js_int_str,
    _js_number,
    _js_number_str,
)


def _parse_pep440(raw: str) -> Version | None:
    """@renovate/pep440's valid(): PEP 440, no surrounding whitespace."""
    if not re.fullmatch(r"[A-Za-z0-9.!+_-]+", raw):
        return None
    try:
        return Version(raw)
    except InvalidVersion:
        return None


def _pep440_local_part(part: str) -> str:
    number = _js_number(part)
    return part.lower() if math.isnan(number) else _js_number_str(number)


def _pep440_clean(version: Version, raw: str) -> str:
    """@renovate/pep440's clean(), which differs from packaging in the local segment."""
    parts = [f"{_js_int_str(version.epoch)}!"] if version.epoch else []
    parts.append(".".join(_js_int_str(part) for part in version.release))
    if version.pre is not None:
        parts.append(f"{version.pre[0]}{_js_int_str(version.pre[1])}")
    if version.post is not None:
        parts.append(f".post{_js_int_str(version.post)}")
    if version.dev is not None:
        parts.append(f".dev{_js_int_str(version.dev)}")
    if version.local is not None:
        local = raw.split("+", 1)[1]
        parts.append("+" + ",".join(_pep440_local_part(p) for p in re.split(r"[._-]", local)))
    return "".join(parts)


def _pep440_scope(version: Version, raw: str) -> dict[str, object]:
    release = version.release
    return {
        "raw": raw,
        "version": _pep440_clean(version, raw),
        "major": release[0],
        "minor": release[1] if len(release) > 1 else 0,
        "patch": release[2] if len(release) > 2 else 0,
    }
