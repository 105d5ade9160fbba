"""Time as shipline writes it down: UTC, to the second, ISO 8601 with a `Z`.

Deploy audit lines, lease records and the image's `created` label all use this
one form, so what a reader compares or sorts across them lines up.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

STAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


def stamp(moment: dt.datetime) -> str:
    """A moment, given in UTC, as shipline writes it (no conversion: the `Z` is a promise)."""
    return moment.strftime(STAMP_FORMAT)


def now() -> str:
    """The current moment, stamped."""
    return stamp(dt.datetime.now(dt.UTC))
