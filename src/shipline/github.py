"""What shipline tells GitHub Actions: outputs, the step summary, and whether it runs there.

The one writer of `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`; outside Actions
(the variables unset) every writer does nothing. Standard library only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return environ if environ is not None else os.environ


def in_actions(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job."""
    return _env(environ).get("GITHUB_ACTIONS") == "true"


def _delimiter(value: str) -> str:
    """A random delimiter that occurs nowhere in the value."""
    while True:
        delimiter = f"SHIPLINE_{secrets.token_hex(16)}"
        if delimiter not in value:
            return delimiter


def write_outputs(values: Mapping[str, str], environ: Mapping[str, str] | None = None) -> None:
    """Append step outputs in GitHub's multiline-safe form, `key<<DELIMITER`, one per value."""
    path = _env(environ).get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            delimiter = _delimiter(value)
            handle.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(markdown: str, environ: Mapping[str, str] | None = None) -> None:
    """Append Markdown to the job's step summary."""
    path = _env(environ).get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown)


def warning(title: str, message: str, environ: Mapping[str, str] | None = None) -> None:
    """A warning annotation on the run (no file): what an advisory check found."""
    if not in_actions(environ):
        return
    escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    name = title.replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    print(f"::warning title={name}::{escaped}", flush=True)
