from __future__ import annotations

import itertools

import pytest

from shipline.health import NotHealthy, Probe, delays, wait_healthy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def scripted(*probes: Probe) -> object:
    states = iter(probes)
    last = probes[-1]
    return lambda: next(states, last)


STARTING = Probe("starting", "running", 0)
HEALTHY = Probe("healthy", "running", 0)


def test_backoff_starts_fast_and_is_capped() -> None:
    first = list(itertools.islice(delays(), 12))
    assert first[:3] == [0.1, pytest.approx(0.15), pytest.approx(0.225)]
    assert max(first) == 2.0
    assert first == sorted(first)


def test_waits_until_healthy_and_reports_the_time() -> None:
    clock = Clock()
    took = wait_healthy(
        scripted(STARTING, STARTING, STARTING, HEALTHY),
        120,
        what="app",  # type: ignore[arg-type]
        sleep=clock.sleep,
        clock=clock,
    )
    assert clock.sleeps == [0.1, pytest.approx(0.15), pytest.approx(0.225)]
    assert took == pytest.approx(0.475)


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        (Probe("starting", "exited", 0), "app crashed at boot (state exited, 0 restarts)"),
        (Probe("starting", "restarting", 2), "app crashed at boot (state restarting, 2 restarts)"),
        (Probe("unhealthy", "running", 0), "app is unhealthy: its healthcheck failed repeatedly"),
        (Probe("", "running", 0), "app has no healthcheck; add one"),
    ],
)
def test_fails_fast_with_the_reason(probe: Probe, message: str) -> None:
    clock = Clock()
    with pytest.raises(NotHealthy) as caught:
        wait_healthy(scripted(STARTING, probe), 120, what="app", sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)
    assert clock.now < 1


def test_times_out() -> None:
    clock = Clock()
    with pytest.raises(NotHealthy, match=r"app was not healthy after 10 s \(still starting\)"):
        wait_healthy(scripted(STARTING), 10, what="app", sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert 8 <= clock.now <= 10
