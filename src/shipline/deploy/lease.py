"""The deploy lock as a lease: an owner, a token, and a heartbeat the deploy renews.

A deploy that dies (SIGKILL, a lost laptop, a cancelled runner) stops renewing;
once its heartbeat is older than `lock-ttl` the next deploy breaks the lock,
says so, and writes it to the audit log. No one has to run
`invoke lock --release` after a crash. A fleet deploy takes every host's lease,
in a fixed order, before it changes any host (see `rollout`).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shipline import clock, health
from shipline.deploy import commands as cmd
from shipline.errors import ShiplineError
from shipline.progress import Echo
from shipline.remote import HostSpec, Remote, RemoteError


class Locked(ShiplineError):
    """Another deploy holds a host's lease (and it is not stale)."""


class LeaseLost(ShiplineError):
    """Our lease was broken by someone else: stop touching the host."""


@dataclass(frozen=True)
class Holder:
    heartbeat_age: int
    owner: str
    """The holder's record: JSON (who, version, since) or an older free-form line."""

    def describe(self) -> str:
        try:
            data = json.loads(self.owner)
        except ValueError:
            return self.owner.strip() or "someone (no owner recorded)"
        if not isinstance(data, dict):
            return self.owner.strip()
        who, version = data.get("who", "?"), data.get("version", "?")
        return f"{who} deploying {version} since {data.get('since', '?')}"


def parse_holder(text: str) -> Holder:
    """`held AGE OWNER...` or `broke AGE OWNER...` from the lease scripts."""
    words = text.strip().split(" ", 2)
    age = int(words[1]) if len(words) > 1 and words[1].lstrip("-").isdigit() else 0
    return Holder(age, words[2] if len(words) > 2 else "")


@dataclass
class Lease:
    """One host's lease for one deploy run."""

    host: HostSpec
    remote: Remote
    path: str
    ttl: float
    token: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    held: bool = False
    lost: bool = False
    broken: Holder | None = None
    """The stale lease this run broke, if it did."""

    def try_take(self, owner: str) -> Holder | None:
        """Take it, or break it when stale. Returns the holder that blocks us, else None."""
        out = self.remote.run(cmd.lease_acquire(self.path, self.token, owner, self.ttl))
        first = out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""
        if out.code == 0 and first.startswith(("taken", "broke")):
            self.held = True
            if first.startswith("broke"):  # kept across rounds: a later retake is plain
                self.broken = parse_holder(first)
            return None
        if out.code == 3:
            return (
                parse_holder(first)
                if first.startswith("held")
                else Holder(0, "a concurrent lock check")
            )
        detail = (out.stderr.strip() or out.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ShiplineError(f"cannot take the deploy lock on {self.host}: {detail[0]}")

    def renew(self) -> None:
        out = self.remote.run(cmd.lease_renew(self.path, self.token))
        if out.code == 3 and "lost" in out.stdout:
            self.lost = True

    def release(self) -> None:
        if self.held:
            self.remote.run(cmd.lease_release(self.path, self.token))
            self.held = False


def owner_record(who: str, version: str) -> str:
    return json.dumps({"who": who, "version": version, "since": clock.now()}, sort_keys=True)


def _release_all(leases: Sequence[Lease]) -> None:
    for lease in leases:
        if lease.held:
            with contextlib.suppress(ShiplineError):
                lease.release()


def acquire_all(
    leases: Sequence[Lease],
    *,
    owner: str,
    wait: float,
    cancelled: Callable[[], bool],
    sleep: Callable[[float], None] = time.sleep,
    say: Echo = lambda _line: None,
) -> None:
    """Every lease in a fixed order (by host), or none: a fleet deploy never holds some
    hosts while another holds the rest. Waits up to `wait` seconds for live holders."""
    ordered = sorted(leases, key=lambda lease: str(lease.host))
    deadline = time.monotonic() + wait
    delays = health.delays(0.2, 1.5, 2.0)
    waiting = False
    while True:
        blocked: list[tuple[Lease, Holder]] = []
        for lease in ordered:
            try:
                holder = lease.try_take(owner)
            except BaseException:  # every lease or none: give back what this round took
                _release_all(ordered)
                raise
            if holder:
                blocked.append((lease, holder))
                break  # in order: never hold a later host while waiting for an earlier one
        if not blocked:
            return
        _release_all(ordered)
        remaining = deadline - time.monotonic()
        lease, holder = blocked[0]
        if cancelled() or remaining <= 0:
            raise Locked(
                f"{lease.host} is locked by {holder.describe()} (heartbeat "
                f"{holder.heartbeat_age} s ago; stale after {lease.ttl:g} s); wait for it "
                "(--lock-wait SECONDS): a dead deploy's lock is broken once stale, or "
                "`invoke lock --release --host ...` removes it now"
            )
        if not waiting:
            say(f"waiting for {lease.host}'s lock, held by {holder.describe()} (up to {wait:g} s)")
            waiting = True
        sleep(min(next(delays), remaining))  # the last try is at the deadline


class Heartbeat:
    """Renews every held lease every ttl/3 seconds from a thread, until stopped."""

    def __init__(self, leases: Sequence[Lease], ttl: float) -> None:
        self.leases = list(leases)
        self.interval = max(0.5, ttl / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shipline-lease", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for lease in self.leases:
                if lease.held and not lease.lost:
                    # A failed renewal is the deploy's own commands' to report.
                    with contextlib.suppress(RemoteError):
                        lease.renew()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
