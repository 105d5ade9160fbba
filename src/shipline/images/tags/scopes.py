"""The expressions templates render against (meta.ts): global and schedule scopes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from shipline.images.tags._js.handlebars import _Literal
from shipline.images.tags._js.moment import _date_helper
from shipline.images.tags._js.values import (
    _EvalError,
)
from shipline.images.tags.context import _HEADS, _PULL, _TAGS, GitContext


def _strip_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def _short_sha(ctx: GitContext) -> str:
    return ctx.sha if ctx.short_sha_length >= len(ctx.sha) else ctx.sha[: ctx.short_sha_length]


def _is_default_branch(ctx: GitContext) -> bool:
    branch = _strip_prefix(ctx.ref, _HEADS)
    if not branch:
        return False
    if ctx.default_branch == branch:
        return True
    # These events always run on the default branch's last commit.
    return re.search("create|discussion|issues|schedule", ctx.event_name) is not None


def _global_scope(ctx: GitContext) -> dict[str, object]:
    """metadata-action's global expressions, plus the is_branch extension."""
    if ctx.ref.startswith(_TAGS):
        base_ref = _strip_prefix(ctx.base_ref, _HEADS)
    elif ctx.ref.startswith(_PULL):
        base_ref = ctx.base_ref
    else:
        base_ref = ""
    default = _is_default_branch(ctx)

    def is_branch(params: tuple[_Literal, ...], options: Mapping[str, _Literal]) -> str:
        if not params or options or not all(isinstance(p, str) for p in params):
            raise _EvalError(
                "{{is_branch}} takes quoted branch names, e.g. {{is_branch 'develop'}}"
            )
        on = ctx.ref.startswith(_HEADS) and ctx.ref[len(_HEADS) :] in params
        return "true" if on else "false"

    return {
        "branch": ctx.ref[len(_HEADS) :] if ctx.ref.startswith(_HEADS) else "",
        "tag": ctx.ref[len(_TAGS) :] if ctx.ref.startswith(_TAGS) else "",
        "sha": _short_sha(ctx),
        "base_ref": base_ref,
        "is_default_branch": "true" if default else "false",
        "is_not_default_branch": "false" if default else "true",
        "date": _date_helper(ctx.date, "date"),
        "commit_date": _date_helper(ctx.commit_date or ctx.date, "commit_date"),
        "is_branch": is_branch,
    }


def _schedule_scope(ctx: GitContext) -> dict[str, object]:
    return {
        "date": _date_helper(ctx.date, "date"),
        "commit_date": _date_helper(ctx.commit_date or ctx.date, "commit_date"),
    }


_PROBE: Final = GitContext(
    ref="refs/heads/probe",
    sha="0" * 40,
    event_name="push",
    default_branch="probe",
    date=datetime(2000, 1, 1, tzinfo=UTC),
)
