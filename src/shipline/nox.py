"""Nox sessions made from the catalogue; a user's noxfile opts in with `register()`.

This is the thin layer: which commands run comes from `shipline.catalogue`;
here they are installed for and run in nox's environments.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import NoReturn

import nox
from nox.command import CommandFailed

from shipline import (
    audit,
    catalogue,
    config,
    gates,
    github,
    installs,
    noxversion,
    reports,
    selfwheel,
    summary,
    testrun,
)
from shipline.catalogue import Check, Invocation, Run
from shipline.errors import ShiplineError, fail


def project_requirements(cfg: config.Config) -> tuple[str, ...]:
    """The project, editable, with its dev extras, plus its dev dependency groups."""
    target = f".[{','.join(cfg.extras)}]" if cfg.extras else "."
    groups = (
        nox.project.dependency_groups(dict(cfg.raw_pyproject), *cfg.dependency_groups)
        if cfg.dependency_groups
        else ()
    )
    return ("-e", target, *groups)


def _run_step(session: nox.Session, cfg: config.Config, step: Run) -> None:
    env = {**step.env}
    today = dt.date.today()
    if step.kind == "pip-audit":
        lapsed = audit.expired(cfg.security.audit_ignore, today)
        if lapsed:
            session.error(audit.expired_message(lapsed[0]))
    if step.kind == "pytest" and step.tier_reports is not None:
        for stale in step.tier_reports.all():  # an earlier run's report must not pass for this
            stale.unlink(missing_ok=True)
    for directory in step.prepare:
        directory.mkdir(parents=True, exist_ok=True)
    try:
        session.run(*step.argv, env=env, success_codes=list(step.success_codes))
    except CommandFailed as exc:
        if step.kind == "pytest":
            session.error(reports.pytest_failure(cfg, step, exc.return_code))
        if step.kind == "coverage":
            session.error(reports.combined_failure(cfg, step))
        session.error(step.explain)
    if step.kind == "bandit" and step.report is not None:
        _judge_bandit(session, step.report, step.explain)
    if step.kind == "pip-audit" and step.report is not None:
        try:
            verdict = audit.judge_file(step.report, cfg.security.audit_ignore, today)
        except ShiplineError as exc:
            session.error(str(exc))
        for finding, ignore in verdict.ignored:
            session.log(
                f"pip-audit: ignoring {finding.id} in {finding.package} until {ignore.until}: "
                f"{ignore.reason}"
            )
        if not verdict.ok:
            problems = verdict.problems()
            for line in problems[1:]:
                session.warn(line)
            session.error(problems[0])
        session.log(f"pip-audit: {verdict.audited} dependencies audited, no open findings")


def _judge_bandit(session: nox.Session, report: Path, explain: str) -> None:
    """Print bandit's findings as lines (annotations in Actions) and fail on any."""
    found = summary.bandit_findings(report)
    in_actions = github.in_actions()
    for f in found:
        print(f"{f.filename}:{f.line}: {f.test_id} [{f.severity}/{f.confidence}] {f.text}")
        if in_actions:
            level = "error" if f.severity == "high" else "warning"
            title = f"bandit {f.test_id}"
            print(
                summary.annotation(level, file=f.filename, line=f.line, title=title, message=f.text)
            )
    if found:
        session.error(f"{explain}: {len(found)} found")
    session.log("bandit: no findings")


def _write_summary(
    check: Check, cfg: config.Config, failure: str | None, posargs: tuple[str, ...] = ()
) -> None:
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # the Markdown reads reports: only in Actions
        today = dt.date.today()
        github.append_summary(summary.markdown(check, cfg, failure, today, posargs=posargs))


def _disabled(session: nox.Session, check: Check, cfg: config.Config, gate: gates.Gate) -> NoReturn:
    """A disabled check's session: skipped (nox exits 0) with one line saying why."""
    _write_summary(check, cfg, None)
    session.skip(gate.disabled_line())


def _session_function(check: Check, cfg: config.Config) -> Callable[[nox.Session], None]:
    gate = gates.of(cfg, check.name)

    def run(session: nox.Session) -> None:
        if not gate.enabled:
            _disabled(session, check, cfg, gate)
        ctx = Invocation(posargs=tuple(session.posargs), environ=dict(os.environ))
        try:
            steps = check.steps(cfg, ctx)
            tools = catalogue.tool_requirements(cfg, check, ctx)
            if check.needs_plugin:
                origin, wheel = selfwheel.session_wheel()
        except ShiplineError as exc:
            session.error(str(exc))
        if check.needs_plugin:
            session.log(f"shipline {origin}: installing {wheel.name}")
            session.install("--no-deps", str(wheel))
        if check.installs_project:
            installs.install(session, cfg, project_requirements(cfg), tools)
        else:
            session.install(*tools)
        for directory in {cfg.reports(check.tier or check.name)}:
            directory.mkdir(parents=True, exist_ok=True)
        session.env["SHIPLINE_ACTIVE"] = "1"
        for note in check.notes(cfg):
            session.log(note)
        failure: str | None = None
        try:
            causes = gates.run_steps(gate, steps, lambda step: _run_step(session, cfg, step))
            for cause in causes:
                session.warn(gate.advisory_line(cause))
                github.warning(f"shipline {check.name} (advisory)", cause)
            failure = "; ".join(causes) or None
        except BaseException as exc:  # nox ends a session by raising; say why, then re-raise
            failure = str(exc) or type(exc).__name__
            raise
        finally:
            _write_summary(check, cfg, failure, ctx.posargs)

    run.__doc__ = check.description if gate.enabled else f"disabled: {check.description}"
    run.__name__ = check.name.replace("-", "_")
    return run


def _check_posargs(argv: list[str]) -> None:
    """A bad `--shard` after `--` ends nox with one line and status 2 before any session
    starts (a session's own error would come after its environment, with status 1)."""
    if "--" in argv:
        testrun.tier_args(argv[argv.index("--") + 1 :])


def _default_sessions(checks: tuple[Check, ...]) -> None:
    """A bare `nox` runs the fast set (lint, type, smoke, unit), unless the noxfile chose.

    `nox -s ...` and `nox -t ...` on the command line still pick any session.
    """
    if getattr(nox.options, "sessions", None) is None and not getattr(nox.options, "tags", None):
        nox.options.sessions = [c.name for c in checks if c.name in catalogue.FAST]


def register(*names: str, root: Path | None = None) -> None:
    """Register the named checks as nox sessions (all of them when none are named).

    Called from the user's noxfile; nothing is registered at import time.
    Configuration errors and a bad `--shard` end nox with one line and exit status 2.
    """
    try:
        cfg = config.load(root or Path.cwd())
        checks = catalogue.select(names)
        noxversion.check(metadata.version("nox"))
        _check_posargs(sys.argv)
    except ShiplineError as exc:
        fail(exc)
    for check in checks:
        enabled = gates.of(cfg, check.name).enabled  # disabled: no environment is made
        nox.session(
            name=check.name,
            python=list(cfg.python) if cfg.python and enabled else None,
            venv_backend=cfg.venv_backend if enabled else "none",
            tags=list(check.tags),
        )(_session_function(check, cfg))
    _default_sessions(checks)
