"""The value parsers of `[tool.shipline]` and the table reader that reports unknown keys.

A parser takes (key path, TOML value) and returns the value or raises a ConfigError
naming the key and the expected form: the path is what the user reads, so every
message starts with it. Standard library only (the pytest plugin imports config).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from shipline.errors import ConfigError

T = TypeVar("T")

Parse = Callable[[str, object], T]
"""parse(key path, TOML value) -> value, or a ConfigError naming the key."""

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def show(value: object) -> str:
    """Render a TOML value the way the user wrote it, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, default=str)


class Table:
    """One TOML table being read; remembers which keys were used to report the rest."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a table, got {show(data)}")
        self.data: dict[str, Any] = data
        self.path = path
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str, default: T, parse: Parse[T]) -> T:
        self.used.add(key)
        if key not in self.data:
            return default
        return parse(self.key(key), self.data[key])

    def sub(self, key: str) -> Table:
        self.used.add(key)
        return Table(self.data.get(key, {}), self.key(key))

    def done(self) -> None:
        """Fail on the first key nobody read: a typo must not be silently ignored."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            name = unknown[0]
            known = sorted(self.used)
            close = difflib.get_close_matches(name, known, n=1)
            hint = (
                f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(known)}"
            )
            raise ConfigError(f"{self.key(name)}: unknown key; {hint}")


def string(choices: Iterable[str] | None = None) -> Parse[str]:
    """A non-empty string, or one of `choices`."""
    options = tuple(choices) if choices is not None else None

    def parse(path: str, value: object) -> str:
        if options is not None:
            if value not in options:
                raise ConfigError(
                    f"{path}: expected one of {', '.join(options)}, got {show(value)}"
                )
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: expected a non-empty string, got {show(value)}")
        return value

    return parse


def strings(path: str, value: object) -> tuple[str, ...]:
    """A list of non-empty strings; a lone string is a list of one."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}: expected a list of strings, got {show(value)}")
    return tuple(value)


def boolean(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {show(value)}")
    return value


def percent(path: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ConfigError(f"{path}: expected a number from 0 to 100, got {show(value)}")
    return float(value)


def count(path: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{path}: expected a whole number of 0 or more, got {show(value)}")
    return value


def positive(path: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{path}: expected a whole number of 1 or more, got {show(value)}")
    return value


def workers(path: str, value: object) -> str:
    """pytest-xdist's -n: "auto", "logical" or a count, kept as the string -n takes."""
    if value in ("auto", "logical"):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f'{path}: expected "auto", "logical" or a whole number of 0 or more '
            f"(0 turns xdist off), got {show(value)}"
        )
    return str(value)


def python(path: str, value: object) -> tuple[str, ...]:
    versions = strings(path, value)
    for version in versions:
        if not re.fullmatch(r"3\.\d+|pypy3\.\d+", version):
            raise ConfigError(f'{path}: expected versions like "3.12", got {show(version)}')
    return versions


def backend(path: str, value: object) -> str:
    """A nox venv backend, or several joined by `|` (nox takes the first available)."""
    allowed = {"uv", "virtualenv", "venv", "conda", "mamba", "micromamba", "none"}
    if not isinstance(value, str) or not all(p in allowed for p in value.split("|")):
        raise ConfigError(
            f'{path}: expected a nox backend such as "uv|virtualenv", "uv" or "virtualenv", '
            f"got {show(value)}"
        )
    return value


def env(path: str, value: object) -> Mapping[str, str]:
    """A table of variables; numbers are taken as the strings the environment holds."""
    if not isinstance(value, dict):
        raise ConfigError(f'{path}: expected a table of NAME = "value", got {show(value)}')
    found: dict[str, str] = {}
    for name, item in value.items():
        if not NAME.fullmatch(name):
            raise ConfigError(f"{path}.{name}: expected an environment variable name")
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ConfigError(f"{path}.{name}: expected a string, got {show(item)}")
        found[name] = str(item)
    return MappingProxyType(found)


def env_name(path: str, value: object) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise ConfigError(f"{path}: expected an environment variable name, got {show(value)}")
    return value


def marker(path: str, value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value):
        raise ConfigError(
            f'{path}: expected a marker name such as "integration", got {show(value)}'
        )
    return value


def date(path: str, value: object) -> dt.date:
    """A TOML date (or datetime, or ISO string): the day an audit ignore expires."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{path}: expected a date like 2027-01-31, got {show(value)}")
