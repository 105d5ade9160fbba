"""Deploys across several real hosts: network namespaces, each with its own sshd and dockerd."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support import registry as registry_support
from support.deploy_images import (
    build_and_push,
    docker,
    proxy_image,
    remove_images,
    write_project,
)
from support.load import Load
from support.netns import NSHost, ns_host, shared_address
from support.postgres import free_port
from support.run import Result, clean_env, run

APP = Path(__file__).parents[1] / "support" / "deploy_app"
PROXY_PORT = 18080


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[NSHost], str]]:
    with ExitStack() as stack:
        try:
            shared = stack.enter_context(shared_address())
            # One listener for loopback (pushes) and the namespace hosts (pulls).
            registry = stack.enter_context(
                registry_support.registry(listen="0.0.0.0")  # noqa: S104
            )
            port = registry.host.split(":")[1]
            local, remote = f"127.0.0.1:{port}", f"{shared}:{port}"
            build_and_push(  # logs in, so the nginx push below is allowed too
                local, registry.username, registry.password, "acme/web", ["v1", "v2", "v4"]
            )
            docker("tag", proxy_image(), f"{local}/test/nginx:1")
            docker("push", "-q", f"{local}/test/nginx:1")
            path = "/srv/shipline-fleet-test"
            hosts = [stack.enter_context(ns_host(i, path, remote)) for i in (11, 12)]
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            pytest.fail(f"cannot set up the namespace hosts: {exc}")
        project = tmp_path_factory.mktemp("fleet") / "web"
        project.mkdir()
        write_project(
            project,
            image=f"{remote}/acme/web",
            app="web",
            path=path,
            proxy_port=PROXY_PORT,
            base_port=free_port(),
            proxy_image=f"{remote}/test/nginx:1",
            token="fleet",
        )
        (project / "known_hosts").write_text("".join(h.known_hosts.read_text() for h in hosts))
        yield project, hosts, registry.password
        remove_images(f"{local}/acme/web")
        remove_images(f"{local}/test/nginx")


def deploy_argv(project: Path, hosts: list[NSHost], *args: str) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "invoke",
        "deploy",
        "--known-hosts",
        str(project / "known_hosts"),
        "--key",
        str(hosts[0].key),
        *args,
    ]
    for host in hosts:
        argv += ["--host", host.spec]
    return argv


def deploy(project: Path, hosts: list[NSHost], password: str, *args: str) -> Result:
    argv = deploy_argv(project, hosts, *args)
    return run(argv, cwd=project, env={"GITHUB_ACTOR": "ci", "GITHUB_TOKEN": password})


@dataclass
class Timed:
    """A deploy's exit status and its output lines, each with when the test read it."""

    version: str
    code: int
    lines: list[tuple[float, str]]

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def __str__(self) -> str:
        return f"deploy of {self.version}: exit {self.code}\n{self.output}"


def deploy_timed(
    project: Path,
    hosts: list[NSHost],
    env: Mapping[str, str],
    version: str,
    *args: str,
    start: threading.Barrier,
    limit: float = 300,
) -> Timed:
    """A deploy whose output is read line by line as it is printed (the deploy flushes
    each line), so two deploys' lines can be put in order; killed after `limit` s."""
    argv = deploy_argv(project, hosts, "--version", version, *args)
    start.wait(timeout=30)
    process = subprocess.Popen(
        argv,
        cwd=project,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    killer = threading.Timer(limit, process.kill)
    killer.start()
    lines: list[tuple[float, str]] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic(), line.rstrip("\n")))
        code = process.wait(timeout=30)
    finally:
        killer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    return Timed(version, code, lines)


def at_once(
    project: Path, hosts: list[NSHost], password: str, versions: tuple[str, str], *args: str
) -> list[Timed]:
    """Two fleet deploys started together, one per version, each its own GitHub run."""
    start = threading.Barrier(len(versions))
    with ThreadPoolExecutor(max_workers=len(versions)) as pool:
        futures = [
            pool.submit(
                deploy_timed,
                project,
                hosts,
                {"GITHUB_ACTOR": "ci", "GITHUB_RUN_ID": run_id(v), "GITHUB_TOKEN": password},
                v,
                *args,
                start=start,
            )
            for v in versions
        ]
        return [future.result(timeout=400) for future in futures]


def steps(output: str, host: NSHost) -> list[tuple[int, int, str]]:
    """The host's `step K/N: NAME` lines, in order."""
    pattern = re.compile(rf"^\[{re.escape(host.spec)}\] step (\d+)/(\d+): (.+)$", re.MULTILINE)
    return [(int(k), int(n), name) for k, n, name in pattern.findall(output)]


def deploy_dir(host: NSHost) -> Path:
    """The host's deploy path as this machine sees it: `ns_host` bind-mounts the `srv`
    directory beside the host's key onto the deploy path inside the host."""
    return host.key.parent / "srv"


def audit(host: NSHost) -> list[str]:
    log = deploy_dir(host) / "audit.log"
    return log.read_text().splitlines() if log.exists() else []


def outcomes(lines: list[str]) -> list[tuple[str, str]]:
    """(deployed or rolled-back, version) of each audit line that records a deploy."""
    found = (re.search(r" (deployed|rolled-back) (\S+) \(", line) for line in lines)
    return [(m[1], m[2]) for m in found if m]


def serving(host: NSHost) -> str:
    url = f"http://{host.address}:{PROXY_PORT}/health"
    return str(httpx.get(url, timeout=5).json()["version"])


def run_id(version: str) -> str:
    """A GitHub run id (digits) per version, so a lock's owner names the run holding it."""
    return str(1000 + sum(map(ord, version)))


def first_step(result: Timed) -> float:
    """When a deploy ran its first step (took its leases): after any waiting line."""
    return min(t for t, line in result.lines if " step " in line)


def test_01_first_deploy_to_both_hosts_in_one_batch(
    fleet: tuple[Path, list[NSHost], str],
) -> None:
    project, hosts, password = fleet
    # Both hosts take the same client key (the fixture gives each host its own pair).
    shutil.copy(hosts[0].key.with_suffix(".pub"), hosts[1].key.parent / "authorized_keys")
    result = deploy(project, hosts, password, "--version", "v1", "--batch", "2")
    assert result.code == 0, result
    assert [serving(h) for h in hosts] == ["v1", "v1"]
    # Each host is a host of its own: its own engine ran the containers.
    for host in hosts:
        assert "web-blue-app-1" in host.docker("ps", "--format", "{{.Names}}")


def test_02_rolling_deploy_host_by_host_under_load(
    fleet: tuple[Path, list[NSHost], str],
) -> None:
    project, hosts, password = fleet
    with (
        Load(f"http://{hosts[0].address}:{PROXY_PORT}/health") as first,
        Load(f"http://{hosts[1].address}:{PROXY_PORT}/health") as second,
    ):
        result = deploy(project, hosts, password, "--version", "v2")
    assert result.code == 0, result
    out = result.output
    # Host by host: every step of the first host, its smoke checks among them, before the
    # second host's first step.
    for host in hosts:
        done = steps(out, host)
        assert [k for k, _, _ in done] == list(range(1, len(done) + 1)), out
        assert {n for _, n, _ in done} == {len(done)}, out
        assert "smoke checks" in [name for _, _, name in done], out
    smoke = next(k for k, _, name in steps(out, hosts[0]) if name == "smoke checks")
    last, _, final = steps(out, hosts[0])[-1]
    second_starts = out.index(f"[{hosts[1].spec}] step 1/")
    assert out.index(f"[{hosts[0].spec}] step {smoke}/{last}: smoke checks") < second_starts
    assert out.index(f"[{hosts[0].spec}] step {last}/{last}: {final}") < second_starts
    assert (first.failed, second.failed) == (0, 0), first.failures + second.failures
    assert first.sent > 50
    assert second.sent > 50
    assert [serving(h) for h in hosts] == ["v2", "v2"]


def test_03_second_host_fails_and_the_first_is_rolled_back(
    fleet: tuple[Path, list[NSHost], str],
) -> None:
    project, hosts, password = fleet
    hosts[1].cut_network()  # host 2 can no longer pull from the registry
    try:
        with Load(f"http://{hosts[0].address}:{PROXY_PORT}/health") as load:
            result = deploy(project, hosts, password, "--version", "v4")
    finally:
        hosts[1].restore_network()
    assert result.code == 1, result
    assert f"[{hosts[0].spec}] restoring v2" in result.output
    assert f"rolled back {hosts[0].spec} back on v2 so the fleet stays on one version" in (
        result.output
    )
    assert load.failed == 0, load.failures
    assert {"v2", "v4"} <= set(load.versions)  # host 1 ran v4, then went back
    assert [serving(h) for h in hosts] == ["v2", "v2"]


def test_04_two_fleet_deploys_at_once_end_on_one_version(
    fleet: tuple[Path, list[NSHost], str],
) -> None:
    project, hosts, password = fleet
    urls = [f"http://{h.address}:{PROXY_PORT}/health" for h in hosts]

    # With --lock-wait: whichever takes the leases first deploys; the other waits, then
    # deploys the whole fleet after it. The fleet ends on the version that ran last.
    before = [len(audit(h)) for h in hosts]
    with Load(urls[0], max_seconds=300) as first, Load(urls[1], max_seconds=300) as second:
        results = at_once(project, hosts, password, ("v1", "v2"), "--lock-wait", "120")
    assert [r.code for r in results] == [0, 0], "\n\n".join(map(str, results))
    winner, waiter = sorted(results, key=lambda r: first_step(r))
    assert (first.failed, second.failed) == (0, 0), first.failures + second.failures
    assert first.sent > 50
    assert second.sent > 50
    assert set(first.versions) == set(second.versions) == {"v1", "v2"}
    for host in hosts:
        assert steps(winner.output, host), winner
        assert steps(waiter.output, host), waiter
    # The waiter said it was waiting, and ran no step (took no lease, changed nothing)
    # until the other deploy had run every step on every host.
    finished = max(t for t, line in winner.lines if " step " in line)
    assert finished < first_step(waiter), f"{winner}\n\n{waiter}"
    assert waiter.lines[0][1].startswith("waiting for "), waiter
    assert [serving(h) for h in hosts] == [waiter.version] * 2
    for host, count in zip(hosts, before, strict=True):
        assert outcomes(audit(host)[count:]) == [
            ("deployed", winner.version),
            ("deployed", waiter.version),
        ]
        assert not (deploy_dir(host) / ".deploy.lock").exists()  # both released their leases

    # Without --lock-wait: one deploys, the other stops at once with one line naming who
    # holds the first host's lease, and changes no host.
    served = waiter.version
    before = [len(audit(h)) for h in hosts]
    with Load(urls[0], max_seconds=300) as first, Load(urls[1], max_seconds=300) as second:
        results = at_once(project, hosts, password, ("v1", "v2"))
    assert sorted(r.code for r in results) == [0, 1], "\n\n".join(map(str, results))
    winner, loser = sorted(results, key=lambda r: r.code)
    holder = f"ci (GitHub run {run_id(winner.version)}) deploying {winner.version}"
    assert len(loser.lines) == 1, loser
    line = loser.lines[0][1]
    assert line.startswith(f"shipline: error: {hosts[0].spec} is locked by {holder} since "), loser
    assert (first.failed, second.failed) == (0, 0), first.failures + second.failures
    assert set(first.versions) | set(second.versions) <= {served, winner.version}
    assert [serving(h) for h in hosts] == [winner.version] * 2
    for host, count in zip(hosts, before, strict=True):
        assert outcomes(audit(host)[count:]) == [("deployed", winner.version)]
        assert not (deploy_dir(host) / ".deploy.lock").exists()


def test_05_lock_held_on_one_host_blocks_the_whole_fleet(
    fleet: tuple[Path, list[NSHost], str],
) -> None:
    project, hosts, password = fleet
    served = [serving(h) for h in hosts]
    version = "v4" if "v4" not in served else "v1"  # one the hosts do not run: a change shows
    logs = [audit(h) for h in hosts]
    # A live lease of another deploy on the SECOND host only (its heartbeat is now).
    lock = deploy_dir(hosts[1]) / ".deploy.lock"
    holder = {"who": "ops@laptop", "version": "v9-hotfix", "since": "2024-05-01T10:00:00Z"}
    lock.mkdir()
    try:
        (lock / "owner").write_text(json.dumps(holder) + "\n")
        (lock / "token").write_text("someone-elses-token")
        for wait in ("0", "3"):
            began = time.monotonic()
            result = deploy(project, hosts, password, "--version", version, "--lock-wait", wait)
            took = time.monotonic() - began
            assert result.code == 1, result
            lines = result.output.strip().splitlines()
            if wait != "0":  # one line says what it waits for, then the error
                assert lines.pop(0).startswith(f"waiting for {hosts[1].spec}'s lock"), result
            assert len(lines) == 1, result
            assert re.fullmatch(
                rf"shipline: error: {re.escape(hosts[1].spec)} is locked by ops@laptop "
                r"deploying v9-hotfix since 2024-05-01T10:00:00Z \(heartbeat \d+ s ago; "
                r"stale after 60 s\); wait for it \(--lock-wait SECONDS\).*",
                lines[0],
            ), result
            # It waited (--lock-wait 3), within bounds.
            assert float(wait) * 0.6 <= took < 30 + float(wait), (took, result)
            # Nothing changed anywhere: not the first host, whose lease was free.
            assert [serving(h) for h in hosts] == served
            assert [audit(h) for h in hosts] == logs
            assert not (deploy_dir(hosts[0]) / ".deploy.lock").exists()
            # The other deploy's lease is left as it was.
            assert json.loads((lock / "owner").read_text()) == holder
            assert (lock / "token").read_text() == "someone-elses-token"
    finally:
        shutil.rmtree(lock, ignore_errors=True)
