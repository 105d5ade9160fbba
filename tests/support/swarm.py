"""A real Docker Swarm of namespace hosts, and nginx in front of it, for tests and benchmarks.

Every node is a `netns.ns_host` (its own network namespace, dockerd and sshd); the
nodes reach each other through this machine, which routes between their /30 links.
Every address stays in 198.18.0.0/15: the nodes' links (198.18.N.0/30), swarm's
overlay pool (198.19.0.0/17) and each engine's local pool, which docker_gwbridge
takes its subnet from (198.19.128.0/17).

The app's tasks publish their port in host mode on the node that runs them (the
engines run with --iptables=false, so swarm's ingress routing mesh cannot work);
nginx on this machine's loopback spreads requests over every node and moves a
request to the next node when one refuses it or answers 502/503/504 (a node with no
task, a task stopping, a new task not yet serving).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from support.netns import NSHost, ns_host
from support.sandbox import PROXY_IMAGE

NODE_POOL = ("--default-address-pool", "base=198.19.128.0/17,size=24")
"""The engines' local pool (docker_gwbridge, any local network)."""
SWARM_POOL = "198.19.0.0/17"
"""Swarm's pool for overlay networks (its default, 10.0.0.0/8, must never be used here)."""
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
ALLOWED = ipaddress.ip_network("198.18.0.0/15")


def _docker(host: NSHost, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKER_HOST": host.docker_host},
    )


def docker(host: NSHost, *args: str) -> str:
    done = _docker(host, *args)
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} on {host.address}: {done.stderr.strip()}")
    return done.stdout


@contextlib.contextmanager
def forwarding() -> Iterator[None]:
    """The machine routes between the nodes' links; restored as it was."""
    path = Path("/proc/sys/net/ipv4/ip_forward")
    before = path.read_text().strip()
    if before != "1":
        path.write_text("1\n")
    try:
        yield
    finally:
        if before != "1":
            path.write_text(before + "\n")


@contextlib.contextmanager
def swarm(indices: Sequence[int], deploy_path: str, registry: str) -> Iterator[list[NSHost]]:
    """Nodes `indices` (the first the manager, the rest workers), in one swarm."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(forwarding())
        nodes = [stack.enter_context(ns_host(i, deploy_path, registry, NODE_POOL)) for i in indices]
        manager = nodes[0]
        stack.callback(_leave, nodes)
        docker(
            manager,
            "swarm",
            "init",
            "--advertise-addr",
            manager.address,
            "--listen-addr",
            f"{manager.address}:2377",
            "--default-addr-pool",
            SWARM_POOL,
            "--default-addr-pool-mask-length",
            "24",
        )
        token = docker(manager, "swarm", "join-token", "-q", "worker").strip()
        for node in nodes[1:]:
            docker(
                node,
                "swarm",
                "join",
                "--token",
                token,
                "--advertise-addr",
                node.address,
                "--listen-addr",
                f"{node.address}:2377",
                f"{manager.address}:2377",
            )
        deadline = time.monotonic() + 60
        while docker(manager, "node", "ls", "--format", "{{.Status}}").split().count("Ready") < len(
            nodes
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(f"swarm nodes not ready: {docker(manager, 'node', 'ls')}")
            time.sleep(0.5)
        yield nodes


def _leave(nodes: Sequence[NSHost]) -> None:
    for node in reversed(nodes):
        _docker(node, "swarm", "leave", "--force")


def subnets(node: NSHost) -> dict[str, list[str]]:
    """Each network the node's engine knows, with its subnets."""
    ids = docker(node, "network", "ls", "-q").split()
    out = docker(
        node,
        "network",
        "inspect",
        "--format",
        "{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}",
        *ids,
    )
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        name, *nets = line.split()
        found[name] = nets
    return found


def bad_subnets(nodes: Sequence[NSHost]) -> list[str]:
    """Subnets in a private range (10/8, 172.16/12, 192.168/16) or outside 198.18.0.0/15."""
    bad = []
    for node in nodes:
        for name, nets in subnets(node).items():
            for net in nets:
                network = ipaddress.ip_network(net)
                if any(network.overlaps(p) for p in PRIVATE) or not network.subnet_of(ALLOWED):
                    bad.append(f"{node.address} {name} {net}")
    return bad


def node_of(manager: NSHost, task: str) -> str:
    return docker(manager, "inspect", "--format", "{{.NodeID}}", task).strip()


def running_tasks(manager: NSHost, service: str) -> list[tuple[str, str, str]]:
    """(task id, node id, image) of each task swarm wants running and that runs."""
    out = docker(
        manager,
        "service",
        "ps",
        "--no-trunc",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.ID}} {{.Image}} {{.CurrentState}}",
        service,
    )
    found = []
    for line in out.splitlines():
        task, image, state = line.split(" ", 2)
        if state.startswith("Running"):
            found.append((task, node_of(manager, task), image))
    return found


def node_ids(manager: NSHost) -> dict[str, str]:
    """Node id -> the node's address."""
    ids = docker(manager, "node", "ls", "-q").split()
    out = docker(manager, "node", "inspect", "--format", "{{.ID}} {{.Status.Addr}}", *ids)
    return dict(line.split() for line in out.splitlines())


@dataclass(frozen=True)
class Balancer:
    url: str
    container: str


@contextlib.contextmanager
def balancer(port: int, upstreams: Sequence[str]) -> Iterator[Balancer]:
    """nginx on 127.0.0.1:`port` (this machine's engine, host network) over `upstreams`."""
    servers = "".join(f"        server {u} max_fails=1 fail_timeout=1s;\n" for u in upstreams)
    conf = f"""worker_processes 1;
pid /tmp/nginx-swarm-lb.pid;
error_log /dev/stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    upstream nodes {{
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://nodes;
            proxy_connect_timeout 1s;
            proxy_read_timeout 10s;
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_next_upstream_tries 0;
        }}
    }}
}}
"""
    directory = Path(tempfile.mkdtemp(prefix="shipline-swarm-lb-"))
    (directory / "nginx.conf").write_text(conf)
    name = f"shipline-swarm-lb-{os.getpid()}-{port}"
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            "-v",
            f"{directory}:/etc/lb:ro",
            PROXY_IMAGE,
            "nginx",
            "-c",
            "/etc/lb/nginx.conf",
            "-g",
            "daemon off;",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield Balancer(f"http://127.0.0.1:{port}", name)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        for child in directory.iterdir():
            child.unlink()
        directory.rmdir()


APP = Path(__file__).parent / "deploy_app"
"""The test app (tests/support/deploy_app) whose compose file the swarm projects deploy."""


def write_project(
    root: Path, *, image: str, url: str, path: str, port: int, token: str, extra: str = ""
) -> None:
    """A project deploying the test app to a swarm: `url` the front nginx, `extra` more
    [tool.shipline.deploy.swarm] keys. Its tasks listen on all addresses (BIND), as a
    task published in host mode must; the suite and the benchmark write the same one."""
    (root / "pyproject.toml").write_text(f"""[project]
name = "web"
version = "1.0.0"

[tool.shipline.image]
name = "{image}"

[tool.shipline.deploy]
target = "swarm"
app = "web"
path = "{path}"
base-port = {port}
env-file = "prod.env"
url = "{url}"

[tool.shipline.deploy.swarm]
replicas = 2
monitor = 2
update-timeout = 120
{extra}""")
    compose = (APP / "compose.yml").read_text()
    compose = compose.replace(
        "      APP_VERSION: ${APP_VERSION}\n",
        "      APP_VERSION: ${APP_VERSION}\n      BIND: 0.0.0.0\n",
    )
    (root / "compose.yml").write_text(compose)
    (root / "prod.env").write_text(f"API_TOKEN={token}\n")
    (root / "tasks.py").write_text("from shipline.tasks import namespace\n")
