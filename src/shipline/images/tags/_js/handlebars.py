"""The handlebars subset tag rules use: parse a template once, render it against a scope.

``{{name}}``, ``{{{name}}}``, ``{{&name}}``, helper calls with quoted, numeric and boolean
arguments and ``key=value`` options, comments, ``\\{{`` escapes and ``~`` whitespace
control. ``{{...}}`` output is HTML-escaped as handlebars does. Blocks, partials,
sub-expressions and dotted paths raise an error the caller reports as a TagRuleError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from shipline.images.tags._js.values import (
    _JS_WHITESPACE,
    _EvalError,
    _js_string,
)

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
