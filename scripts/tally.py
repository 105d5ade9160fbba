"""The test suite's totals across tiers, read from each tier's JUnit report.

Usage: python scripts/tally.py TIER [TIER ...]  (run from the repository root)

Exits 1 when a tier left no report or any test failed, so a tier that silently
ran nothing cannot pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shipline.reports import junit_counts


def main(tiers: list[str]) -> int:
    totals = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    parts: list[str] = []
    missing: list[str] = []
    for tier in tiers:
        counts = junit_counts(Path("reports", tier, "junit.xml"))
        if counts is None or counts.tests == 0:
            missing.append(tier)
            continue
        totals["passed"] += counts.passed
        totals["failed"] += counts.failures
        totals["errors"] += counts.errors
        totals["skipped"] += counts.skipped
        parts.append(f"{tier} {counts.passed}")
    print(
        f"shipline test suite: {totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['errors']} errors, {totals['skipped']} skipped ({', '.join(parts)})"
    )
    if missing:
        print(f"shipline test suite: no tests ran in: {', '.join(missing)}", file=sys.stderr)
    return 1 if missing or totals["failed"] or totals["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
