"""tags lines (tag.ts Parse): rule types, defaults, and checks made when rules are parsed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from packaging.version import Version

from shipline.images.tags._js.handlebars import _render
from shipline.images.tags._js.pep440 import _pep440_scope
from shipline.images.tags._js.regex import _js_regex, _match_pattern
from shipline.images.tags._js.semver import _SemVer
from shipline.images.tags._js.values import (
    _csv_fields,
    _EvalError,
    _input_lines,
    _js_number,
    _js_trim,
)
from shipline.images.tags.errors import TagRuleError
from shipline.images.tags.scopes import _PROBE, _global_scope, _schedule_scope

DEFAULT_RULES: Final[tuple[str, ...]] = (
    # A release tag v1.2.3 gives v1.2.3, 1.2.3, 1.2, 1, stable (and latest, which
    # metadata-action always puts last); a pre-release semver always renders as its
    # own version, so v2.0.0-rc.1 gives only v2.0.0-rc.1 and 2.0.0-rc.1, and as the
    # first value it sets latest=auto to false.
    "type=semver,pattern={{raw}}",
    "type=semver,pattern={{version}}",
    "type=semver,pattern={{major}}.{{minor}}",
    "type=semver,pattern={{major}}",
    "type=semver,pattern=stable",
    # Branch develop gives develop, dev-YYYYMMDD-HHMMSS and dev-<sha7>.
    "type=raw,value=develop,enable={{is_branch 'develop'}}",
    "type=raw,value=dev-{{date 'YYYYMMDD-HHmmss'}},enable={{is_branch 'develop'}}",
    "type=sha,prefix=dev-,enable={{is_branch 'develop'}}",
    # The default branch gives its name and sha-<sha7>: an immutable tag to deploy.
    "type=ref,event=branch,enable={{is_default_branch}}",
    "type=sha,enable={{is_default_branch}}",
)
"""shipline's own scheme, used when a project configures no tag rules."""

_ACTION_DEFAULT_RULES: Final = (
    "type=schedule",
    "type=ref,event=branch",
    "type=ref,event=tag",
    "type=ref,event=pr",
)
_RULE_TYPES: Final = ("schedule", "semver", "pep440", "match", "edge", "ref", "raw", "sha")
_DEFAULT_PRIORITIES: Final = {
    "schedule": 1000,
    "semver": 900,
    "pep440": 900,
    "match": 800,
    "edge": 700,
    "ref": 600,
    "raw": 200,
    "sha": 100,
}
_REF_EVENTS: Final = ("branch", "tag", "pr")


@dataclass(frozen=True)
class Rule:
    """One ``tags`` line with metadata-action's per-type defaults filled in."""

    type: str
    attrs: Mapping[str, str] = field(default_factory=dict, hash=False)
    priority: float = 0.0
    source: str = ""


_PROBE_SEMVER: Final = _SemVer("v1.2.3", 1, 2, 3, (), ())
_PROBE_PEP440: Final = Version("1.2.3")


def _check_template(text: str, scope: Mapping[str, object], line: str, what: str) -> str:
    try:
        return _render(text, scope)
    except _EvalError as exc:
        raise TagRuleError(f'{what} "{line}": {exc}') from None


def _require(attrs: dict[str, str], key: str, line: str, example: str) -> None:
    if key not in attrs:
        raise TagRuleError(f'tag rule "{line}" needs a {key}= attribute, e.g. {example}')
    if not attrs[key]:
        raise TagRuleError(f'tag rule "{line}" has an empty {key}=; expected e.g. {example}')


def _split_attr(text: str) -> tuple[str | None, str]:
    """A field's key and value, split on its first ``=``; no key makes it the value."""
    equals = text.find("=")
    if equals <= 0:
        return None, _js_trim(text)
    return _js_trim(text[:equals]).lower(), _js_trim(text[equals + 1 :])


def _parse_rule(line: str) -> Rule:
    try:
        fields = _csv_fields(line)
    except _EvalError as exc:
        raise TagRuleError(f'cannot read tag rule "{line}": {exc}') from None
    rule_type = "raw"
    attrs: dict[str, str] = {}
    for text in fields:
        key, value = _split_attr(text)
        if key is None:
            attrs["value"] = value
        elif key == "type":
            if value not in _RULE_TYPES:
                raise TagRuleError(
                    f'unknown tag rule type "{value}" in "{line}"; '
                    f"expected one of: {', '.join(_RULE_TYPES)}"
                )
            rule_type = value
        else:
            attrs[key] = value
    _complete(rule_type, attrs, line)
    if "priority" in attrs:
        priority = _js_number(attrs["priority"])
        if math.isnan(priority):
            raise TagRuleError(
                f'invalid priority "{attrs["priority"]}" in tag rule "{line}"; expected a number'
            )
    else:
        priority = _DEFAULT_PRIORITIES[rule_type]
        attrs["priority"] = str(priority)
    _probe(rule_type, attrs, line)
    return Rule(rule_type, attrs, priority, line)


def _complete(rule_type: str, attrs: dict[str, str], line: str) -> None:
    """Fill in and check attributes per type, as tag.ts Parse does."""
    if rule_type == "schedule":
        attrs.setdefault("pattern", "nightly")
    elif rule_type in ("semver", "pep440"):
        _require(attrs, "pattern", line, "pattern={{version}}")
        attrs.setdefault("value", "")
        attrs.setdefault("match", "")
    elif rule_type == "match":
        _require(attrs, "pattern", line, "pattern=v(.*)")
        attrs.setdefault("group", "0")
        if math.isnan(_js_number(attrs["group"])):
            raise TagRuleError(
                f'invalid group "{attrs["group"]}" in tag rule "{line}"; expected a group number'
            )
        attrs.setdefault("value", "")
    elif rule_type == "edge":
        attrs.setdefault("branch", "")
    elif rule_type == "ref":
        if attrs.get("event") not in _REF_EVENTS:
            got = f'event "{attrs["event"]}"' if "event" in attrs else "no event="
            raise TagRuleError(
                f'tag rule "{line}" has {got}; expected event=branch, event=tag or event=pr'
            )
        if attrs["event"] == "pr":
            attrs.setdefault("prefix", "pr-")
    elif rule_type == "raw":
        _require(attrs, "value", line, "type=raw,value=edge")
    elif rule_type == "sha":
        attrs.setdefault("prefix", "sha-")
        attrs.setdefault("format", "short")
        if attrs["format"] not in ("short", "long"):
            raise TagRuleError(
                f'invalid format "{attrs["format"]}" in tag rule "{line}"; expected short or long'
            )
    attrs.setdefault("enable", "true")


def _probe(rule_type: str, attrs: dict[str, str], line: str) -> None:
    """Render templates and compile regexes now, so a broken rule fails on every event."""
    scope = _global_scope(_PROBE)
    what = "tag rule"
    for key in ("value", "prefix", "suffix", "enable"):
        if key in attrs and (key != "value" or rule_type in ("raw", "semver", "pep440", "match")):
            rendered = _check_template(attrs[key], scope, line, what)
            if key == "enable" and "{{" not in attrs[key] and rendered not in ("true", "false"):
                raise TagRuleError(
                    f'tag rule "{line}" has enable={rendered}; expected true or false'
                )
    pattern = attrs.get("pattern", "")
    if rule_type == "schedule":
        _check_template(pattern, _schedule_scope(_PROBE), line, what)
    elif rule_type == "semver":
        _check_template(pattern, _PROBE_SEMVER.scope(), line, what)
    elif rule_type == "pep440":
        _check_template(pattern, _pep440_scope(_PROBE_PEP440, "1.2.3"), line, what)
    try:
        if rule_type == "match":
            _match_pattern(pattern)
        elif (
            rule_type in ("semver", "pep440")
            and attrs["match"]
            and _js_regex(attrs["match"], "").regex.groups < 1
        ):
            raise _EvalError(f'match= "{attrs["match"]}" needs a capture group')
    except _EvalError as exc:
        raise TagRuleError(f'tag rule "{line}": {exc}') from None


def parse_rules(lines: Sequence[str]) -> list[Rule]:
    """Parse metadata-action ``tags`` lines; blank and ``#`` lines are skipped as it does."""
    return [_parse_rule(line) for line in _input_lines(lines)]
