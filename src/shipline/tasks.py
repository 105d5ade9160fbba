"""Invoke tasks; a user's tasks.py is exactly `from shipline.tasks import namespace`."""

from __future__ import annotations

from invoke.collection import Collection

namespace = Collection()
