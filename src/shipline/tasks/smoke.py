"""The smoke task: HTTP checks against a deployed service."""

from __future__ import annotations

from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from shipline import config, delivery
from shipline import smoke as smoke_checks
from shipline.tasks.errors import one_line_errors


@task(help=dict(delivery.SMOKE.help), auto_shortflags=False)
@delivery.described(delivery.SMOKE)
def smoke(c: Context, url: str, version: str | None = None) -> None:
    from rich.console import Console

    with one_line_errors():
        cfg = config.load(Path.cwd())
        results = smoke_checks.run_checks(url, cfg.smoke, version)
    Console().print(smoke_checks.table(url, results))
    failed = [r.name for r in results if not r.ok]
    if failed:
        raise Exit(f"shipline: error: smoke checks failed: {', '.join(failed)}", code=1)
