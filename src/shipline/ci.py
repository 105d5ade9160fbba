"""The one run step of every shipline action: `python -m shipline.ci ACTION`.

Inputs arrive as environment variables set by the action's `env:` (never
expanded into the script); this turns them into the same `nox -s SESSION -- ARGS`
a developer types, then writes the action's outputs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from shipline import actions, config, gates, github, reports, testrun, tiers
from shipline.catalogue import SARIF_ENV
from shipline.errors import ShiplineError

MATCHERS = Path(__file__).parent / "matchers"


def session_for(action: actions.Action, environ: Mapping[str, str]) -> str:
    """The session an action runs; for `test`, the tier input, checked against the tiers."""
    if action.name != "test":
        return action.sessions[0]
    tier = environ.get("SHIPLINE_TIER", "").strip() or tiers.DEFAULT_TIER
    if tier not in action.sessions:
        raise ShiplineError(
            f"unknown tier {tier!r} for shipline/actions/test; "
            f"expected one of: {', '.join(action.sessions)}"
        )
    return tier


def session_args(action: actions.Action, environ: Mapping[str, str]) -> list[str]:
    """The arguments after `--`: the action's `args`, after its shard or combined tier."""
    args = shlex.split(environ.get("SHIPLINE_ARGS", ""))
    shard = environ.get("SHIPLINE_SHARD", "").strip()
    if action.name == "test" and shard:
        return [testrun.SHARD_FLAG, str(testrun.Shard.parse(shard)), *args]
    if action.name == "coverage":
        return [environ.get("SHIPLINE_TIER", "").strip() or tiers.DEFAULT_TIER, *args]
    return args


def outputs(
    action: actions.Action, session: str, cfg: config.Config, args: Sequence[str] = ()
) -> dict[str, str]:
    """The action's outputs, read from the reports the session wrote."""
    root = cfg.root / cfg.reports()
    if action.name == "coverage":
        paths = tiers.TierReports.combined(root, args[0] if args else tiers.DEFAULT_TIER)
        percent = reports.coverage_percent(paths.coverage)
        return {
            "coverage": str(paths.coverage),
            "coverage-percent": "" if percent is None else f"{percent:.2f}",
        }
    if action.name == "test":
        shard = testrun.tier_args(args).shard
        paths = (
            tiers.TierReports.of(root, session)
            if shard is None
            else tiers.TierReports.shard(root, session, shard.index, shard.total)
        )
        percent = reports.coverage_percent(paths.coverage)
        return {
            "junit": str(paths.junit),
            "coverage": str(paths.coverage),
            "coverage-percent": "" if percent is None else f"{percent:.2f}",
        }
    sarif = tiers.sarif(cfg.root / cfg.reports(), action.name)
    if sarif is not None and os.environ.get(SARIF_ENV) == "true":
        return {"sarif": str(sarif)}
    return {}


def main(argv: list[str]) -> int:
    by_name = {a.name: a for a in actions.all_actions()}
    if len(argv) != 1 or argv[0] not in by_name:
        print(f"usage: python -m shipline.ci {{{','.join(by_name)}}}", file=sys.stderr)
        return 2
    action = by_name[argv[0]]
    if action.task:
        args = shlex.split(os.environ.get("SHIPLINE_ARGS", ""))
        command = ["invoke", action.task, *args]
        print(f"shipline: {shlex.join(command)}", flush=True)
        return subprocess.run([sys.executable, "-m", *command], check=False).returncode
    try:
        session = session_for(action, os.environ)
        args = session_args(action, os.environ)
        cfg = config.load(Path.cwd())
    except (ShiplineError, ValueError) as exc:
        print(f"::error title=shipline {action.name}::{exc}")
        print(f"shipline: error: {exc}", file=sys.stderr)
        return 2
    if session == "type":  # an advisory check's findings are warnings, not errors
        matcher = "mypy-advisory.json" if gates.of(cfg, "type").advisory else "mypy.json"
        print(f"::add-matcher::{MATCHERS / matcher}", flush=True)
    command = ["nox", "-s", session, *(["--", *args] if args else [])]
    print(f"shipline: {shlex.join(command)}", flush=True)
    code = subprocess.run([sys.executable, "-m", *command], check=False).returncode
    github.write_outputs(outputs(action, session, cfg, args))
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
