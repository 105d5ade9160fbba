"""Deploys across several real hosts: network namespaces, each with its own sshd and dockerd."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
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
from support.run import Result, run

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


def deploy(project: Path, hosts: list[NSHost], password: str, *args: str) -> Result:
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
    return run(argv, cwd=project, env={"GITHUB_ACTOR": "ci", "GITHUB_TOKEN": password})


def serving(host: NSHost) -> str:
    url = f"http://{host.address}:{PROXY_PORT}/health"
    return str(httpx.get(url, timeout=5).json()["version"])


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
    assert out.index(f"[{hosts[0].spec}] smoke checks") < out.index(f"[{hosts[1].spec}] lock")
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
