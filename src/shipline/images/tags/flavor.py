"""The flavor input (flavor.ts Transform): the latest policy, prefix and suffix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shipline.images.tags._js.values import (
    _csv_fields,
    _EvalError,
    _input_lines,
    _js_trim,
)
from shipline.images.tags.errors import TagRuleError
from shipline.images.tags.rules import _check_template
from shipline.images.tags.scopes import _PROBE, _global_scope


@dataclass(frozen=True)
class Flavor:
    """The ``flavor`` input: the latest policy and the prefix/suffix every tag gets."""

    latest: Literal["auto", "true", "false"] = "auto"
    prefix: str = ""
    prefix_latest: bool = False
    suffix: str = ""
    suffix_latest: bool = False


def parse_flavor(lines: Sequence[str]) -> Flavor:
    """Parse metadata-action ``flavor`` lines (flavor.ts Transform)."""
    latest: Literal["auto", "true", "false"] = "auto"
    prefix = suffix = ""
    prefix_latest = suffix_latest = False
    for line in _input_lines(lines):
        try:
            fields = _csv_fields(line)
        except _EvalError as exc:
            raise TagRuleError(f'cannot read flavor "{line}": {exc}') from None
        onlatest_for = ""
        for text in fields:
            parts = [_js_trim(part) for part in text.split("=")]
            if len(parts) == 1:
                raise TagRuleError(f'invalid flavor "{line}": "{text}" is not key=value')
            key, value = parts[0].lower(), parts[1]
            if key == "latest":
                if value == "auto":
                    latest = "auto"
                elif value == "true":
                    latest = "true"
                elif value == "false":
                    latest = "false"
                else:
                    raise TagRuleError(
                        f'invalid flavor "{line}": latest must be auto, true or false, '
                        f'not "{value}"'
                    )
            elif key in ("prefix", "suffix"):
                _check_template(value, _global_scope(_PROBE), line, "flavor")
                if key == "prefix":
                    prefix = value
                else:
                    suffix = value
                onlatest_for = key
            elif key == "onlatest":
                if value not in ("true", "false"):
                    raise TagRuleError(f'invalid flavor "{line}": onlatest must be true or false')
                if onlatest_for == "prefix":
                    prefix_latest = value == "true"
                elif onlatest_for == "suffix":
                    suffix_latest = value == "true"
            else:
                raise TagRuleError(
                    f'unknown flavor attribute "{key}" in "{line}"; '
                    "expected latest, prefix, suffix or onlatest"
                )
    return Flavor(latest, prefix, prefix_latest, suffix, suffix_latest)
