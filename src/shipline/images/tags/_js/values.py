"""JavaScript value semantics: Number(), String(), trim() and csv-parse's reading of a line."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_MAX_SAFE_INTEGER: Final = 2**53 - 1


class _EvalError(Exception):
    """A template or regex failure; callers wrap it in a TagRuleError naming the rule."""


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
