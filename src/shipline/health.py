"""Waiting for Docker's health status `healthy`: polling that starts fast and backs off."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from shipline.errors import ShiplineError


class NotHealthy(ShiplineError):
    """The new container never became healthy; the message says how it ended."""


@dataclass(frozen=True)
class Probe:
    health: str
    """Docker's .State.Health.Status: starting, healthy, unhealthy; "" when none is defined."""
    state: str
    """Docker's .State.Status: created, running, restarting, exited, dead."""
    restarts: int


def delays(first: float = 0.1, factor: float = 1.5, cap: float = 2.0) -> Iterator[float]:
    """0.1, 0.15, 0.225 ... up to 2 s: fast for quick starters, gentle for slow ones."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, cap)


def wait_healthy(
    probe: Callable[[], Probe],
    timeout: float,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Poll until healthy; fail at once on a crash or on Docker's verdict `unhealthy`."""
    start = clock()
    for delay in delays():
        seen = probe()
        if seen.health == "healthy" and seen.state == "running":
            return clock() - start
        if seen.state in ("exited", "dead") or seen.restarts > 0:
            raise NotHealthy(
                f"{what} crashed at boot (state {seen.state}, {seen.restarts} restarts)"
            )
        if seen.health == "unhealthy":
            raise NotHealthy(f"{what} is unhealthy: its healthcheck failed repeatedly")
        if seen.health == "" and seen.state == "running":
            raise NotHealthy(
                f"{what} has no healthcheck; add one (shipline waits for Docker's healthy status)"
            )
        if clock() - start + delay > timeout:
            raise NotHealthy(f"{what} was not healthy after {timeout:g} s (still {seen.health})")
        sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
