"""Installing the project and a check's tools in a nox session, by `shipline.installplan`.

Kept apart from the plan so that the plan (imported by `shipline.pins`, hence by
the catalogue) stays free of nox.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nox
from nox.virtualenv import find_uv

from shipline.config import Config
from shipline.errors import ConfigError, ShiplineError
from shipline.installplan import LOCK, defer_to_lock, export, locked_names, plan


def install(
    session: nox.Session, config: Config, project: Sequence[str], tools: Sequence[str]
) -> None:
    """Install the project and the tools in the session by the project's plan."""
    try:
        chosen = plan(config)
        locked: Path | None = None
        if chosen.source == "uv.lock":
            has_uv, uv, _ = find_uv()
            if not has_uv:
                raise ConfigError(
                    f"{LOCK} found, but uv is not installed beside nox; install nox[uv], "
                    'or set tool.shipline.lock = "off" to resolve afresh'
                )
            venv = Path(getattr(session.virtualenv, "location", None) or config.root / ".nox")
            locked = export(uv, config, chosen, venv / "shipline-locked.txt")
            tools = defer_to_lock(tools, locked_names(locked.read_text(encoding="utf-8")))
    except ShiplineError as exc:
        session.error(str(exc))
    session.log(chosen.describe())
    session.install(*chosen.install_args(project, tools, locked))
