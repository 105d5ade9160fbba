"""Computing tags (meta.ts getVersion): rules fold into main, partial and latest.

Quirks included: rules sort by priority, the first value is the main tag, the first rule
that yields a value decides ``latest=auto``, ``latest`` always comes last, and every tag
is sanitised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from shipline.images.tags._js.handlebars import _is_raw_statement, _render
from shipline.images.tags._js.pep440 import _parse_pep440, _pep440_clean, _pep440_scope
from shipline.images.tags._js.regex import _array_item, _js_regex, _match_pattern
from shipline.images.tags._js.semver import _parse_semver
from shipline.images.tags._js.values import (
    _EvalError,
)
from shipline.images.tags.context import _HEADS, _PULL, _TAGS, GitContext
from shipline.images.tags.errors import TagRuleError
from shipline.images.tags.flavor import Flavor
from shipline.images.tags.rules import _ACTION_DEFAULT_RULES, Rule, parse_rules
from shipline.images.tags.scopes import _global_scope, _schedule_scope, _short_sha


def _sanitize(tag: str) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", tag)


class _Run:
    """metadata-action's Meta.getVersion: rules fold into main, partial and latest."""

    def __init__(self, flavor: Flavor, ctx: GitContext) -> None:
        self.flavor = flavor
        self.ctx = ctx
        self.scope = _global_scope(ctx)
        self.main: str | None = None
        self.partial: list[str] = []
        self.latest: bool | None = None

    def exp(self, text: str) -> str:
        return _render(text, self.scope)

    def auto(self, rule_default: bool) -> bool:
        return rule_default if self.flavor.latest == "auto" else self.flavor.latest == "true"

    def decorate(self, value: str, rule: Rule) -> str:
        """setValue: the rule's own prefix/suffix win over the flavor's, even when empty."""
        if "prefix" in rule.attrs:
            value = self.exp(rule.attrs["prefix"]) + value
        elif self.flavor.prefix:
            value = self.exp(self.flavor.prefix) + value
        if "suffix" in rule.attrs:
            value += self.exp(rule.attrs["suffix"])
        elif self.flavor.suffix:
            value += self.exp(self.flavor.suffix)
        return value

    def add(self, value: str, rule: Rule, rule_latest: bool) -> None:
        value = self.decorate(value, rule)
        if not value:
            return
        value = _sanitize(value)
        if self.main is None:
            self.main = value
        elif value != self.main:
            self.partial.append(value)
        if self.latest is None:
            self.latest = self.auto(rule_latest)

    def apply(self, rule: Rule) -> None:
        enabled = self.exp(rule.attrs.get("enable", "true"))
        if enabled not in ("true", "false"):
            raise _EvalError(f'enable= gave "{enabled}"; expected true or false')
        handler = _RULE_HANDLERS.get(rule.type)
        if handler is None:
            raise _EvalError(f'unknown tag rule type "{rule.type}"')
        if enabled == "true":
            handler(self, rule)

    def _schedule(self, rule: Rule) -> None:
        if re.search("schedule", self.ctx.event_name):
            self.add(_render(rule.attrs["pattern"], _schedule_scope(self.ctx)), rule, False)

    def _version_input(self, rule: Rule, slashes: bool) -> str | None:
        """The string semver/pep440/match read: ``value=``, else the pushed tag."""
        value = rule.attrs.get("value", "")
        if not value and not self.ctx.ref.startswith(_TAGS):
            return None
        raw = self.exp(value) if value else self.ctx.ref[len(_TAGS) :]
        if not slashes:
            return raw
        match = rule.attrs.get("match", "")
        if match:
            found = _js_regex(match, "").match(raw)
            if found is not None:
                if len(found) < 2 or found[1] is None:
                    raise _EvalError(f'match= "{match}" has no group 1 in "{raw}"')
                raw = found[1]
        return raw.replace("/", "-")

    def _semver(self, rule: Rule) -> None:
        raw = self._version_input(rule, slashes=True)
        version = None if raw is None else _parse_semver(raw)
        if version is None:
            return
        pattern = rule.attrs["pattern"]
        if version.prerelease:
            shown = pattern if _is_raw_statement(pattern) else "{{version}}"
            self.add(_render(shown, version.scope()), rule, False)
        else:
            self.add(_render(pattern, version.scope()), rule, True)

    def _pep440(self, rule: Rule) -> None:
        raw = self._version_input(rule, slashes=True)
        version = None if raw is None else _parse_pep440(raw)
        if raw is None or version is None:
            return
        pattern = rule.attrs["pattern"]
        if version.pre is not None or version.post is not None or version.dev is not None:
            shown = raw if _is_raw_statement(pattern) else _pep440_clean(version, raw)
            self.add(shown, rule, False)
        else:
            self.add(_render(pattern, _pep440_scope(version, raw)), rule, True)

    def _match(self, rule: Rule) -> None:
        raw = self._version_input(rule, slashes=False)
        found = None if raw is None else _match_pattern(rule.attrs["pattern"]).match(raw)
        group = None if found is None else _array_item(found, rule.attrs.get("group", "0"))
        if group is not None:
            self.add(group, rule, True)

    def _edge(self, rule: Rule) -> None:
        if self.ctx.ref.startswith(_HEADS):
            branch = rule.attrs.get("branch") or self.ctx.default_branch
            if branch == self.ctx.ref[len(_HEADS) :]:
                self.add("edge", rule, False)

    def _ref(self, rule: Rule) -> None:
        event, ref = rule.attrs.get("event"), self.ctx.ref
        if event == "branch" and ref.startswith(_HEADS):
            self.add(ref[len(_HEADS) :], rule, False)
        elif event == "tag" and ref.startswith(_TAGS):
            self.add(ref[len(_TAGS) :], rule, True)
        elif event == "pr" and ref.startswith(_PULL):
            self.add(re.sub(r"/merge$", "", ref[len(_PULL) :]), rule, False)

    def _raw(self, rule: Rule) -> None:
        self.add(self.exp(rule.attrs.get("value", "")), rule, False)

    def _sha(self, rule: Rule) -> None:
        if self.ctx.sha:
            long = rule.attrs.get("format") == "long"
            self.add(self.ctx.sha if long else _short_sha(self.ctx), rule, False)


# Every rule type tag.ts knows (rules._RULE_TYPES), to the method that applies it.
_RULE_HANDLERS: Final[Mapping[str, Callable[[_Run, Rule], None]]] = {
    "schedule": _Run._schedule,
    "semver": _Run._semver,
    "pep440": _Run._pep440,
    "match": _Run._match,
    "edge": _Run._edge,
    "ref": _Run._ref,
    "raw": _Run._raw,
    "sha": _Run._sha,
}


def compute_tags(rules: Sequence[Rule] | None, flavor: Flavor, ctx: GitContext) -> list[str]:
    """The tag names metadata-action outputs for one image, in its order.

    No rules means metadata-action's defaults (schedule, branch, tag and pull request).
    """
    chosen = list(rules) if rules else parse_rules(_ACTION_DEFAULT_RULES)
    run = _Run(flavor, ctx)
    for rule in sorted(chosen, key=lambda r: -r.priority):
        try:
            run.apply(rule)
        except _EvalError as exc:
            raise TagRuleError(f'tag rule "{rule.source}": {exc}') from None
    if not run.main:
        return []
    tags = [run.main, *dict.fromkeys(run.partial)]
    if run.latest:
        prefix = flavor.prefix if flavor.prefix_latest else ""
        suffix = flavor.suffix if flavor.suffix_latest else ""
        tags.append(_sanitize(f"{prefix}latest{suffix}"))
    return tags
