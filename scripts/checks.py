"""The interim main job: run every catalogue session on a project and summarise.

Usage: python scripts/checks.py PROJECT_DIR [SESSION ...]

Each session runs as `nox -s NAME`, exactly as a developer would run it. The
summary table says what passed. One environment limit is named rather than
hidden: when pip-audit could not reach its vulnerability service (as on a
machine that reaches the package index only), the security session fails, as
it must, and this job reports "not audited" for it and does not count it as a
code failure; every other failure makes the job exit 1.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shipline import audit, catalogue, config
from shipline.errors import ShiplineError


def audit_unreachable(project: Path) -> bool:
    """True when the security session failed only because the audit service was unreachable."""
    cfg = config.load(project)
    report = project / cfg.reports("security", "pip-audit.json")
    try:
        verdict = audit.judge_file(report, cfg.security.audit_ignore, dt.date.today())
    except ShiplineError:
        return False
    return bool(verdict.skipped) and not verdict.findings and not verdict.expired


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python scripts/checks.py PROJECT_DIR [SESSION ...]", file=sys.stderr)
        return 2
    project = Path(argv[0]).resolve()
    names = argv[1:] or list(catalogue.NAMES)
    console = Console()
    console.rule(f"[bold]shipline checks on {project.name}")
    rows: list[tuple[str, str, float]] = []
    for name in names:
        (project / "reports" / "security" / "pip-audit.json").unlink(missing_ok=True)
        console.rule(f"nox -s {name}")
        start = time.perf_counter()
        code = subprocess.run(
            [sys.executable, "-m", "nox", "-s", name], cwd=project, check=False
        ).returncode
        seconds = time.perf_counter() - start
        if code == 0:
            result = "[green]passed"
        elif name == "security" and audit_unreachable(project):
            result = "[yellow]not audited: pip-audit could not reach its service"
        else:
            result = "[red]FAILED"
        rows.append((name, result, seconds))
    table = Table(title=f"shipline checks: {project.name}")
    for column in ("session", "result", "seconds"):
        table.add_column(column)
    for name, result, seconds in rows:
        table.add_row(name, result, f"{seconds:.1f}")
    console.print(table)
    failed = [name for name, result, _ in rows if "FAILED" in result]
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
