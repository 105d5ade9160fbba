"""A deploy across hosts: every lease first, then host by host (or batch by batch).

Order of a run: take every host's lease in a fixed order (or none); resolve
the version to a digest once; for each host, read what it really runs, plan
from that, execute. Any failure undoes that host and puts the hosts already
updated back on what they ran, by digest, while the leases are still held;
then every lease is released. SIGINT and SIGTERM take the same path.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from shipline.clock import now
from shipline.deploy import lease as leases
from shipline.deploy.executor import DeployFailed, Executor, HostRun, Interrupted
from shipline.deploy.plan import Inputs, Release, plan_host
from shipline.deploy.survey import Truth
from shipline.errors import ShiplineError
from shipline.remote import HostSpec

Choose = Callable[[HostSpec, Truth], tuple[Release, bool]]
"""The release for a host given what it runs, and whether it is already pulled there."""


def batches(hosts: Sequence[HostSpec], size: int) -> list[list[HostSpec]]:
    return [list(hosts[i : i + size]) for i in range(0, len(hosts), size)]


@contextlib.contextmanager
def interruptible(ex: Executor) -> Iterator[None]:
    """SIGINT and SIGTERM set the run's cancel flag: the host being deployed stops at the
    next step boundary, undoes its work, and the leases are released."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        ex.signal_name = signal.Signals(signum).name
        ex.cancel.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class Rollout:
    ex: Executor
    inputs: Inputs
    name: str
    """The image name (no tag): what prune keeps or removes."""
    lock_wait: float = 0.0

    def host(self, host: HostSpec, choose: Choose) -> HostRun:
        """Read, plan and deploy one host (its lease is held)."""
        began = time.perf_counter()
        self.ex.check(host)
        truth = self.ex.survey(host)
        surveyed = time.perf_counter()
        release, pulled = choose(host, truth)
        chosen = time.perf_counter()
        plan = plan_host(
            self.ex.cfg, host=host, release=release, truth=truth, inputs=self.inputs, pulled=pulled
        )
        serves = f"; {truth.live} serves {truth.running.version}" if truth.running else ""
        self.ex.say(
            host, f"deploying {release.version} ({release.image}) into slot {plan.next}{serves}"
        )
        run = self.ex.execute(plan)
        finishing = time.perf_counter()
        self.ex.finish(plan, self.name)
        done = time.perf_counter()
        run.timings += [
            ("read the host", surveyed - began),
            ("resolve the version", chosen - surveyed),
            ("record, audit, prune", done - finishing),
        ]
        run.seconds = done - began  # the host's whole time, survey to record
        return run

    def group(
        self, group: list[HostSpec], choose: Choose
    ) -> tuple[list[HostRun], list[BaseException]]:
        if len(group) == 1:
            try:
                return [self.host(group[0], choose)], []
            except Exception as exc:
                return [], [exc]
        done: list[HostRun] = []
        failures: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=len(group)) as pool:
            futures = [pool.submit(self.host, h, choose) for h in group]
            pending = set(futures)
            while pending:  # short waits, so the main thread keeps receiving signals
                _, pending = wait(pending, timeout=0.2)
            for future in futures:
                error = future.exception()
                if error is None:
                    done.append(future.result())
                else:
                    failures.append(error)
        return done, failures

    def run(
        self, hosts: Sequence[HostSpec], size: int, version: str, choose: Choose
    ) -> list[HostRun]:
        ex = self.ex
        owner = leases.owner_record(ex.who, version)
        ttl = ex.cfg.deploy.lock_ttl
        with interruptible(ex):
            held = [leases.Lease(h, ex.remote(h), ex.cfg.deploy.path, ttl) for h in hosts]
            ex.leases = {lease.host: lease for lease in held}
            leases.acquire_all(
                held,
                owner=owner,
                wait=self.lock_wait,
                cancelled=ex.cancel.is_set,
                say=lambda line: ex.say(None, line),
            )
            try:
                for lease in held:
                    if lease.broken:
                        text = (
                            f"broke a stale lock held by {lease.broken.describe()} "
                            f"(no heartbeat for {lease.broken.heartbeat_age} s)"
                        )
                        ex.say(lease.host, text)
                        ex.audit(lease.host, f"{now()} {ex.who} {text}")
                with leases.Heartbeat(held, ttl):
                    return self._batches(hosts, size, choose)
            finally:
                for lease in held:
                    with contextlib.suppress(ShiplineError):
                        lease.release()

    def _batches(self, hosts: Sequence[HostSpec], size: int, choose: Choose) -> list[HostRun]:
        done: list[HostRun] = []
        for group in batches(hosts, size):
            ok, failures = self.group(group, choose)
            done += ok
            if failures:
                restored, stuck = self.restore(done)
                first = failures[0]
                suffix = f"; rolled back {', '.join(restored)}" if restored else ""
                if stuck:
                    suffix += (
                        f"; {'; '.join(stuck)}: the fleet is NOT on one version, fix those "
                        "hosts and run `invoke rollback`"
                    )
                elif restored:
                    suffix += " so the fleet stays on one version"
                if isinstance(first, Interrupted):
                    raise Interrupted(f"{first}{suffix}")
                if isinstance(first, ShiplineError):
                    raise DeployFailed(f"{first}{suffix}")
                raise first
        return done

    def restore(self, done: Sequence[HostRun]) -> tuple[list[str], list[str]]:
        """Put hosts this run already updated back on the image they ran, by digest.

        Returns the hosts put back and those that could not be.
        """
        names: list[str] = []
        stuck: list[str] = []
        saved = self.ex.cancel.is_set()
        self.ex.cancel.clear()  # a signal stopped the run; the restore itself must run
        try:
            for run in reversed(done):  # every host is tried: one failing does not strand the rest
                before, host = run.plan.running, run.plan.host
                if before is None:
                    self.ex.say(
                        host, f"had no previous version; leaving {run.plan.release.version}"
                    )
                    continue
                self.ex.say(host, f"restoring {before.version} ({before.image})")
                try:
                    self.host(host, fixed(Release(before.version, before.image)))
                except ShiplineError as exc:
                    stuck.append(f"{host} could NOT be put back on {before.version} ({exc})")
                    continue
                names.append(f"{host} back on {before.version}")
        finally:
            if saved:
                self.ex.cancel.set()
        return names, stuck


def fixed(release: Release) -> Choose:
    def choose(_host: HostSpec, _truth: Truth) -> tuple[Release, bool]:
        return release, False

    return choose
