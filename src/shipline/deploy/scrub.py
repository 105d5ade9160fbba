"""Secrets out of everything a deploy shows: env-file values and the registry token.

Remote output reaches the user in diagnostics and in error lines (compose quotes a
bad env file's value back, docker echoes what it was given). Every such text
goes through `Scrubber.text` before it is printed or raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MIN_LENGTH = 4
"""Shorter values (`1`, `on`) are left alone: hiding them would garble every number."""


def env_values(text: bytes | None) -> list[str]:
    """Each value of a KEY=VALUE file, as written and with its quotes stripped.

    A value with a missing closing quote (`"hunter2...`) is taken as written too:
    that is exactly the file compose rejects and quotes back.
    """
    values: list[str] = []
    for raw in (text or b"").decode(errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        value = line.split("=", 1)[1].strip()
        for candidate in (value, value.strip("'\""), value[1:], value[:-1]):
            if len(candidate) >= MIN_LENGTH:
                values.append(candidate)
    return values


@dataclass(frozen=True)
class Scrubber:
    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> Scrubber:
        # Longest first, so a secret containing another is replaced whole.
        unique = {v for v in values if len(v) >= MIN_LENGTH}
        return cls(tuple(sorted(unique, key=len, reverse=True)))

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, "***")
        return value
