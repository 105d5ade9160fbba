"""pytest plugin: tier markers, strict markers, test env defaults and live mode.

Loaded through the `pytest11` entry point. It is inert in projects with no
`[tool.shipline]` table unless a shipline session (or `--tier`) asks for it.
In a shipline session (`SHIPLINE_ACTIVE=1`, which the nox sessions set, or
`--tier`) it infers each test's tiers and adds their markers, and unknown
markers are errors. Under plain `pytest` the project's own marker semantics
stay exactly as they were: its markers are only registered (so a `unit` mark
does not warn), nothing is inferred and strictness is the project's own; so
`-m "unit and models"` selects what it selected before shipline came.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shipline.tiers import TIERS

if TYPE_CHECKING:
    from shipline.config import Config

# Loaded through an entry point, this module is imported before pytest-cov
# starts measuring; shipline.config is imported inside the hooks so that a
# project measuring shipline itself (shipline does) sees it covered. The tier
# names come from shipline.tiers, which is as light as this module (stdlib only).
LIVE_MODES = ("auto", "on", "off")
USAGE_EXIT = 2

ACTIVE_ENV = "SHIPLINE_ACTIVE"
LIVE_ENV = "SHIPLINE_LIVE"
LIVE_MARKER = "live"

_CONFIG = pytest.StashKey["Config"]()
_LIVE = pytest.StashKey[tuple[bool, str]]()
_EMPTY = pytest.StashKey[str]()
_ERROR = pytest.StashKey[str]()
_SESSION = pytest.StashKey[bool]()


def live_decision(mode: str, environ: Mapping[str, str], default_branch: str) -> tuple[bool, str]:
    """Whether `live` tests run, and why: mocks on pull requests, the real thing on main."""
    if mode == "on":
        return True, "on"
    if mode == "off":
        return False, "off"
    if environ.get("GITHUB_ACTIONS") != "true":
        return False, "auto: local run (use --live=on to run them)"
    event = environ.get("GITHUB_EVENT_NAME", "")
    ref = environ.get("GITHUB_REF", "")
    on_default = ref == f"refs/heads/{default_branch}"
    if on_default and event in ("push", "schedule", "workflow_dispatch"):
        return True, f"auto: {event} to {default_branch}"
    return False, f"auto: {event or 'unknown event'} on {ref or 'unknown ref'}"


def item_tiers(config: Config, path: Path, markers: Iterable[str]) -> tuple[list[str], list[str]]:
    """A test's tiers, and the markers it must gain to carry them.

    Explicit tier markers and tier directories add up; a test with neither falls
    into the default tier, so no test drops out of every tier.
    """
    names = set(markers)
    tiers = [t.name for t in config.tiers.values() if t.marker in names]
    added: list[str] = []
    for tier in config.tiers.values():
        if tier.name in tiers:
            continue
        if any(path.is_relative_to(config.root / p) for p in tier.paths):
            tiers.append(tier.name)
            added.append(tier.marker)
    if not tiers:
        default = config.tier(config.tests.default_tier)
        tiers.append(default.name)
        added.append(default.marker)
    return tiers, added


def _load(start: Path, forced: bool) -> Config | None:
    from shipline.config import find_pyproject, parse, read_pyproject

    pyproject = find_pyproject(start)
    if pyproject is None:
        return parse({}, start) if forced else None
    data = read_pyproject(pyproject)
    if "shipline" not in data.get("tool", {}) and not forced:
        return None
    return parse(data, pyproject.parent)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shipline", "shipline test tiers")
    group.addoption(
        "--tier",
        choices=TIERS,
        default=None,
        help="run only this tier's tests (by marker, directory or default tier)",
    )
    group.addoption(
        "--live",
        choices=LIVE_MODES,
        default=None,
        help=f"run tests marked live: auto (default; on pushes to the default branch), "
        f"on or off; also ${LIVE_ENV}",
    )


# Not tryfirst: pytest-cov's tryfirst hook must start measuring before this
# imports shipline.config; this still runs before pytest imports conftest files.
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    from shipline.errors import ConfigError

    forced = os.environ.get(ACTIVE_ENV) == "1" or early_config.known_args_namespace.tier
    try:
        # Not rootpath: pytest climbs to any ancestor with pytest settings, which
        # for a nested project (a monorepo, an example) is someone else's.
        config = _load(early_config.invocation_params.dir, bool(forced))
        if config is None:
            return
        mode = (
            early_config.known_args_namespace.live or os.environ.get(LIVE_ENV) or config.tests.live
        )
        if mode not in LIVE_MODES:
            raise ConfigError(f"{LIVE_ENV}={mode!r}: expected one of {', '.join(LIVE_MODES)}")
    except ConfigError as exc:
        # Reported by pytest_cmdline_main: one line and exit 2, no traceback.
        early_config.stash[_ERROR] = f"shipline: error: {exc}"
        return
    early_config.stash[_CONFIG] = config
    early_config.stash[_SESSION] = bool(forced)
    early_config.stash[_LIVE] = live_decision(mode, os.environ, config.default_branch)
    # Placeholders so modules import without a .env; real values always win.
    for name, value in config.tests.env.items():
        os.environ.setdefault(name, value)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    error = config.stash.get(_ERROR, None)
    if error is None:
        return None
    print(error, file=sys.stderr)
    return USAGE_EXIT


def pytest_configure(config: pytest.Config) -> None:
    cfg = config.stash.get(_CONFIG, None)
    if cfg is None:
        return
    for tier in cfg.tiers.values():
        config.addinivalue_line("markers", f"{tier.marker}: test tier {tier.name!r} (shipline)")
    config.addinivalue_line(
        "markers", f"{LIVE_MARKER}: needs the live, deployed service; see --live (shipline)"
    )
    if not config.stash[_SESSION]:
        return  # plain pytest: the project's own strictness
    # Strict markers: pytest 9 reads --strict-markers before plugins load, so a
    # typo'd marker is made an error through the warning it raises instead.
    config.addinivalue_line("filterwarnings", "error::pytest.PytestUnknownMarkWarning")


def pytest_report_header(config: pytest.Config) -> list[str]:
    cfg = config.stash.get(_CONFIG, None)
    if cfg is None:
        return []
    tier = config.getoption("--tier")
    live, why = config.stash[_LIVE]
    lives = f"live tests {'run' if live else 'skipped'} ({why})"
    if not config.stash[_SESSION]:
        return [f"shipline: plain pytest, tiers not inferred (nox -s TIER or --tier); {lives}"]
    selected = f"tier {tier}" if tier else "all tiers"
    return [f"shipline: {selected}; unmarked tests count as {cfg.tests.default_tier}; {lives}"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    cfg = config.stash.get(_CONFIG, None)
    if cfg is None:
        return
    _skip_live(items, *config.stash[_LIVE])
    if not config.stash[_SESSION]:
        return
    wanted = config.getoption("--tier")
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        names = {mark.name for mark in item.iter_markers()}
        tiers, added = item_tiers(cfg, item.path, names)
        for marker in added:
            item.add_marker(marker)
        (selected if wanted is None or wanted in tiers else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def _skip_live(items: list[pytest.Item], live: bool, why: str) -> None:
    """`live` tests stay off the deployed service unless asked, in sessions and plain pytest."""
    if live:
        return
    for item in items:
        if item.get_closest_marker(LIVE_MARKER) is not None:
            item.add_marker(pytest.mark.skip(reason=f"live tests off ({why})"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    cfg = config.stash.get(_CONFIG, None)
    wanted = config.getoption("--tier")
    if cfg is None or wanted is None or exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED:
        return
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller reports for the whole run
    tier = cfg.tier(wanted)
    if tier.optional:
        config.stash[_EMPTY] = (
            f"shipline: tier {wanted!r} has no tests; it is optional, so this passes"
        )
        session.exitstatus = pytest.ExitCode.OK
    else:
        config.stash[_EMPTY] = (
            f"shipline: tier {wanted!r} selected no tests: mark tests "
            f"@pytest.mark.{tier.marker}, put them under {', '.join(tier.paths) or 'a tier path'}, "
            f"or declare it optional ([tool.shipline.tiers.{wanted}] optional = true)"
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    message = terminalreporter.config.stash.get(_EMPTY, None)
    if message:
        optional = message.endswith("passes")
        terminalreporter.write_line(message, yellow=optional, red=not optional, bold=True)
