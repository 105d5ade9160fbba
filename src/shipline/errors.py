"""Errors that end a command with one clear line instead of a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

USAGE_EXIT = 2
"""Exit status for usage and configuration errors, as argparse and invoke use."""


class ShiplineError(Exception):
    """An error the user can fix; its message is the whole report."""

    exit_code = 1


class ConfigError(ShiplineError):
    """Bad `[tool.shipline]` configuration or a malformed pyproject.toml."""

    exit_code = USAGE_EXIT


class UsageError(ShiplineError):
    """A command was called with arguments that cannot work."""

    exit_code = USAGE_EXIT


def fail(error: ShiplineError) -> NoReturn:
    """Print the error as one line on stderr and exit with its status."""
    print(f"shipline: error: {error}", file=sys.stderr)
    raise SystemExit(error.exit_code)
