"""Reading the JUnit and coverage XML a tier writes, to say why it failed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element  # nosec B405 - the type only; parsing is defusedxml

from defusedxml import ElementTree

from shipline import catalogue
from shipline.config import Config, projectgate


@dataclass(frozen=True)
class TestCounts:
    tests: int
    failures: int
    errors: int
    skipped: int
    seconds: float
    slowest: tuple[tuple[str, float], ...]
    """The slowest test cases, name and seconds, slowest first."""

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def _root(path: Path) -> Element | None:
    if not path.is_file():
        return None
    root: Element | None = ElementTree.parse(path).getroot()
    return root


def junit_counts(path: Path, slowest: int = 5) -> TestCounts | None:
    root = _root(path)
    if root is None:
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    cases: list[tuple[str, float]] = []
    for suite in suites:
        for key in total:
            total[key] += int(suite.get(key, "0"))
        seconds += float(suite.get("time", "0"))
        for case in suite.iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
            cases.append((name, float(case.get("time", "0"))))
    cases.sort(key=lambda c: c[1], reverse=True)
    return TestCounts(seconds=seconds, slowest=tuple(cases[:slowest]), **total)


def coverage_percent(path: Path) -> float | None:
    """Total coverage as coverage.py computes it for --cov-fail-under (lines and branches)."""
    root = _root(path)
    if root is None:
        return None
    valid = int(root.get("lines-valid", "0")) + int(root.get("branches-valid", "0"))
    covered = int(root.get("lines-covered", "0")) + int(root.get("branches-covered", "0"))
    return 100.0 * covered / valid if valid else 100.0


PYTEST_EXITS = {
    2: "pytest was interrupted: collection errors or an unknown marker (see above)",
    3: "pytest hit an internal error: a plugin or conftest failed (see above)",
    4: "pytest was called wrongly (see the usage error above)",
}


NO_TESTS = 5
"""pytest's exit status when nothing was selected: the only sign a tier ran no tests.

An optional tier's empty run is turned into a pass by the plugin, so a later
failure of such a run (a coverage gate) exits 1 with no tests: that is not
"selected no tests", and must not be reported as such.
"""


def _configured(cfg: Config, tier: str) -> bool:
    """Whether [tool.shipline] sets the tier's gate itself (else it may be the project's)."""
    tool = cfg.raw_pyproject.get("tool", {})
    table = tool.get("shipline", {}) if isinstance(tool, dict) else {}
    tests = table.get("tests", {}) if isinstance(table, dict) else {}
    tiers = table.get("tiers", {}) if isinstance(table, dict) else {}
    own = tiers.get(tier, {}) if isinstance(tiers, dict) else {}
    key = "coverage-fail-under"
    return any(isinstance(t, dict) and key in t for t in (tests, own))


def _gate_words(cfg: Config, tier: str, gate: float) -> str:
    """The gate, and where it came from when it is the project's own."""
    found = projectgate.find(cfg.root, cfg.raw_pyproject)
    if found is not None and found.percent == gate and not _configured(cfg, tier):
        return f"the {gate:g}% gate (the project's {found.where})"
    return f"the {gate:g}% gate"


def pytest_failure(cfg: Config, step: catalogue.Run, exit_code: int | None = None) -> str:
    """Name the cause of a failed tier run: failed tests, the coverage gate, no tests, or pytest."""
    if exit_code in PYTEST_EXITS:
        return PYTEST_EXITS[exit_code]
    if step.tier is None or step.tier_reports is None:  # not a pytest run: nothing to read
        return step.explain
    tier = cfg.tier(step.tier)
    counts = junit_counts(step.tier_reports.junit)
    causes: list[str] = []
    if exit_code == NO_TESTS or (exit_code is None and counts is not None and counts.tests == 0):
        causes.append(f"tier {tier.name!r} selected no tests")
    if counts is not None and (counts.failures or counts.errors):
        broken = counts.failures + counts.errors
        causes.append(f"{broken} of {counts.tests} {tier.name} tests failed")
    percent = coverage_percent(step.tier_reports.coverage)
    gate = None if step.shard else tier.coverage_fail_under  # a shard is not gated
    if gate is not None and percent is not None and percent < gate:
        causes.append(f"coverage {percent:.1f}% is under {_gate_words(cfg, tier.name, gate)}")
    if not causes and exit_code == 1 and counts is not None:
        causes.append(
            f"no {tier.name} test failed, yet pytest failed: a check from the project's "
            "pytest settings or a plugin (see its message above)"
        )
    return "; ".join(causes) if causes else step.explain


def combined_failure(cfg: Config, step: catalogue.Run) -> str:
    """Why the gate on a sharded tier's total failed: its figure against the gate."""
    if step.tier is None or step.tier_reports is None:
        return step.explain
    percent = coverage_percent(step.tier_reports.coverage)
    gate = cfg.tier(step.tier).coverage_fail_under
    if percent is None or gate is None:
        return step.explain
    return (
        f"coverage {percent:.1f}% of the {step.shard} {step.tier} shards combined is under "
        f"{_gate_words(cfg, step.tier, gate)}"
    )
