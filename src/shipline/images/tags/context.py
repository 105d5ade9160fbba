"""What metadata-action reads from the workflow run (context.ts), as plain data.

``{{base_ref}}`` and ``{{commit_date}}`` read GitContext, which ``context_from_env`` fills
from the event payload when given one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from shipline.images.tags._js.values import (
    _js_number,
    _js_string,
)
from shipline.images.tags.errors import TagRuleError

_HEADS: Final = "refs/heads/"
_TAGS: Final = "refs/tags/"
_PULL: Final = "refs/pull/"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class GitContext:
    """What metadata-action reads from the workflow run, as plain data."""

    ref: str
    sha: str
    event_name: str
    default_branch: str
    base_ref: str = ""
    head_ref: str = ""
    repository: str = ""
    date: datetime = field(default_factory=_utcnow)
    commit_date: datetime | None = None
    short_sha_length: int = 7


def _dig(payload: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(payload, Mapping):
            return None
        payload = payload.get(key)
    return payload


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _commit_date(payload: Mapping[str, object], sha: str) -> datetime | None:
    """The pushed commit's date from the payload, where metadata-action looks first."""
    commits = payload.get("commits")
    if isinstance(commits, list):
        for commit in commits:
            if _dig(commit, "id") == sha and (found := _timestamp(_dig(commit, "timestamp"))):
                return found
    if _dig(payload, "head_commit", "id") == sha:
        return _timestamp(_dig(payload, "head_commit", "timestamp"))
    return None


def _short_sha_length(environ: Mapping[str, str]) -> int:
    raw = environ.get("DOCKER_METADATA_SHORT_SHA_LENGTH", "")
    if not raw:
        return 7
    length = _js_number(raw)
    if math.isnan(length):
        raise TagRuleError(f'DOCKER_METADATA_SHORT_SHA_LENGTH is not a number: "{raw}"')
    if math.isinf(length):
        return 0 if length < 0 else 2**31
    return max(0, math.trunc(length))


def context_from_env(
    environ: Mapping[str, str],
    default_branch: str,
    now: datetime,
    *,
    payload: Mapping[str, object] | None = None,
) -> GitContext:
    """Build the context from a GitHub Actions environment.

    SOURCE_DATE_EPOCH, when set, replaces ``now`` so rebuilds get the same date tags.
    ``payload`` (the parsed GITHUB_EVENT_PATH file) adds what only the event holds:
    the pull_request_target ref, DOCKER_METADATA_PR_HEAD_SHA, a tag's base_ref and
    the commit date.
    """
    event = environ.get("GITHUB_EVENT_NAME", "")
    ref = environ.get("GITHUB_REF", "")
    sha = environ.get("GITHUB_SHA", "")
    base_ref = environ.get("GITHUB_BASE_REF", "")
    event_payload: Mapping[str, object] = payload or {}
    if "pull_request_target" in event and event_payload.get("number") is not None:
        ref = f"{_PULL}{_js_string(event_payload['number'])}/merge"
    head_sha = _dig(event_payload, "pull_request", "head", "sha")
    wants_head = re.search("true", environ.get("DOCKER_METADATA_PR_HEAD_SHA", ""), re.IGNORECASE)
    if wants_head and "pull_request" in event and isinstance(head_sha, str):
        sha = head_sha
    if ref.startswith(_TAGS) and isinstance(event_payload.get("base_ref"), str):
        base_ref = str(event_payload["base_ref"])
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            if not re.fullmatch(r"[0-9]+", epoch):
                raise ValueError(epoch)
            moment = datetime.fromtimestamp(int(epoch), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise TagRuleError(
                f'SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, not "{epoch}"'
            ) from None
    else:
        moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return GitContext(
        ref=ref,
        sha=sha,
        event_name=event,
        default_branch=default_branch,
        base_ref=base_ref,
        head_ref=environ.get("GITHUB_HEAD_REF", ""),
        repository=environ.get("GITHUB_REPOSITORY", ""),
        date=moment,
        commit_date=_commit_date(event_payload, sha),
        short_sha_length=_short_sha_length(environ),
    )
