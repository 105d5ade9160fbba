"""GitHub-native output: the job summary a session writes, and line annotations.

The summary is read from the reports the tools wrote (JUnit, coverage, bandit,
pip-audit JSON), so it says exactly what the session saw.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from shipline import audit, gates, reports
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


def _tests_section(cfg: Config, tier: str) -> list[str]:
    paths = TierReports.of(cfg.root / cfg.reports(), tier)
    counts = reports.junit_counts(paths.junit)
    if counts is None:
        return [f"No test report for tier `{tier}`."]
    percent = reports.coverage_percent(paths.coverage)
    gate = cfg.tier(tier).coverage_fail_under
    coverage = "n/a" if percent is None else f"{percent:.1f}%"
    if gate is not None and percent is not None:
        coverage += f" (gate {gate:g}%)"
    lines = [
        "| tier | passed | failed | errors | skipped | seconds | coverage |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {tier} | {counts.passed} | {counts.failures} | {counts.errors} | {counts.skipped} "
        f"| {counts.seconds:.1f} | {coverage} |",
    ]
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


def markdown(check: Check, cfg: Config, failure: str | None, today: dt.date) -> str:
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
        lines += [*_tests_section(cfg, check.tier), ""]
    return "\n".join(lines) + "\n"
