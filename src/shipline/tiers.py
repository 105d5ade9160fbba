"""The test tiers and the reports shipline's sessions write: the names every part agrees on.

The catalogue builds its commands from these paths, and the sessions, the
action outputs and the job summary read the same paths back, so a renamed
report cannot leave one of them looking in the old place. The pytest plugin
imports this module in every test environment, before coverage starts, so it
depends on the standard library only and holds names, not configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Final

SESSIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "smoke": "the smoke tier: fastest checks that the app starts and answers",
        "unit": "the unit tier, with the coverage gate; unmarked tests land here",
        "integration": "the integration tier: real services, real I/O",
        "database": "the database tier, after the migration check when configured",
        "e2e": "the end-to-end tier: the whole app from outside",
    }
)
"""The tiers with a session of their own, in the catalogue's order, and what each runs.

The catalogue makes one check per entry, so no tier can lack its session.
"""

SESSION_TIERS: Final[tuple[str, ...]] = tuple(SESSIONS)

SECURITY: Final = "security"
"""The tier with no session of its own: its tests run inside the security check."""

TIERS: Final[tuple[str, ...]] = (*SESSION_TIERS, SECURITY)
"""Every test tier, as `--tier` and `[tool.shipline.tiers.*]` accept them."""

DEFAULT_TIER: Final = "unit"
"""Where unmarked tests land unless the project says otherwise, and the test action's default."""

OPTIONAL_IF_ABSENT: Final[tuple[str, ...]] = tuple(
    tier for tier in TIERS if tier not in ("smoke", DEFAULT_TIER)
)
"""Tiers init marks optional when the project has no directory for them yet.

Smoke is never among them (init writes a starter smoke test), nor the default
tier (every unmarked test counts for it).
"""


@dataclass(frozen=True)
class TierReports:
    """What a tier's pytest run writes: JUnit XML for the counts, coverage XML for the gate."""

    junit: Path
    coverage: Path
    data: Path | None = None
    """coverage.py's data file, kept where a later step combines it: a shard's, or the
    total the coverage session combines from them. None: coverage's default (.coverage)."""

    @classmethod
    def of(cls, reports: Path, tier: str) -> TierReports:
        """The reports of `tier` under the reports directory `reports`."""
        return cls(junit=reports / tier / "junit.xml", coverage=reports / tier / "coverage.xml")

    @classmethod
    def combined(cls, reports: Path, tier: str) -> TierReports:
        """The total of a sharded tier: its shards' coverage data combined (no JUnit of its own)."""
        return replace(cls.of(reports, tier), data=reports / tier / COVERAGE_DATA)

    @classmethod
    def shard(cls, reports: Path, tier: str, index: int, total: int) -> TierReports:
        """Shard `index` of `total`: its own directory, so shards run side by side and a
        combine step finds every one (`shard_dirs`)."""
        directory = shard_dir(reports, tier, index, total)
        return cls(
            junit=directory / "junit.xml",
            coverage=directory / "coverage.xml",
            data=directory / COVERAGE_DATA,
        )

    def all(self) -> tuple[Path, ...]:
        return (self.junit, self.coverage, *((self.data,) if self.data else ()))


COVERAGE_DATA: Final = "coverage.data"
"""A shard's coverage data file: not a dotfile, which upload-artifact leaves out by default."""

SHARD_PREFIX: Final = "shard-"


def shard_dir(reports: Path, tier: str, index: int, total: int) -> Path:
    """The directory of shard `index` of `total`: named with both, so runs of another
    count are never mistaken for this one's."""
    return reports / tier / f"{SHARD_PREFIX}{index}-of-{total}"


def shard_dirs(reports: Path, tier: str) -> dict[int, dict[int, Path]]:
    """The shard directories under a tier's reports, by shard count then shard number."""
    found: dict[int, dict[int, Path]] = {}
    directory = reports / tier
    for path in sorted(directory.glob(f"{SHARD_PREFIX}*-of-*")):
        index, _, total = path.name.removeprefix(SHARD_PREFIX).partition("-of-")
        if index.isdigit() and total.isdigit() and path.is_dir():
            found.setdefault(int(total), {})[int(index)] = path
    return found


def durations(tier: str) -> Path:
    """pytest-split's recorded test durations for a tier, relative to the project root.

    Committed with the project: the shards of every CI run split by the same
    numbers, and `nox -s <tier> -- --store-durations` refreshes them.
    """
    return Path(".durations", f"{tier}.json")


@dataclass(frozen=True)
class SecurityReports:
    """What the security check writes, and the pip-audit input it writes first."""

    bandit: Path
    """bandit's JSON, judged by the session and listed in the job summary."""
    bandit_sarif: Path
    """bandit's SARIF for code scanning, when the action asks for it."""
    requirements: Path
    """The installed dependencies, frozen, for pip-audit to audit."""
    pip_audit: Path
    """pip-audit's JSON, judged against the project's accepted findings."""

    @classmethod
    def of(cls, reports: Path) -> SecurityReports:
        directory = reports / "security"
        return cls(
            bandit=directory / "bandit.json",
            bandit_sarif=directory / "bandit.sarif",
            requirements=directory / "requirements.txt",
            pip_audit=directory / "pip-audit.json",
        )


def lint_sarif(reports: Path) -> Path:
    """ruff's SARIF for code scanning, when the lint action asks for it."""
    return reports / "lint" / "ruff.sarif"


def sarif(reports: Path, check: str) -> Path | None:
    """The SARIF file a check writes for code scanning; None for a check that writes none."""
    if check == "lint":
        return lint_sarif(reports)
    if check == "security":
        return SecurityReports.of(reports).bandit_sarif
    return None
