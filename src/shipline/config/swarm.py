"""The parsers of `[tool.shipline.deploy.swarm]`: the manager, placement constraints, a ratio.

Standard library only, like the rest of `shipline.config`. Every value here reaches
a `docker` command on the manager or the stack file shipline writes, so each is
checked against the narrow form those places take verbatim.
"""

from __future__ import annotations

import math
import re

from shipline.config.values import show
from shipline.errors import ConfigError

TARGETS = ("ssh", "swarm")
ORDERS = ("start-first", "stop-first")
FAILURE_ACTIONS = ("rollback", "pause")
MANAGER = re.compile(r"([a-z_][a-z0-9_.-]*)@([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d+))?")
CONSTRAINT = re.compile(r"(node|engine)\.[A-Za-z0-9_.-]+ ?(==|!=) ?[A-Za-z0-9_.:/-]+")
"""`node.role==worker`, `node.labels.zone!=eu-1`, `node.hostname==app1`."""


def manager(path: str, value: object) -> str:
    """A manager's SSH address, as `--host` takes it: user@host or user@host:port."""
    match = MANAGER.fullmatch(value) if isinstance(value, str) else None
    if match is None or (match.group(3) and not 0 < int(match.group(3)) < 65536):
        raise ConfigError(
            f'{path}: expected user@host or user@host:port such as "deploy@manager1", '
            f"got {show(value)}"
        )
    return match.group(0)


def constraints(path: str, value: object) -> tuple[str, ...]:
    """Placement constraints, each `node.<attribute>==value` or `!=value`."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ConfigError(
            f'{path}: expected a list of constraints such as ["node.role==worker"], '
            f"got {show(value)}"
        )
    for index, item in enumerate(items):
        if not isinstance(item, str) or not CONSTRAINT.fullmatch(item):
            raise ConfigError(
                f"{path}[{index}]: expected a constraint such as "
                f'"node.role==worker" or "node.labels.zone!=eu-1", got {show(item)}'
            )
    return tuple(str(item) for item in items)


def ratio(path: str, value: object) -> float:
    """A fraction from 0 to 1 (swarm's max_failure_ratio)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise ConfigError(f"{path}: expected a number from 0 to 1, got {show(value)}")
    return float(value)
