"""`target = "swarm"`: deploys to a real four-node Docker Swarm under load.

Every node is a network namespace with its own engine and sshd (support.netns);
shipline reaches only the manager, over SSH, and runs `docker` there. The app
publishes its port in host mode on the node running each task, and nginx on this
machine's loopback spreads the load over all four nodes (support.swarm says why).
Two replicas on four nodes: start-first always has a node to start a new task on,
even with one node drained. The cases run in order on one swarm.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import registry as registry_support
from support import swarm as swarm_support
from support.deploy_images import build_and_push, remove_images
from support.load import Load
from support.netns import NSHost, shared_address
from support.run import Result, clean_env, run
from support.sandbox import free_port

TOKEN = "swarm-secret-token"
PATH = "/srv/shipline-swarm-test"
PORT = 18001
SERVICE = "web_app"
TAGS = ["v1", "v2", "v3-unhealthy", "v3-wrong"]


@dataclass
class Swarm:
    project: Path
    nodes: list[NSHost]
    password: str
    lb: str
    digests: dict[str, str]

    @property
    def manager(self) -> NSHost:
        return self.nodes[0]


def write_project(root: Path, *, image: str, lb_url: str, extra: str = "") -> None:
    swarm_support.write_project(
        root, image=image, url=lb_url, path=PATH, port=PORT, token=TOKEN, extra=extra
    )


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swarm]:
    with ExitStack() as stack:
        try:
            shared = stack.enter_context(shared_address())
            registry = stack.enter_context(registry_support.registry(listen="0.0.0.0"))  # noqa: S104
            port = registry.host.split(":")[1]
            local, remote = f"127.0.0.1:{port}", f"{shared}:{port}"
            build_and_push(local, registry.username, registry.password, "acme/web", TAGS)
            stack.callback(remove_images, f"{local}/acme/web")
            digests = {t: registry.manifest_digest("acme/web", t) for t in TAGS}
            nodes = stack.enter_context(swarm_support.swarm((21, 22, 23, 24), PATH, remote))
            lb = stack.enter_context(
                swarm_support.balancer(free_port(), [f"{n.address}:{PORT}" for n in nodes])
            )
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            pytest.fail(f"cannot set up the swarm: {exc}")
        project = tmp_path_factory.mktemp("swarm") / "web"
        project.mkdir()
        write_project(project, image=f"{remote}/acme/web", lb_url=lb.url)
        # One client key for every node (each ns_host made its own pair).
        for node in nodes[1:]:
            shutil.copy(nodes[0].key.with_suffix(".pub"), node.key.parent / "authorized_keys")
        (project / "known_hosts").write_text("".join(n.known_hosts.read_text() for n in nodes))
        yield Swarm(project, nodes, registry.password, lb.url, digests)


def invoke(s: Swarm, task: str, *args: str, host: str | None = None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "invoke",
        task,
        "--host",
        host or s.manager.spec,
        "--known-hosts",
        str(s.project / "known_hosts"),
        "--key",
        str(s.manager.key),
        *args,
    ]


def deploy(
    s: Swarm, *args: str, task: str = "deploy", host: str | None = None, cwd: Path | None = None
) -> Result:
    env = {"GITHUB_ACTOR": "ci", "GITHUB_TOKEN": s.password}
    return run(invoke(s, task, *args, host=host), cwd=cwd or s.project, env=env)


def replicas(s: Swarm) -> list[str]:
    """The tag of each running task, by its image digest."""
    tags = {digest: tag for tag, digest in s.digests.items()}
    found = swarm_support.running_tasks(s.manager, SERVICE)
    return sorted(tags.get(image.rsplit("@", 1)[-1], image) for _, _, image in found)


def load(s: Swarm) -> Load:
    return Load(f"{s.lb}/health", threads=2, max_seconds=240)


def test_01_first_deploy_then_rolling_update_under_load(swarm: Swarm) -> None:
    first = deploy(swarm, "--version", "v1")
    assert first.code == 0, first
    assert replicas(swarm) == ["v1", "v1"]
    assert TOKEN not in first.output
    with load(swarm) as traffic:
        result = deploy(swarm, "--version", "v2")
    assert result.code == 0, result
    assert traffic.failed == 0, traffic.failures
    assert traffic.sent > 50
    assert {"v1", "v2"} <= set(traffic.versions)
    assert replicas(swarm) == ["v2", "v2"]
    # The app's image is pinned by digest in the service's spec.
    spec = swarm_support.docker(
        swarm.manager,
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        SERVICE,
    )
    assert spec.strip().endswith(f"@{swarm.digests['v2']}"), spec
    # Tasks ran on the nodes' own engines (two of the four).
    nodes = {node for _, node, _ in swarm_support.running_tasks(swarm.manager, SERVICE)}
    assert len(nodes) == 2


def test_02_no_network_of_the_swarm_in_a_private_range(swarm: Swarm) -> None:
    assert swarm_support.bad_subnets(swarm.nodes) == []
    seen = swarm_support.subnets(swarm.manager)
    assert {"ingress", "docker_gwbridge", "web_default"} <= set(seen), seen


def test_03_a_version_never_healthy_is_rolled_back_by_swarm(swarm: Swarm) -> None:
    with load(swarm) as traffic:
        result = deploy(swarm, "--version", "v3-unhealthy")
    assert result.code == 1, result
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("shipline: error: "), result
    assert "the update rolled back by itself" in last, result
    assert f"tasks of {SERVICE}:" in result.output  # diagnostics: each task's state and error
    assert TOKEN not in result.output
    assert traffic.failed == 0, traffic.failures
    assert traffic.sent > 20
    assert replicas(swarm) == ["v2", "v2"]


def test_04_failing_smoke_checks_roll_the_service_back(swarm: Swarm) -> None:
    with load(swarm) as traffic:
        result = deploy(swarm, "--version", "v3-wrong")
    assert result.code == 1, result
    last = result.output.strip().splitlines()[-1]
    assert "smoke checks failed" in last, result
    assert f"rolled {SERVICE} back" in last, result
    assert traffic.failed == 0, traffic.failures
    assert replicas(swarm) == ["v2", "v2"]


def test_05_a_node_drained_during_the_update(swarm: Swarm) -> None:
    manager = swarm.manager
    env = clean_env({"GITHUB_ACTOR": "ci", "GITHUB_TOKEN": swarm.password})
    with load(swarm) as traffic:
        process = subprocess.Popen(
            invoke(swarm, "deploy", "--version", "v1"),
            cwd=swarm.project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Once one v1 task runs and one v2 task is left, drain the node of the v2 task:
        # swarm must finish the update on the other nodes.
        drained = ""
        deadline = time.monotonic() + 90
        while not drained and time.monotonic() < deadline and process.poll() is None:
            tasks = swarm_support.running_tasks(manager, SERVICE)
            new = [n for _, n, image in tasks if image.endswith(swarm.digests["v1"])]
            old = [n for _, n, image in tasks if image.endswith(swarm.digests["v2"])]
            if new and len(old) == 1 and old[0] not in new:
                drained = old[0]
                swarm_support.docker(manager, "node", "update", "--availability", "drain", drained)
            time.sleep(0.2)
        output, _ = process.communicate(timeout=240)
    try:
        assert drained, output
        assert process.returncode == 0, output
        assert traffic.failed == 0, traffic.failures
        assert replicas(swarm) == ["v1", "v1"]
        nodes = {node for _, node, _ in swarm_support.running_tasks(manager, SERVICE)}
        assert drained not in nodes
    finally:
        if drained:
            swarm_support.docker(manager, "node", "update", "--availability", "active", drained)


def test_06_rollback_returns_to_the_recorded_previous_version(swarm: Swarm) -> None:
    with load(swarm) as traffic:
        result = deploy(swarm, task="rollback")
    assert result.code == 0, result
    assert "back on v2" in result.output, result
    assert traffic.failed == 0, traffic.failures
    assert replicas(swarm) == ["v2", "v2"]
    audit = swarm.manager.key.parent / "srv" / "audit.log"
    assert re.search(r" deployed v2 \(", audit.read_text().splitlines()[-1])


def test_07_lock_status_and_release_on_the_manager(swarm: Swarm) -> None:
    status = deploy(swarm, "--status", task="lock")
    assert status.code == 0, status
    assert status.output.strip() == f"{swarm.manager.spec}: not locked"
    lock = swarm.manager.key.parent / "srv" / ".deploy.lock"
    lock.mkdir()
    (lock / "owner").write_text(json.dumps({"who": "ops@laptop", "version": "v9", "since": "x"}))
    (lock / "token").write_text("theirs")
    try:
        blocked = deploy(swarm, "--version", "v1")
        assert blocked.code == 1, blocked
        assert "is locked by ops@laptop deploying v9" in blocked.output, blocked
        released = deploy(swarm, "--release", task="lock")
        assert released.code == 0
        assert "released (was held by ops@laptop" in released.output
    finally:
        shutil.rmtree(lock, ignore_errors=True)


def test_08_bad_input_is_one_line(swarm: Swarm, tmp_path: Path) -> None:
    def one_line(result: Result, code: int, pattern: str) -> None:
        lines = result.output.strip().splitlines()
        assert result.code == code, result
        assert len(lines) == 1, result
        assert re.search(pattern, lines[0]), result

    # No manager reachable: nothing listens on that port of the manager's namespace.
    unreachable = f"root@{swarm.manager.address}:2222"
    one_line(deploy(swarm, "--version", "v1", host=unreachable), 1, "no swarm manager reachable")
    # A worker is not a manager.
    worker = swarm.nodes[1].spec
    one_line(deploy(swarm, "--version", "v1", host=worker), 2, "is a worker, not a swarm manager")
    # A service the swarm does not run.
    other = tmp_path / "other"
    other.mkdir()
    write_project(
        other, image="198.18.0.1:5000/acme/web", lb_url=swarm.lb, extra='stack = "nope"\n'
    )
    result = deploy(swarm, task="rollback", cwd=other)
    one_line(result, 1, "nope_app: no such service on the swarm")
    # Configuration errors: exit 2, before any SSH.
    (other / "pyproject.toml").write_text(
        (other / "pyproject.toml").read_text().replace("replicas = 2", "replicas = 0")
    )
    one_line(deploy(swarm, "--version", "v1", cwd=other), 2, r"deploy\.swarm\.replicas: expected")
    assert replicas(swarm) == ["v2", "v2"]
