"""The test tree's own rules: pytest imports test modules by basename (no packages)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_module_basenames_are_unique_across_tiers() -> None:
    # Two tiers' test_x.py collide as one module ("import file mismatch") the
    # moment one session collects both, which every tier's session does.
    names = Counter(path.name for path in TESTS.rglob("test_*.py") if ".nox" not in path.parts)
    assert [name for name, count in names.items() if count > 1] == []
