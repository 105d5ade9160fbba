"""Docker image tags computed the way docker/metadata-action computes them.

Users move their metadata-action ``tags`` and ``flavor`` inputs to shipline unchanged
and must get the same tags, so this module follows metadata-action's source
(``src/tag.ts``, ``src/flavor.ts``, ``src/image.ts``, ``src/meta.ts``) rather than its
README, quirks included: rules sort by priority, the first value is the main tag, the
first rule that yields a value decides ``latest=auto``, ``latest`` always comes last,
and every tag is sanitised. ``tests/fixtures/metadata-action-tags.json`` is the oracle.

metadata-action leans on npm packages; their observable behaviour is rebuilt here:

* semver: a small exact parser of the SemVer 2.0 grammar as npm ``semver`` applies it
  (strict for validity and pre-release detection, optional leading ``v``, the 256
  character and MAX_SAFE_INTEGER limits), written here rather than adding a dependency.
* PEP 440: ``packaging.version.Version`` parses; rendering follows ``@renovate/pep440``,
  which joins local segments with commas (``1.0+ubuntu.1`` -> ``1.0+ubuntu,1``).
* handlebars: the subset tag rules use: ``{{name}}``, ``{{{name}}}``, ``{{&name}}``,
  helper calls with quoted, numeric and boolean arguments and ``key=value`` options,
  comments, ``\\{{`` escapes and ``~`` whitespace control. ``{{...}}`` output is
  HTML-escaped as handlebars does. Blocks, partials, sub-expressions and dotted
  paths raise TagRuleError.
* moment: ``{{date 'FORMAT' tz='Zone'}}`` and ``{{commit_date ...}}`` format with
  moment's English-locale tokens, ``[literal]`` text and long formats (``LT``, ``L``...).
  A zone moment-timezone does not know falls back to UTC, the runner's zone.
* JavaScript regular expressions (``type=match`` and ``match=``) are translated to
  ``re``: named groups, ``\\k<name>``, ``$``, ``[^]``, ``[]``, control and identity
  escapes, the ``dgimsuy`` flags, and ASCII ``\\d \\w \\s``.

Differences, all on input that cannot give a useful tag: a non-numeric ``priority``,
an empty ``pattern=`` (semver, pep440, match) or raw ``value=``, a static ``enable=``
other than true/false, and a regex or template that does not compile are rejected
when rules are parsed, where metadata-action ignores them or fails on some events.
``{{base_ref}}`` and ``{{commit_date}}`` read GitContext, which ``context_from_env``
fills from the event payload when given one.

Extension: ``{{is_branch 'NAME' ...}}`` renders ``true`` when the ref is one of the
named branches, else ``false``. metadata-action cannot say "only on branch develop" in
``enable=``, and shipline's DEFAULT_RULES need it; rules using it do not port back.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from packaging.version import InvalidVersion, Version

from shipline.errors import ConfigError

__all__ = [
    "DEFAULT_RULES",
    "Flavor",
    "GitContext",
    "Rule",
    "TagRuleError",
    "compute_tags",
    "context_from_env",
    "image_refs",
    "parse_flavor",
    "parse_rules",
]

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
_HEADS: Final = "refs/heads/"
_TAGS: Final = "refs/tags/"
_PULL: Final = "refs/pull/"
_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_MAX_SAFE_INTEGER: Final = 2**53 - 1


class TagRuleError(ConfigError):
    """A tags, flavor or images line that cannot produce tags; the message names it."""


class _EvalError(Exception):
    """A template or regex failure; callers wrap it in a TagRuleError naming the rule."""


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


@dataclass(frozen=True)
class Flavor:
    """The ``flavor`` input: the latest policy and the prefix/suffix every tag gets."""

    latest: Literal["auto", "true", "false"] = "auto"
    prefix: str = ""
    prefix_latest: bool = False
    suffix: str = ""
    suffix_latest: bool = False


@dataclass(frozen=True)
class Rule:
    """One ``tags`` line with metadata-action's per-type defaults filled in."""

    type: str
    attrs: Mapping[str, str] = field(default_factory=dict, hash=False)
    priority: float = 0.0
    source: str = ""


# --- JavaScript value semantics ---------------------------------------------------------

_JS_DECIMAL: Final = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_JS_RADIX: Final = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")


def _js_trim(text: str) -> str:
    return text.strip(_JS_WHITESPACE)


def _js_number(text: str) -> float:
    """JavaScript's Number(text), as metadata-action applies it to priority and group."""
    text = _js_trim(text)
    if not text:
        return 0.0
    if _JS_DECIMAL.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    if _JS_RADIX.fullmatch(text):
        return _int_to_float(int(text, 0))
    return math.nan


def _int_to_float(number: int) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.inf


def _js_number_str(number: float) -> str:
    """JavaScript's String(number): shortest round-trip digits, exponent past 1e21."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    decimal = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, decimal.digits))
    exponent = decimal.exponent
    assert isinstance(exponent, int)  # noqa: S101 - finite numbers only
    size, point = len(digits), exponent + len(digits)
    if size <= point <= 21:
        body = digits + "0" * (point - size)
    elif 0 < point <= 21:
        body = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        body = "0." + "0" * -point + digits
    else:
        mark = f"e{'+' if point > 0 else '-'}{abs(point - 1)}"
        body = digits + mark if size == 1 else f"{digits[0]}.{digits[1:]}{mark}"
    return ("-" if number < 0 else "") + body


def _js_int_str(number: int) -> str:
    if abs(number) <= _MAX_SAFE_INTEGER:
        return str(number)
    return _js_number_str(_int_to_float(number))


def _js_string(value: object) -> str:
    """How handlebars prints a value: JavaScript's String() of it, nothing for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _js_int_str(value)
    if isinstance(value, float):
        return _js_number_str(value)
    if isinstance(value, list | tuple):
        return ",".join(_js_string(item) for item in value)
    return str(value)


def _strip_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def _sanitize(tag: str) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", tag)


# --- CSV, as csv-parse reads one line ----------------------------------------------------


def _csv_fields(line: str) -> list[str]:
    """The first record of ``line`` as csv-parse (default options) splits it."""
    fields: list[str] = []
    size, pos = len(line), 0
    while True:
        if pos < size and line[pos] == '"':
            pos += 1
            chars: list[str] = []
            while True:
                if pos >= size:
                    raise _EvalError("a quoted field is not closed")
                if line[pos] == '"':
                    if line.startswith('""', pos):
                        chars.append('"')
                        pos += 2
                        continue
                    pos += 1
                    break
                chars.append(line[pos])
                pos += 1
            if pos < size and line[pos] not in ",\r\n":
                raise _EvalError(f"unexpected {line[pos]!r} after a closing quote")
            fields.append("".join(chars))
        else:
            end = pos
            while end < size and line[end] not in ",\r\n":
                if line[end] == '"':
                    raise _EvalError("a quote inside an unquoted field; quote the whole field")
                end += 1
            fields.append(line[pos:end])
            pos = end
        if pos < size and line[pos] == ",":
            pos += 1
            continue
        return fields


def _input_lines(lines: Sequence[str] | str) -> list[str]:
    """Lines as the action's list inputs keep them: trimmed, no blanks, no ``#`` comments."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    kept = [_js_trim(line) for line in lines]
    return [line for line in kept if line and not line.startswith("#")]


# --- handlebars subset -------------------------------------------------------------------

_Literal = str | float | bool | None
_Helper = Callable[[tuple[_Literal, ...], Mapping[str, _Literal]], object]


@dataclass(frozen=True)
class _Mustache:
    name: str
    params: tuple[_Literal, ...]
    options: tuple[tuple[str, _Literal], ...]
    escape: bool


_Node = str | _Mustache

_HB_ID: Final = re.compile(r'[^\s!"#%-,./;->@\[-\^`{-~]+')
_HB_LITERAL_END: Final = r"(?=[~}\s)])"
_HB_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?" + _HB_LITERAL_END)
_HB_KEYWORD: Final = re.compile(r"(?:true|false|undefined|null)" + _HB_LITERAL_END)
_HB_STRINGS: Final = {
    '"': re.compile(r'"((?:\\"|[^"])*)"'),
    "'": re.compile(r"'((?:\\'|[^'])*)'"),
}
_HB_KEYWORDS: Final[dict[str, _Literal]] = {
    "true": True,
    "false": False,
    "undefined": None,
    "null": None,
}
_HB_ESCAPES: Final = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}


def _html_escape(text: str) -> str:
    return re.sub(r"[&<>\"'`=]", lambda m: _HB_ESCAPES[m.group(0)], text)


def _parse_literal(text: str, pos: int) -> tuple[_Literal, int] | None:
    quote = text[pos]
    if quote in _HB_STRINGS:
        found = _HB_STRINGS[quote].match(text, pos)
        if found is None:
            raise _EvalError("a quoted argument is not closed")
        return found.group(1).replace("\\" + quote, quote), found.end()
    found = _HB_NUMBER.match(text, pos)
    if found:
        return float(found.group(0)), found.end()
    found = _HB_KEYWORD.match(text, pos)
    if found:
        return _HB_KEYWORDS[found.group(0)], found.end()
    return None


def _parse_mustache(text: str, start: int) -> tuple[_Mustache | None, int, bool, bool]:
    """One ``{{...}}`` at ``start``: the call (None for a comment), its end, strip flags."""
    pos = start + 2
    strip_left = text.startswith("~", pos)
    pos += strip_left
    if text.startswith("!", pos):
        closer = re.compile(r"--(~?)\}\}" if text.startswith("!--", pos) else r"(~?)\}\}")
        found = closer.search(text, pos)
        if found is None:
            raise _EvalError("a {{! comment is not closed")
        return None, found.end(), strip_left, bool(found.group(1))
    escape, triple = True, False
    if text.startswith("{", pos):
        escape, triple, pos = False, True, pos + 1
    elif text.startswith("&", pos):
        escape, pos = False, pos + 1
    elif pos < len(text) and text[pos] in "#^/>*":
        raise _EvalError(
            f"handlebars blocks and partials ({{{{{text[pos]}...}}}}) are not supported"
        )
    closer = re.compile(r"\s*\}(~?)\}\}" if triple else r"\s*(~?)\}\}")
    name: str | None = None
    params: list[_Literal] = []
    options: list[tuple[str, _Literal]] = []
    while True:
        closed = closer.match(text, pos)
        if closed:
            if name is None:
                raise _EvalError("empty {{}}")
            call = _Mustache(name, tuple(params), tuple(options), escape)
            return call, closed.end(), strip_left, bool(closed.group(1))
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            raise _EvalError("a {{ is not closed with }}")
        literal = _parse_literal(text, pos)
        if literal is not None:
            if name is None:
                raise _EvalError("a {{ must start with a name, not a literal")
            if options:
                raise _EvalError("arguments must come before key=value options")
            params.append(literal[0])
            pos = literal[1]
            continue
        found = _HB_ID.match(text, pos)
        if found is None:
            raise _EvalError(f"unexpected {text[pos]!r} inside {{{{...}}}}")
        word, pos = found.group(0), found.end()
        equals = re.compile(r"\s*=\s*").match(text, pos)
        if equals and name is not None:
            pos = equals.end()
            if pos >= len(text):
                raise _EvalError("a {{ is not closed with }}")
            value = _parse_literal(text, pos)
            if value is None:
                raise _EvalError(f"option {word}= needs a quoted, numeric or boolean value")
            options.append((word, value[0]))
            pos = value[1]
            continue
        if pos < len(text) and text[pos] in "./[(@=":
            raise _EvalError("dotted paths, sub-expressions and @data are not supported")
        if name is not None:
            raise _EvalError(f"argument {word} must be quoted")
        if word == "else":
            raise _EvalError("handlebars blocks ({{else}}) are not supported")
        name = word


@lru_cache(maxsize=1024)
def _parse_template(text: str) -> tuple[_Node, ...]:
    """Parse once; a content node is kept even when whitespace control empties it."""
    nodes: list[_Node] = []
    content, pos, strip_next = "", 0, False
    while True:
        start = text.find("{{", pos)
        if start < 0:
            content += text[pos:]
            break
        if start > 0 and text[start - 1] == "\\":
            if start > 1 and text[start - 2] == "\\":
                content += text[pos : start - 1]
            else:
                content += text[pos : start - 1] + "{{"
                pos = start + 2
                continue
        else:
            content += text[pos:start]
        call, pos, strip_left, strip_right = _parse_mustache(text, start)
        if content:
            if strip_next:
                content = content.lstrip(_JS_WHITESPACE)
            if strip_left:
                content = content.rstrip(_JS_WHITESPACE)
            nodes.append(content)
        nodes.append("" if call is None else call)
        content, strip_next = "", strip_right
    if content:
        nodes.append(content.lstrip(_JS_WHITESPACE) if strip_next else content)
    return tuple(nodes)


def _render(text: str, scope: Mapping[str, object]) -> str:
    """Render ``text`` as handlebars.compile(text)(scope) would."""
    out: list[str] = []
    for node in _parse_template(text):
        if isinstance(node, str):
            out.append(node)
            continue
        if node.name not in scope:
            if node.params or node.options:
                raise _EvalError(f'unknown helper "{node.name}" in "{text}"')
            continue
        value = scope[node.name]
        if callable(value):
            value = value(node.params, dict(node.options))
        printed = _js_string(value)
        out.append(_html_escape(printed) if node.escape else printed)
    return "".join(out)


def _is_raw_statement(pattern: str) -> bool:
    """metadata-action's isRawStatement: the pattern is exactly one ``{{raw}}``."""
    try:
        nodes = _parse_template(pattern)
    except _EvalError:
        return False
    return len(nodes) == 1 and isinstance(nodes[0], _Mustache) and nodes[0].name == "raw"


# --- moment formatting -------------------------------------------------------------------

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_LONG_FORMATS: Final = {
    "LTS": "h:mm:ss A",
    "LT": "h:mm A",
    "L": "MM/DD/YYYY",
    "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A",
    "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY",
    "ll": "MMM D, YYYY",
    "lll": "MMM D, YYYY h:mm A",
    "llll": "ddd, MMM D, YYYY h:mm A",
}
_MOMENT_LONG: Final = re.compile(r"(\[[^\]]*\])|(\\)?(LTS|LT|LL?L?L?|l{1,4})")
_MOMENT_TOKEN: Final = re.compile(
    r"(\[[^\[]*\])|(\\)?([Hh]mm(ss)?|Mo|MM?M?M?|Do|DDDo|DD?D?D?|ddd?d?|do?|w[o|w]?|W[o|W]?"
    r"|Qo?|N{1,5}|YYYYYY|YYYYY|YYYY|YY|y{2,4}|yo?|gg(ggg?)?|GG(GGG?)?|e|E|a|A|hh?|HH?|kk?"
    r"|mm?|ss?|S{1,9}|x|X|zz?|ZZ?|.)"
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _zero_fill(number: int, width: int, force_sign: bool = False) -> str:
    digits = str(abs(number))
    sign = ("+" if force_sign else "") if number >= 0 else "-"
    return sign + "0" * max(0, width - len(digits)) + digits


def _ordinal(number: int) -> str:
    if (number % 100) // 10 == 1:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def _js_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7


def _first_week_offset(year: int, dow: int, doy: int) -> int:
    first = 7 + dow - doy
    return -((7 + _js_weekday(date(year, 1, first)) - dow) % 7) + first - 1


def _weeks_in_year(year: int, dow: int, doy: int) -> int:
    days = 366 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 365
    return (days - _first_week_offset(year, dow, doy) + _first_week_offset(year + 1, dow, doy)) // 7


def _week(moment: datetime, dow: int, doy: int) -> tuple[int, int]:
    """moment's weekOfYear: (week, week-year); ISO is dow=1 doy=4, English dow=0 doy=6."""
    day_of_year = moment.timetuple().tm_yday
    week = (day_of_year - _first_week_offset(moment.year, dow, doy) - 1) // 7 + 1
    if week < 1:
        return week + _weeks_in_year(moment.year - 1, dow, doy), moment.year - 1
    if week > _weeks_in_year(moment.year, dow, doy):
        return week - _weeks_in_year(moment.year, dow, doy), moment.year + 1
    return week, moment.year


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _offset(moment: datetime, separator: str) -> str:
    delta = moment.utcoffset() or timedelta()
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{_zero_fill(minutes // 60, 2)}{separator}{_zero_fill(minutes % 60, 2)}"


def _hour12(moment: datetime) -> int:
    return moment.hour % 12 or 12


_Fmt = Callable[[datetime], str]
_MOMENT_FORMATS: Final[dict[str, _Fmt]] = {
    "M": lambda t: str(t.month),
    "Mo": lambda t: _ordinal(t.month),
    "MM": lambda t: _zero_fill(t.month, 2),
    "MMM": lambda t: _MONTHS[t.month - 1][:3],
    "MMMM": lambda t: _MONTHS[t.month - 1],
    "Q": lambda t: str((t.month + 2) // 3),
    "Qo": lambda t: _ordinal((t.month + 2) // 3),
    "D": lambda t: str(t.day),
    "Do": lambda t: _ordinal(t.day),
    "DD": lambda t: _zero_fill(t.day, 2),
    "DDD": lambda t: str(t.timetuple().tm_yday),
    "DDDo": lambda t: _ordinal(t.timetuple().tm_yday),
    "DDDD": lambda t: _zero_fill(t.timetuple().tm_yday, 3),
    "d": lambda t: str(_js_weekday(t)),
    "do": lambda t: _ordinal(_js_weekday(t)),
    "dd": lambda t: _WEEKDAYS[_js_weekday(t)][:2],
    "ddd": lambda t: _WEEKDAYS[_js_weekday(t)][:3],
    "dddd": lambda t: _WEEKDAYS[_js_weekday(t)],
    "e": lambda t: str(_js_weekday(t)),
    "E": lambda t: str(t.isoweekday()),
    "w": lambda t: str(_week(t, 0, 6)[0]),
    "wo": lambda t: _ordinal(_week(t, 0, 6)[0]),
    "ww": lambda t: _zero_fill(_week(t, 0, 6)[0], 2),
    "W": lambda t: str(_week(t, 1, 4)[0]),
    "Wo": lambda t: _ordinal(_week(t, 1, 4)[0]),
    "WW": lambda t: _zero_fill(_week(t, 1, 4)[0], 2),
    "Y": lambda t: _zero_fill(t.year, 4) if t.year <= 9999 else f"+{t.year}",
    "YY": lambda t: _zero_fill(t.year % 100, 2),
    "YYYY": lambda t: _zero_fill(t.year, 4),
    "YYYYY": lambda t: _zero_fill(t.year, 5),
    "YYYYYY": lambda t: _zero_fill(t.year, 6, force_sign=True),
    "y": lambda t: str(t.year),
    "yo": lambda t: _ordinal(t.year),
    "yy": lambda t: _zero_fill(t.year, 2),
    "yyy": lambda t: _zero_fill(t.year, 3),
    "yyyy": lambda t: _zero_fill(t.year, 4),
    "N": lambda t: "AD",
    "NN": lambda t: "AD",
    "NNN": lambda t: "AD",
    "NNNN": lambda t: "Anno Domini",
    "NNNNN": lambda t: "AD",
    "gg": lambda t: _zero_fill(_week(t, 0, 6)[1] % 100, 2),
    "gggg": lambda t: _zero_fill(_week(t, 0, 6)[1], 4),
    "ggggg": lambda t: _zero_fill(_week(t, 0, 6)[1], 5),
    "GG": lambda t: _zero_fill(_week(t, 1, 4)[1] % 100, 2),
    "GGGG": lambda t: _zero_fill(_week(t, 1, 4)[1], 4),
    "GGGGG": lambda t: _zero_fill(_week(t, 1, 4)[1], 5),
    "a": lambda t: "pm" if t.hour > 11 else "am",
    "A": lambda t: "PM" if t.hour > 11 else "AM",
    "H": lambda t: str(t.hour),
    "HH": lambda t: _zero_fill(t.hour, 2),
    "h": lambda t: str(_hour12(t)),
    "hh": lambda t: _zero_fill(_hour12(t), 2),
    "k": lambda t: str(t.hour or 24),
    "kk": lambda t: _zero_fill(t.hour or 24, 2),
    "hmm": lambda t: f"{_hour12(t)}{_zero_fill(t.minute, 2)}",
    "hmmss": lambda t: f"{_hour12(t)}{_zero_fill(t.minute, 2)}{_zero_fill(t.second, 2)}",
    "Hmm": lambda t: f"{t.hour}{_zero_fill(t.minute, 2)}",
    "Hmmss": lambda t: f"{t.hour}{_zero_fill(t.minute, 2)}{_zero_fill(t.second, 2)}",
    "m": lambda t: str(t.minute),
    "mm": lambda t: _zero_fill(t.minute, 2),
    "s": lambda t: str(t.second),
    "ss": lambda t: _zero_fill(t.second, 2),
    "S": lambda t: str(t.microsecond // 100000),
    "SS": lambda t: _zero_fill(t.microsecond // 10000, 2),
    **{
        "S" * width: (lambda w: lambda t: _zero_fill(t.microsecond // 1000 * 10 ** (w - 3), w))(
            width
        )
        for width in range(3, 10)
    },
    "X": lambda t: str(_millis(t) // 1000),
    "x": lambda t: str(_millis(t)),
    "Z": lambda t: _offset(t, ":"),
    "ZZ": lambda t: _offset(t, ""),
    "z": lambda t: t.tzname() or "",
    "zz": lambda t: t.tzname() or "",
}


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    """moment-timezone's zone lookup (case-insensitive); unknown zones stay in UTC."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    wanted = name.lower()
    for key in available_timezones():
        if key.lower() == wanted:
            return ZoneInfo(key)
    return UTC


def _format_moment(moment: datetime, fmt: str, tz: str) -> str:
    """moment(moment).tz(tz).format(fmt) for the English locale."""
    if not tz:
        raise _EvalError("tz= must name a time zone, e.g. tz='Europe/Paris'")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(_zone(tz))
    if not fmt:
        fmt = (
            "YYYY-MM-DDTHH:mm:ss[Z]" if local.utcoffset() == timedelta() else "YYYY-MM-DDTHH:mm:ssZ"
        )
    for _ in range(5):
        expanded = _MOMENT_LONG.sub(lambda m: _LONG_FORMATS.get(m.group(0), m.group(0)), fmt)
        if expanded == fmt:
            break
        fmt = expanded
    out: list[str] = []
    for found in _MOMENT_TOKEN.finditer(fmt):
        token = found.group(0)
        if token in _MOMENT_FORMATS:
            out.append(_MOMENT_FORMATS[token](local))
        elif re.match(r"\[[\s\S]", token):
            out.append(re.sub(r"^\[|\]$", "", token))
        else:
            out.append(token.replace("\\", ""))
    return "".join(out)


def _date_helper(moment: datetime, name: str) -> _Helper:
    def helper(params: tuple[_Literal, ...], options: Mapping[str, _Literal]) -> str:
        if len(params) != 1 or not isinstance(params[0], str):
            raise _EvalError(
                f"{{{{{name}}}}} takes one quoted format, e.g. {{{{{name} 'YYYYMMDD'}}}}"
            )
        tz = "UTC"
        for key, value in options.items():
            if key != "tz":
                raise _EvalError(f'unknown {name} attribute "{key}"; only tz= is supported')
            tz = _js_string(value)
        return _format_moment(moment, params[0], tz)

    return helper


# --- versions ----------------------------------------------------------------------------

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


# --- JavaScript regular expressions ------------------------------------------------------

_JS_FLAGS: Final = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_JS_KNOWN_ESCAPES: Final = set("dDwWsSnrtfv")


def _translate_js_regex(source: str, multiline: bool) -> str:
    """Rewrite JavaScript regex syntax that Python's re spells differently."""
    out: list[str] = []
    pos, size, in_class = 0, len(source), False
    while pos < size:
        char = source[pos]
        if char == "\\":
            if pos + 1 >= size:
                raise _EvalError("\\ at end of pattern")
            nxt = source[pos + 1]
            named = re.compile(r"k<([A-Za-z_$][\w$]*)>").match(source, pos + 1)
            control = re.compile(r"c[A-Za-z]").match(source, pos + 1)
            hexa = re.compile(r"x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}").match(source, pos + 1)
            if named and not in_class:
                out.append(f"(?P={named.group(1)})")
                pos = named.end()
                continue
            if control:
                out.append(f"\\x{ord(source[pos + 2]) % 32:02x}")
                pos += 3
                continue
            if hexa:
                out.append(source[pos : hexa.end()])
                pos = hexa.end()
                continue
            if nxt == "0" and not source[pos + 2 : pos + 3].isdigit():
                out.append("\\x00")
            elif nxt == "b" and in_class:
                out.append("\\x08")
            elif nxt in _JS_KNOWN_ESCAPES or nxt.isdigit() or (nxt in "bB" and not in_class):
                out.append("\\" + nxt)
            else:
                out.append(re.escape(nxt))
            pos += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append("\\[" if char == "[" else char)
            pos += 1
            continue
        if source.startswith("[^]", pos):
            out.append(r"[\s\S]")
            pos += 3
        elif source.startswith("[]", pos):
            out.append("(?!)")
            pos += 2
        elif char == "[":
            in_class = True
            lead = "[^" if source.startswith("[^", pos) else "["
            out.append(lead)
            pos += len(lead)
        elif source.startswith("(?<", pos) and not source.startswith(("(?<=", "(?<!"), pos):
            out.append("(?P<")
            pos += 3
        elif char == "$" and not multiline:
            out.append(r"\Z")
            pos += 1
        else:
            out.append(char)
            pos += 1
    return "".join(out)


@dataclass(frozen=True)
class _JsRegex:
    regex: re.Pattern[str]
    is_global: bool
    sticky: bool

    def match(self, text: str) -> list[str | None] | None:
        """String.prototype.match: groups of the first match, or every match with g."""
        if not self.is_global:
            found = self.regex.match(text) if self.sticky else self.regex.search(text)
            return None if found is None else [found.group(0), *found.groups()]
        matches: list[str | None] = []
        pos = 0
        while pos <= len(text):
            found = self.regex.match(text, pos) if self.sticky else self.regex.search(text, pos)
            if found is None:
                break
            matches.append(found.group(0))
            pos = found.end() + (found.end() == found.start())
        return matches or None


@lru_cache(maxsize=256)
def _js_regex(source: str, flags: str) -> _JsRegex:
    if len(set(flags)) != len(flags) or set(flags) - set("dgimsuvy") or {"u", "v"} <= set(flags):
        raise _EvalError(f'invalid regular expression flags "{flags}"')
    options = re.ASCII
    for flag in flags:
        options |= _JS_FLAGS.get(flag, 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            regex = re.compile(_translate_js_regex(source, "m" in flags), options)
    except re.error as exc:
        raise _EvalError(f'invalid regular expression "{source}": {exc}') from None
    return _JsRegex(regex, "g" in flags, "y" in flags)


def _match_pattern(pattern: str) -> _JsRegex:
    """type=match's pattern: ``/source/flags`` or a bare source."""
    literal = re.fullmatch(r"/([^\n\r\u2028\u2029]+)/([^\n\r\u2028\u2029]*)", pattern)
    if literal:
        return _js_regex(literal.group(1), literal.group(2))
    return _js_regex(pattern, "")


def _array_item(items: list[str | None], key: str) -> str | None:
    """``items[key]`` with a string key, as JavaScript indexes a match array."""
    if not re.fullmatch(r"0|[1-9][0-9]*", key):
        return None
    index = int(key)
    return items[index] if index < len(items) else None


# --- context scopes ----------------------------------------------------------------------


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


# --- parsing -----------------------------------------------------------------------------

_PROBE: Final = GitContext(
    ref="refs/heads/probe",
    sha="0" * 40,
    event_name="push",
    default_branch="probe",
    date=datetime(2000, 1, 1, tzinfo=UTC),
)
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


# --- computing tags ----------------------------------------------------------------------


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
        if rule.type not in _RULE_TYPES:
            raise _EvalError(f'unknown tag rule type "{rule.type}"')
        if enabled == "true":
            getattr(self, f"_{rule.type}")(rule)

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


def _parse_images(images: Sequence[str]) -> list[tuple[str, bool]]:
    """image.ts Transform: (lowercased name, enabled) per image."""
    lines = _input_lines(images)
    try:
        records = [(line, _csv_fields(line)) for line in lines]
    except _EvalError as exc:
        raise TagRuleError(f"cannot read images: {exc}") from None
    if len(records) == 1 and all("=" not in text for text in records[0][1]):
        # The old format: one line of comma-separated names.
        return [(_js_trim(text).lower(), True) for text in records[0][1]]
    parsed: list[tuple[str, bool]] = []
    for line, fields in records:
        name, enable = "", True
        for text in fields:
            parts = [_js_trim(part) for part in text.split("=")]
            if len(parts) == 1:
                name = parts[0]
            elif parts[0].lower() == "name":
                name = parts[1]
            elif parts[0].lower() == "enable":
                if parts[1] not in ("true", "false"):
                    raise TagRuleError(f'image "{line}": enable must be true or false')
                enable = parts[1] == "true"
            else:
                raise TagRuleError(
                    f'unknown image attribute "{parts[0]}" in "{line}"; expected name or enable'
                )
        if not name:
            raise TagRuleError(f'image "{line}" has no name')
        parsed.append((name.lower(), enable))
    return parsed


def image_refs(images: Sequence[str], tags: Sequence[str]) -> list[str]:
    """``image:tag`` for every enabled image and tag, image by image, as the action lists them.

    With no enabled image the tags come back bare, as metadata-action outputs them.
    """
    names = [name for name, enabled in _parse_images(images) if enabled]
    if not names:
        return list(tags)
    return [f"{name}:{tag}" if name else tag for name in names for tag in tags]


# --- context -----------------------------------------------------------------------------


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
