"""The one timestamp form of audit lines, lease records and image labels."""

from __future__ import annotations

import datetime as dt
import re

from shipline import clock


def test_stamps_are_utc_to_the_second() -> None:
    moment = dt.datetime(2030, 1, 2, 3, 4, 5, 678, tzinfo=dt.UTC)
    assert clock.stamp(moment) == "2030-01-02T03:04:05Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", clock.now())
