"""Nox sessions made from the catalogue; a user's noxfile opts in with `register()`.

This is the thin layer: which commands run comes from `shipline.catalogue`;
here they are installed for and run in nox's environments.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

import nox
from nox.command import CommandFailed

from shipline import audit, catalogue, config, github, reports, summary
from shipline.catalogue import Check, Invocation, Run
from shipline.errors import ShiplineError, fail


def shipline_requirement() -> tuple[str, ...]:
    """How to install this very shipline into a session, so the plugin matches the noxfile's.

    A release comes from the index at the exact version; a checkout as a wheel
    of its current source (see `checkout_wheel`).
    """
    dist = importlib.metadata.distribution("shipline")
    direct = dist.read_text("direct_url.json")
    if direct:
        url = urlparse(json.loads(direct).get("url", ""))
        if url.scheme == "file" and Path(unquote(url.path), "pyproject.toml").is_file():
            return (str(checkout_wheel(Path(unquote(url.path)))),)
    return (f"shipline=={dist.version}",)


def source_digest(source: Path) -> str:
    """A hash of what goes into shipline's wheel: pyproject.toml and the package files."""
    digest = hashlib.sha256()
    files = [source / "pyproject.toml", *sorted((source / "src" / "shipline").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def checkout_wheel(source: Path) -> Path:
    """A wheel of a shipline checkout, built once per source state and cached.

    uv never caches builds of a local source tree, so installing the checkout
    itself cost a fresh build (0.6-1.1 s) in every new session.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "shipline", "wheels")
    target = cache / source_digest(source)
    built = sorted(target.glob("shipline-*.whl"))
    if built:
        return built[0]
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=cache))
    try:
        try:
            from uv import find_uv_bin

            command = [find_uv_bin(), "build", "--wheel", "--out-dir", str(staging), str(source)]
        except ImportError:
            command = [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-w",
                str(staging),
                str(source),
            ]
        subprocess.run(command, check=True, capture_output=True)
        with contextlib.suppress(OSError):  # a parallel session may have won the race
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(target.glob("shipline-*.whl"))[0]


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
    if step.tier_reports is not None:  # a report left by an earlier run must not pass for this one
        for stale in step.tier_reports.all():
            stale.unlink(missing_ok=True)
    try:
        session.run(*step.argv, env=env, success_codes=list(step.success_codes))
    except CommandFailed as exc:
        if step.kind == "pytest":
            session.error(reports.pytest_failure(cfg, step, exc.return_code))
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


def _write_summary(check: Check, cfg: config.Config, failure: str | None) -> None:
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # the Markdown reads reports: only in Actions
        github.append_summary(summary.markdown(check, cfg, failure, dt.date.today()))


def _session_function(check: Check, cfg: config.Config) -> Callable[[nox.Session], None]:
    def run(session: nox.Session) -> None:
        ctx = Invocation(posargs=tuple(session.posargs), environ=dict(os.environ))
        try:
            steps = check.steps(cfg, ctx)
        except ShiplineError as exc:
            session.error(str(exc))
        if check.needs_plugin:
            session.install("--no-deps", *shipline_requirement())
        tools = catalogue.tool_requirements(cfg, check, ctx)
        if check.installs_project:
            session.install(*project_requirements(cfg), *tools)
        else:
            session.install(*tools)
        for directory in {cfg.reports(check.tier or check.name)}:
            directory.mkdir(parents=True, exist_ok=True)
        session.env["SHIPLINE_ACTIVE"] = "1"
        failure: str | None = None
        try:
            for step in steps:
                _run_step(session, cfg, step)
        except BaseException as exc:  # nox ends a session by raising; say why, then re-raise
            failure = str(exc) or type(exc).__name__
            raise
        finally:
            _write_summary(check, cfg, failure)

    run.__doc__ = check.description
    run.__name__ = check.name.replace("-", "_")
    return run


def register(*names: str, root: Path | None = None) -> None:
    """Register the named checks as nox sessions (all of them when none are named).

    Called from the user's noxfile; nothing is registered at import time.
    Configuration errors end nox with one line and exit status 2.
    """
    try:
        cfg = config.load(root or Path.cwd())
        checks = catalogue.select(names)
    except ShiplineError as exc:
        fail(exc)
    for check in checks:
        nox.session(
            name=check.name,
            python=list(cfg.python) if cfg.python else None,
            venv_backend=cfg.venv_backend,
        )(_session_function(check, cfg))
