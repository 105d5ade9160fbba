"""The one place a task's errors become one line and an exit status."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from invoke.exceptions import Exit

from shipline import crashlog
from shipline.errors import ShiplineError


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Every error a user can fix ends the task with one line and its exit status."""
    try:
        yield
    except ShiplineError as exc:
        raise Exit(f"shipline: error: {exc}", code=exc.exit_code) from None
    except Exit:
        raise
    except BrokenPipeError:  # `invoke deploy --dry-run | head`: the reader left, not a bug
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise Exit(code=1) from None
    except Exception as exc:
        raise Exit(f"shipline: error: {crashlog.line(exc)}", code=1) from None
