"""A bug's traceback goes to a log file; the user gets one line naming it.

Errors a user can fix are `ShiplineError`s with a message. Anything else is a
bug in shipline (or an unforeseen input): its traceback is useful to whoever
fixes it and noise to whoever hit it, so it is written here, not printed.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path


def directory() -> Path:
    """$SHIPLINE_LOG_DIR, else $XDG_STATE_HOME/shipline/logs, else ~/.local/state/..."""
    if os.environ.get("SHIPLINE_LOG_DIR"):
        return Path(os.environ["SHIPLINE_LOG_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "shipline" / "logs"


def write(exc: BaseException, context: str = "", scrub: Callable[[str], str] = str) -> Path:
    """Write the traceback (through `scrub`, so no secret lands on disk either); returns
    the file. Falls back to the temp dir if need be."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = f"{context}\n" if context else ""
    text += "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for folder in (directory(), Path(tempfile.gettempdir()) / "shipline-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(scrub(text), encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("/dev/null")


def line(exc: BaseException, context: str = "", scrub: Callable[[str], str] = str) -> str:
    """The one line for the user: what broke, and where the traceback is."""
    path = write(exc, context, scrub)
    what = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return f"internal error ({what}); this is a bug in shipline, the traceback is in {path}"
