"""Benchmark a swarm update against an SSH-target fleet deploy on the same four nodes.

Usage: python benchmarks/bench_swarm.py [--rounds N] [--json PATH]

One setup for both: four network namespaces, each its own Docker Engine and sshd,
joined in one swarm (tests/support/swarm.py), a registry, the test app (v1, v2)
and nginx. Two projects deploy the same image to the same nodes:

- swarm: `target = "swarm"`, 2 replicas, start-first, parallelism 1, monitor 2 s;
  `invoke deploy --host <manager>`; nginx on loopback in front of the four nodes'
  published port.
- ssh fleet: the SSH target, `invoke deploy --host <node> x4` (host by host, each
  host's blue/green slots behind its own nginx); nginx on loopback in front of the
  four nodes' proxies.

A load generator (2 threads, a fresh connection per request) sends `GET /health`
through the matching front nginx for the whole of each deploy. Rounds alternate
v1 -> v2 -> v1 and the order of the two targets.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import registry as registry_support  # noqa: E402
from support import swarm as swarm_support  # noqa: E402
from support.deploy_images import build_and_push, docker, proxy_image, remove_images  # noqa: E402
from support.deploy_images import write_project as write_ssh_project  # noqa: E402
from support.load import Load  # noqa: E402
from support.netns import NSHost, shared_address  # noqa: E402
from support.run import run  # noqa: E402
from support.sandbox import free_port  # noqa: E402

PATH = "/srv/shipline-bench-swarm"
SWARM_PORT = 18001
SSH_PROXY = 18080
SSH_BASE = 18101


def swarm_project(root: Path, image: str, lb: str) -> None:
    swarm_support.write_project(
        root, image=image, url=lb, path=PATH, port=SWARM_PORT, token="bench"
    )


def invoke(project: Path, nodes: list[NSHost], hosts: list[NSHost], version: str) -> float:
    argv = [sys.executable, "-m", "invoke", "deploy", "--version", version]
    argv += ["--known-hosts", str(project.parent / "known_hosts"), "--key", str(nodes[0].key)]
    for host in hosts:
        argv += ["--host", host.spec]
    began = time.perf_counter()
    result = run(
        argv, cwd=project, env={"GITHUB_ACTOR": "ci", "GITHUB_TOKEN": os.environ["BENCH_TOKEN"]}
    )
    if result.code != 0:
        raise SystemExit(f"bench: deploy of {version} failed:\n{result.output[-3000:]}")
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"swarm": [], "ssh-fleet": []}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        shared = stack.enter_context(shared_address())
        registry = stack.enter_context(registry_support.registry(listen="0.0.0.0"))  # noqa: S104
        os.environ["BENCH_TOKEN"] = registry.password
        port = registry.host.split(":")[1]
        local, remote = f"127.0.0.1:{port}", f"{shared}:{port}"
        build_and_push(local, registry.username, registry.password, "bench/web", ["v1", "v2"])
        stack.callback(remove_images, f"{local}/bench/web")
        docker("tag", proxy_image(), f"{local}/bench/nginx:1")
        docker("push", "-q", f"{local}/bench/nginx:1")
        stack.callback(remove_images, f"{local}/bench/nginx")
        nodes = stack.enter_context(swarm_support.swarm((31, 32, 33, 34), PATH, remote))
        for node in nodes[1:]:
            shutil.copy(nodes[0].key.with_suffix(".pub"), node.key.parent / "authorized_keys")
        (tmp / "known_hosts").write_text("".join(n.known_hosts.read_text() for n in nodes))
        front = {
            "swarm": stack.enter_context(
                swarm_support.balancer(free_port(), [f"{n.address}:{SWARM_PORT}" for n in nodes])
            ),
            "ssh-fleet": stack.enter_context(
                swarm_support.balancer(free_port(), [f"{n.address}:{SSH_PROXY}" for n in nodes])
            ),
        }
        projects = {"swarm": tmp / "swarm", "ssh-fleet": tmp / "ssh"}
        for project in projects.values():
            project.mkdir()
        swarm_project(projects["swarm"], f"{remote}/bench/web", front["swarm"].url)
        write_ssh_project(
            projects["ssh-fleet"],
            image=f"{remote}/bench/web",
            app="benchssh",
            path=PATH,
            proxy_port=SSH_PROXY,
            base_port=SSH_BASE,
            proxy_image=f"{remote}/bench/nginx:1",
            token="bench",
        )
        targets = {"swarm": [nodes[0]], "ssh-fleet": nodes}
        for method, project in projects.items():  # both start from v1, untimed
            invoke(project, nodes, targets[method], "v1")
        for round_ in range(args.rounds):
            version = "v2" if round_ % 2 == 0 else "v1"
            order = ["swarm", "ssh-fleet"] if round_ % 2 == 0 else ["ssh-fleet", "swarm"]
            for method in order:
                with Load(f"{front[method].url}/health", max_seconds=300) as load:
                    time.sleep(1.0)
                    wall = invoke(projects[method], nodes, targets[method], version)
                    time.sleep(1.0)
                rows[method].append({"wall": wall, "sent": load.sent, "failed": load.failed})
                print(
                    f"round {round_ + 1} {method}: {version} in {wall:.2f}s, "
                    f"{load.sent} requests, {load.failed} failed {load.failures[:2]}",
                    flush=True,
                )
    summary = {
        method: {
            "deploy_s_median": statistics.median(r["wall"] for r in data),
            "sent_total": sum(r["sent"] for r in data),
            "failed_total": sum(r["failed"] for r in data),
            "rounds": data,
        }
        for method, data in rows.items()
    }
    summary["setup"] = {
        "nodes": 4,
        "swarm": "2 replicas, start-first, parallelism 1, monitor 2 s, healthcheck every 1 s",
        "ssh-fleet": "4 hosts, one at a time, blue/green slots behind nginx on each",
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
