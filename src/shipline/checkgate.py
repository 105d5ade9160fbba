"""The quality gate's decision: from the checks GitHub reports for a commit, a verdict.

Pure (data in, verdict out) so every case, from a skipped check to one that never
starts, is a unit test without a network; `shipline.tasks.gate` polls GitHub and
calls `decide` until the verdict is no longer "wait". Standard library only.

A check is a check run (GitHub Actions jobs, other apps) or a commit status
(older CI services). Skipped, neutral and success pass: a workflow whose path
filters skipped it reports "skipped", and waiting on it would stall forever.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

PASSING = frozenset({"success", "neutral", "skipped"})
"""Check run conclusions (and status states) that let the deploy go."""
FAILING = frozenset(
    {"failure", "cancelled", "timed_out", "action_required", "stale", "startup_failure", "error"}
)
"""Conclusions (and status states) that stop it; anything not finished is waited on."""

Outcome = Literal["pass", "fail", "wait"]
State = Literal["pass", "fail", "wait"]


@dataclass(frozen=True)
class Check:
    """One check run or commit status, as far as the gate cares."""

    name: str
    state: str
    """A check run's status (queued, in_progress, completed, ...) or a status's state."""
    conclusion: str | None
    """A completed check run's conclusion; a status's state again (success, failure, ...)."""
    link: str = ""
    details: str = ""
    """Where the check came from: an Actions job's URL names its workflow run."""
    suite: int | None = None
    kind: Literal["check", "status"] = "check"

    @property
    def outcome(self) -> Outcome:
        if self.kind == "status":
            done = self.state
        else:
            done = (self.conclusion or "") if self.state == "completed" else ""
        if done in PASSING:
            return "pass"
        if done in FAILING or (self.kind == "check" and self.state == "completed"):
            return "fail"  # an unknown conclusion is not a pass
        return "wait"


@dataclass(frozen=True)
class Suite:
    """A check suite: for GitHub Actions, one workflow run and all its jobs."""

    id: int
    app: str
    status: str
    runs: int
    """How many check runs it has; an app that never runs leaves an empty suite queued."""


@dataclass(frozen=True)
class Rules:
    """What the gate leaves out, insists on, and how long it waits."""

    exclude: tuple[str, ...] = ()
    """Glob patterns of check names that are not quality checks (the delivery jobs)."""
    require: tuple[str, ...] = ()
    """Glob patterns of checks that must appear: one that never does fails at the timeout."""
    own_run: str | None = None
    """The gate's own workflow run id (GITHUB_RUN_ID): its jobs are delivery, not quality."""
    timeout: float = 1800.0
    settle: float = 30.0
    """With no quality check seen yet, how long to wait for one to register."""


@dataclass(frozen=True)
class Observed:
    """Everything GitHub reported for the commit in one poll."""

    checks: tuple[Check, ...] = ()
    suites: tuple[Suite, ...] = ()


@dataclass(frozen=True)
class Verdict:
    state: State
    checks: tuple[Check, ...]
    """The quality checks considered (exclusions left out)."""
    failed: tuple[Check, ...] = ()
    pending: tuple[str, ...] = ()
    """What is still awaited: checks, required names not seen, workflows still running."""
    timed_out: bool = False
    reason: str = ""


def _matches(name: str, patterns: Iterable[str]) -> bool:
    """Case-insensitive glob: job names are written by people ("Deploy", "deploy")."""
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def excluded(check: Check, rules: Rules) -> bool:
    """A delivery job: its name matches `exclude`, or it runs in the gate's own workflow run."""
    if rules.own_run and f"/actions/runs/{rules.own_run}/" in check.details:
        return True
    return _matches(check.name, rules.exclude)


def _open_suites(observed: Observed, rules: Rules, considered: tuple[Check, ...]) -> list[str]:
    """Workflow runs with jobs still to come: their finished jobs alone do not say it passed.

    A job that `needs` another gets its check run only when it starts, so a suite
    still running with every visible run finished is waited on. Suites holding a
    delivery job (this CD run, another CD run of the commit) are not quality checks."""
    delivery = {c.suite for c in observed.checks if c.suite is not None and excluded(c, rules)}
    waiting_runs = {c.suite for c in considered if c.outcome == "wait"}
    return [
        f"{suite.app} check suite {suite.id} (jobs still to start)"
        for suite in observed.suites
        if suite.status != "completed"
        and suite.runs > 0
        and suite.id not in delivery
        and suite.id not in waiting_runs
    ]


def decide(observed: Observed, rules: Rules, elapsed: float) -> Verdict:
    """The gate's verdict after `elapsed` seconds of waiting.

    fail: a quality check failed (at once: the deploy cannot happen, waiting would
    only hold a runner), or something awaited is still not done at the timeout;
    pass: every quality check passed (or none appeared within the settle time);
    wait: otherwise."""
    checks = tuple(c for c in observed.checks if not excluded(c, rules))
    failed = tuple(c for c in checks if c.outcome == "fail")
    pending = [c.name for c in checks if c.outcome == "wait"]
    pending += [
        f"{pattern} (required, not reported)"
        for pattern in rules.require
        if not any(_matches(c.name, (pattern,)) for c in checks)
    ]
    pending += _open_suites(observed, rules, checks)
    if failed:
        return Verdict("fail", checks, failed, tuple(pending), reason="failed")
    if pending:
        if elapsed >= rules.timeout:
            return Verdict("fail", checks, (), tuple(pending), timed_out=True, reason="timeout")
        return Verdict("wait", checks, (), tuple(pending), reason="pending")
    if not checks:
        if elapsed < rules.settle:
            return Verdict("wait", checks, reason="settling")
        return Verdict("pass", checks, reason="nothing to wait for")
    return Verdict("pass", checks, reason="passed")


def report(verdict: Verdict, sha: str, timeout: float) -> tuple[list[str], str]:
    """The lines a verdict prints (one per failed or unfinished check) and its summary line."""
    lines = [
        f"FAILED {c.name}: {c.conclusion or c.state} {c.link}".rstrip() for c in verdict.failed
    ]
    if verdict.timed_out:
        lines += [f"TIMED OUT {name}: not finished after {timeout:g}s" for name in verdict.pending]
    short = sha[:12]
    total = len(verdict.checks)
    if verdict.state == "pass":
        if verdict.reason == "nothing to wait for":
            return lines, f"gate: no quality checks reported for {short}; nothing to wait for"
        return lines, f"gate: all {total} quality checks passed for {short}"
    names = [c.name for c in verdict.failed] + (list(verdict.pending) if verdict.timed_out else [])
    if verdict.failed:
        summary = f"gate: {len(verdict.failed)} of {total} quality checks failed for {short}"
    else:
        summary = f"gate: timed out after {timeout:g}s waiting for {short}"
    return lines, f"{summary}: {', '.join(names)}"


def summary_markdown(verdict: Verdict, sha: str) -> str:
    """The job summary: one row per quality check, so the run page shows what gated it."""
    rows = ["### shipline gate", "", f"Commit `{sha}`: **{verdict.state}**", ""]
    rows += ["| check | state | conclusion | link |", "| --- | --- | --- | --- |"]
    for check in verdict.checks:
        link = f"[details]({check.link})" if check.link else ""
        rows.append(f"| {_cell(check.name)} | {check.state} | {check.conclusion or ''} | {link} |")
    rows += [f"| {_cell(name)} | waiting |  |  |" for name in verdict.pending]
    return "\n".join(rows) + "\n\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def check_runs(items: Iterable[Mapping[str, Any]]) -> list[Check]:
    """Check runs from `GET .../commits/{ref}/check-runs` (the `check_runs` items)."""
    found = []
    for item in items:
        suite = item.get("check_suite")
        found.append(
            Check(
                name=str(item.get("name", "")),
                state=str(item.get("status", "")),
                conclusion=item.get("conclusion"),
                link=str(item.get("html_url") or item.get("details_url") or ""),
                details=str(item.get("details_url") or ""),
                suite=suite.get("id") if isinstance(suite, Mapping) else None,
            )
        )
    return found


def statuses(items: Iterable[Mapping[str, Any]]) -> list[Check]:
    """Commit statuses from `GET .../commits/{ref}/status` (latest per context)."""
    return [
        Check(
            name=str(item.get("context", "")),
            state=str(item.get("state", "")),
            conclusion=str(item.get("state", "")),
            link=str(item.get("target_url") or ""),
            kind="status",
        )
        for item in items
    ]


def suites(items: Iterable[Mapping[str, Any]]) -> list[Suite]:
    """Check suites from `GET .../commits/{ref}/check-suites`."""
    found = []
    for item in items:
        app = item.get("app")
        found.append(
            Suite(
                id=int(item.get("id", 0)),
                app=str(app.get("slug", "app")) if isinstance(app, Mapping) else "app",
                status=str(item.get("status") or ""),
                runs=int(item.get("latest_check_runs_count") or 0),
            )
        )
    return found
