"""JavaScript regular expressions translated to ``re``, and String.prototype.match.

Used by ``type=match`` and ``match=``: named groups, ``\\k<name>``, ``$``, ``[^]``, ``[]``,
control and identity escapes, the ``dgimsuy`` flags, and ASCII ``\\d \\w \\s``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from shipline.images.tags._js.values import (
    _EvalError,
)

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
