"""The gate task: the CD workflow's wait for the commit's quality checks to pass."""

from __future__ import annotations

import os
from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from shipline import checkgate, config, delivery, gatewait, github
from shipline.tasks.errors import one_line_errors


@task(help=dict(delivery.GATE.help), auto_shortflags=False)
@delivery.described(delivery.GATE)
def gate(
    c: Context,
    sha: str | None = None,
    repo: str | None = None,
    timeout: str | None = None,
    interval: str | None = None,
) -> None:
    with one_line_errors():
        cfg = config.load(Path.cwd())
        commit = gatewait.target(os.environ, sha=sha, repo=repo)
        rules = gatewait.rules(cfg.gate, os.environ, timeout=timeout)
        poll = gatewait.Poll(interval=gatewait.interval(cfg.gate, interval))
        print(f"shipline: gate: {commit.repo}@{commit.sha[:12]}: waiting on its quality checks")
        verdict = gatewait.wait(commit, rules, poll)
    github.append_summary(checkgate.summary_markdown(verdict, commit.sha))
    lines, summary = checkgate.report(verdict, commit.sha, rules.timeout)
    for line in lines:
        print(f"shipline: gate: {line}", flush=True)
    if verdict.state != "pass":
        raise Exit(f"shipline: error: {summary}", code=1)
    print(f"shipline: {summary}", flush=True)
