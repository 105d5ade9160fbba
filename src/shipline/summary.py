"""GitHub-native output: the job summary a session writes, and line annotations.

The summary is read from the reports the tools wrote (JUnit, coverage, bandit,
pip-audit JSON), so it says exactly what the session saw.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from shipline import audit, gates, reports, testrun, tiers
from shipline.catalogue import Check
from shipline.config import Config
from shipline.errors import ShiplineError
from shipline.tiers import SecurityReports, TierReports


@dataclass(frozen=True)
class BanditFinding:
    test_id: str
    severity: str
    confidence: str
    filename: str
    line: int
    text: str


def bandit_findings(path: Path) -> list[BanditFinding]:
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return [
        BanditFinding(
            test_id=str(r["test_id"]),
            severity=str(r["issue_severity"]).lower(),
            confidence=str(r["issue_confidence"]).lower(),
            filename=str(r["filename"]),
            line=int(r["line_number"]),
            text=str(r["issue_text"]),
        )
        for r in data.get("results", [])
    ]


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, *, file: str, line: int, title: str, message: str) -> str:
    """A workflow command that GitHub shows on the line of the file."""
    props = f"file={_escape_property(file)},line={line},title={_escape_property(title)}"
    return f"::{level} {props}::{_escape_data(message)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


TESTS_HEADER = [
    "| tier | passed | failed | errors | skipped | seconds | coverage |",
    "| --- | --- | --- | --- | --- | --- | --- |",
]


def _row(label: str, counts: reports.TestCounts, coverage: Path, gate: str) -> str:
    """One line of the tests table; `gate` is what follows the figure, e.g. " (gate 80%)"."""
    percent = reports.coverage_percent(coverage)
    shown = "n/a" if percent is None else f"{percent:.1f}%{gate}"
    return (
        f"| {label} | {counts.passed} | {counts.failures} | {counts.errors} | {counts.skipped} "
        f"| {counts.seconds:.1f} | {shown} |"
    )


def _gate(cfg: Config, tier: str) -> str:
    gate = cfg.tier(tier).coverage_fail_under
    return "" if gate is None else f" (gate {gate:g}%)"


def _shard_of(posargs: tuple[str, ...]) -> testrun.Shard | None:
    try:
        return testrun.tier_args(posargs).shard
    except ShiplineError:  # the session said so already; the summary shows the whole tier
        return None


def _tests_section(cfg: Config, tier: str, posargs: tuple[str, ...] = ()) -> list[str]:
    shard = _shard_of(posargs)
    root = cfg.root / cfg.reports()
    if shard is None:
        paths, label, gate = TierReports.of(root, tier), tier, _gate(cfg, tier)
    else:
        paths = TierReports.shard(root, tier, shard.index, shard.total)
        label, gate = f"{tier} shard {shard}", " (part: the total is gated)"
    counts = reports.junit_counts(paths.junit)
    if counts is None:
        return [f"No test report for tier `{label}`."]
    lines = [*TESTS_HEADER, _row(label, counts, paths.coverage, gate)]
    if counts.slowest:
        lines += ["", "Slowest tests:", ""]
        lines += [f"- `{_cell(name)}`: {seconds:.2f}s" for name, seconds in counts.slowest]
    return lines


def _bandit_section(cfg: Config) -> list[str]:
    found = bandit_findings(SecurityReports.of(cfg.root / cfg.reports()).bandit)
    if not found:
        return ["bandit: no findings."]
    lines = [
        "| bandit | severity | confidence | where | issue |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {f.test_id} | {f.severity} | {f.confidence} | `{f.filename}:{f.line}` "
        f"| {_cell(f.text)} |"
        for f in found
    ]
    return lines


def _audit_section(cfg: Config, today: dt.date) -> list[str]:
    try:
        verdict = audit.judge_file(
            SecurityReports.of(cfg.root / cfg.reports()).pip_audit,
            cfg.security.audit_ignore,
            today,
        )
    except ShiplineError as exc:
        return [f"pip-audit: {exc}"]
    lines = [f"pip-audit: {verdict.audited} dependencies audited."]
    if verdict.findings:
        lines += [
            "",
            "| package | version | vulnerability | fixed in |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {f.package} | {f.version} | {f.id} | {', '.join(f.fix_versions) or '-'} |"
            for f in verdict.findings
        ]
    lines += [f"- {_cell(problem)}" for problem in verdict.problems() if "could not" in problem]
    lines += [f"- ignored {f.id} ({f.package}): {_cell(i.reason)}" for f, i in verdict.ignored]
    return lines


def _verdict(gate: gates.Gate, failure: str | None) -> tuple[str, str]:
    """The heading's mark and the first line: passed, failed, advisory or disabled."""
    if not gate.enabled:
        return "⏭️", f"Disabled in config (`[{gate.table}]` `enabled = false`)."
    if failure and gate.advisory:
        return "⚠️", (
            f"Advisory, not failing the build: {_cell(failure)} "
            f"(`{gates.ENFORCE}` in `[{gate.table}]`)"
        )
    return ("❌", f"Failed: {_cell(failure)}") if failure else ("✅", "Passed.")


def _combined_section(cfg: Config, posargs: tuple[str, ...]) -> list[str]:
    """Each shard of a sharded tier, then their total: the counts summed, coverage combined."""
    tier = posargs[0] if posargs else tiers.DEFAULT_TIER
    if tier not in cfg.tiers:
        return []
    root = cfg.root / cfg.reports()
    rows: list[str] = []
    totals = [0, 0, 0, 0, 0.0]
    for total, shards in sorted(tiers.shard_dirs(root, tier).items()):
        for index in sorted(shards):
            paths = TierReports.shard(root, tier, index, total)
            counts = reports.junit_counts(paths.junit)
            if counts is None:
                rows.append(f"| {tier} shard {index}/{total} | no report | | | | | |")
                continue
            rows.append(_row(f"{tier} shard {index}/{total}", counts, paths.coverage, ""))
            for i, value in enumerate(
                (counts.tests, counts.failures, counts.errors, counts.skipped, counts.seconds)
            ):
                totals[i] += value
    if not rows:
        return [f"No shards of tier `{tier}`."]
    tests, failures, errors, skipped = (int(t) for t in totals[:4])
    total_counts = reports.TestCounts(
        tests=tests,
        failures=failures,
        errors=errors,
        skipped=skipped,
        seconds=totals[4],
        slowest=(),
    )
    combined = TierReports.combined(root, tier)
    rows.append(_row(f"**{tier} total**", total_counts, combined.coverage, _gate(cfg, tier)))
    return [*TESTS_HEADER, *rows]


def markdown(
    check: Check,
    cfg: Config,
    failure: str | None,
    today: dt.date,
    *,
    posargs: tuple[str, ...] = (),
) -> str:
    """A short Markdown result for one session, for $GITHUB_STEP_SUMMARY."""
    gate = gates.of(cfg, check.name)
    mark, verdict = _verdict(gate, failure)
    advisory = " (advisory)" if gate.advisory and gate.enabled else ""
    lines = [f"### {mark} shipline `{check.name}`{advisory}", "", verdict, ""]
    if not gate.enabled:
        return "\n".join(lines) + "\n"
    if check.name == "security":
        lines += [*_bandit_section(cfg), "", *_audit_section(cfg, today), ""]
    if check.tier is not None:
        lines += [*_tests_section(cfg, check.tier, posargs), ""]
    if check.name == "coverage":
        lines += [*_combined_section(cfg, posargs), ""]
    return "\n".join(lines) + "\n"
