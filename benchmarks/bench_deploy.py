"""Benchmark deploys under load: shipline's rolling deploy against a plain compose-up sequence.

Usage: python benchmarks/bench_deploy.py [--rounds N] [--json PATH]

One setup for both: a real sshd on loopback, the Docker Engine, a registry, the
test app image (v1 and v2) and nginx built from the local base image. A load
generator sends requests through nginx (a fresh connection each) for the whole
of every deploy and counts failures. Rounds alternate v1 -> v2 -> v1 and the two
methods alternate within each round, so machine noise falls on both.

- shipline: `invoke deploy --host ...` (slots, health wait, proxy switch, drain, smoke).
- compose-up: the ordered sequence of Deeppin's CI/CD article (the three-layer
  pipeline shipline packages), over the same SSH: `docker compose up -d app`, a
  health wait loop (as the article's, polling `docker inspect` but every 0.2 s
  rather than 5 s), `docker compose up -d nginx`, `docker image prune -f`.

Also reported: shipline's deploy time minus the app's own time to healthy (target
at most 1.5 s per host; the host's whole time, reading its state to recording it),
and the kill run: under the same load, a deploy is SIGKILLed at each step boundary
of its plan in turn and a redeploy recovers (breaking the dead deploy's lease once
it is stale): requests sent, failed (target 0), and how long each redeploy takes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import registry as registry_support  # noqa: E402
from support.deploy_images import (  # noqa: E402
    build_and_push,
    proxy_image,
    remove_app,
    write_project,
)
from support.load import Load  # noqa: E402
from support.sandbox import PROXY_IMAGE, free_port  # noqa: E402
from support.sshhost import SSHHost, ssh_host  # noqa: E402

APP = ROOT / "tests" / "support" / "deploy_app"
NGINX = PROXY_IMAGE

COMPOSE_UP_COMPOSE = """services:
  app:
    image: ${APP_IMAGE}
    network_mode: host
    environment: {PORT: "%(app_port)d", APP_VERSION: "${APP_VERSION}", API_TOKEN: x}
    healthcheck:
      test: ["CMD", "python3", "/app/healthcheck.py"]
      interval: 1s
      timeout: 2s
      retries: 3
      start_period: 1s
  nginx:
    image: %(nginx)s
    network_mode: host
    depends_on: {app: {condition: service_healthy}}
    command: ["nginx", "-g", "daemon off;"]
    volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
"""

COMPOSE_UP_NGINX = """worker_processes 1; pid /tmp/nginx-compose-up.pid; error_log /dev/stderr warn;
events { worker_connections 1024; }
http { access_log off;
  server { listen %(proxy_port)d;
    location / { proxy_pass http://127.0.0.1:%(app_port)d; } } }
"""


def sh(*argv: str, cwd: Path | None = None, stdin: str | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(argv)} failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    return done.stdout


def ssh(host: SSHHost, command: str) -> str:
    return sh(
        "ssh",
        "-q",
        "-i",
        str(host.key),
        "-p",
        str(host.port),
        "-o",
        f"UserKnownHostsFile={host.known_hosts}",
        "-o",
        "BatchMode=yes",
        f"root@{host.address}",
        command,
    )


def prepare(registry: registry_support.Registry) -> str:
    proxy_image()
    return build_and_push(
        registry.host, registry.username, registry.password, "bench/web", ["v1", "v2"]
    )


LEASE_TTL = 3
"""The bench project's lock-ttl: how long a killed deploy's lease blocks the next one."""
STEP = re.compile(r"\] step (\d+)/(\d+): (.+)$", re.MULTILINE)


def shipline_project(root: Path, name: str, app: str, proxy_port: int) -> None:
    write_project(
        root,
        image=name,
        app=app,
        path=str(root / "srv"),
        proxy_port=proxy_port,
        base_port=free_port(),
        proxy_image=NGINX,
        token="x",
        extra=f"lock-ttl = {LEASE_TTL}\n",
    )


def deploy_argv(host: SSHHost, version: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "invoke",
        "deploy",
        "--host",
        host.spec,
        "--known-hosts",
        str(host.known_hosts),
        "--key",
        str(host.key),
        "--version",
        version,
        *extra,
    ]


def kill_at(root: Path, host: SSHHost, version: str, step: int) -> str:
    """Start a deploy and SIGKILL it as step `step` begins; the step's name ("" if the
    deploy ended first)."""
    proc = subprocess.Popen(deploy_argv(host, version), cwd=root, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    name = ""
    for line in proc.stdout:
        found = STEP.search(line.rstrip())
        if found and int(found.group(1)) == step:
            proc.send_signal(signal.SIGKILL)
            name = found.group(3)
            break
    proc.communicate(timeout=180)
    return name


def kill_run(root: Path, host: SSHHost, url: str, steps: int) -> dict[str, object]:
    """Kill at every step boundary in turn, each followed by a redeploy, all under load."""
    redeploys: list[float] = []
    killed: list[str] = []
    with Load(url) as load:
        for step in range(1, steps + 1):
            version = "v2" if step % 2 else "v1"
            killed.append(kill_at(root, host, version, step))
            start = time.perf_counter()
            sh(*deploy_argv(host, version, "--lock-wait", str(LEASE_TTL * 10)), cwd=root)
            redeploys.append(time.perf_counter() - start)
            print(
                f"killed at step {step} ({killed[-1] or 'not reached'}), redeploy "
                f"{redeploys[-1]:.2f}s; {load.sent} sent, {load.failed} failed so far",
                flush=True,
            )
    return {
        "steps_killed": killed,
        "sent": load.sent,
        "failed": load.failed,
        "failures": load.failures,
        "redeploy_s": redeploys,
        "redeploy_s_median": statistics.median(redeploys),
        "lease_ttl_s": LEASE_TTL,
    }


def run_shipline(root: Path, host: SSHHost, version: str) -> dict[str, float]:
    start = time.perf_counter()
    out = sh(*deploy_argv(host, version), cwd=root)
    seconds = time.perf_counter() - start
    match = re.search(r"in ([\d.]+)s \(waiting for healthy ([\d.]+)s\)", out)
    assert match, out
    return {"wall": seconds, "host": float(match.group(1)), "healthy": float(match.group(2))}


def run_compose_up(project: Path, host: SSHHost, image: str, version: str) -> dict[str, float]:
    env = f"APP_IMAGE={image}:{version} APP_VERSION={version}"
    compose = f"cd {project} && {env} docker compose -p compose-up -f compose.yml"
    wait = (
        "for i in $(seq 1 600); do s=$(docker inspect --format='{{.State.Health.Status}}' "
        'compose-up-app-1); [ "$s" = healthy ] && break; sleep 0.2; done'
    )
    start = time.perf_counter()
    ssh(host, f"{compose} up -d app && {wait} && {compose} up -d nginx && docker image prune -f")
    return {"wall": time.perf_counter() - start}


def report(
    rows: dict[str, list[dict[str, float]]],
    quiet: list[dict[str, float]],
    killing: dict[str, object],
    json_path: Path | None,
) -> None:
    """Medians per method, shipline's overhead and the kill run: printed, and to JSON."""
    summary: dict[str, object] = {}
    for method, data in rows.items():
        summary[method] = {
            "sent_median": statistics.median(r["sent"] for r in data),
            "failed_median": statistics.median(r["failed"] for r in data),
            "failed_total": sum(r["failed"] for r in data),
            "sent_total": sum(r["sent"] for r in data),
            "deploy_s_median": statistics.median(r["wall"] for r in data),
            "rounds": data,
        }
    ship = rows["shipline"]
    loaded = statistics.median(r["host"] - r["healthy"] for r in ship)
    overhead = statistics.median(r["host"] - r["healthy"] for r in quiet)
    summary["shipline_overhead_s_median_under_load"] = loaded
    summary["shipline_overhead_s_median"] = overhead
    summary["quiet_rounds"] = quiet
    summary["kill_every_step"] = killing
    print(
        json.dumps(
            {k: v for k, v in summary.items() if k != "quiet_rounds"}, indent=1, default=str
        )[:1500]
    )
    print(
        f"shipline deploy time minus time to healthy: median {overhead:.2f}s per host "
        f"(target <= 1.5 s: {'met' if overhead <= 1.5 else 'NOT met'})"
    )
    if killing:
        print(
            f"kill at every step: {killing['sent']} requests, {killing['failed']} failed; "
            f"redeploy after a kill: median {killing['redeploy_s_median']:.2f}s "
            f"(lease ttl {LEASE_TTL} s)"
        )
    if json_path:
        json_path.write_text(json.dumps(summary, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-kill", action="store_true", help="skip the kill-at-every-step run")
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"shipline": [], "compose-up": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        registry_support.registry() as registry,
        ssh_host() as host,
    ):
        name = prepare(registry)
        # The deploys log the host in (its docker keeps its own login, as a server's does).
        os.environ.update({"GITHUB_ACTOR": registry.username, "GITHUB_TOKEN": registry.password})
        app = f"bench-{secrets.token_hex(3)}"
        proxy, plain_proxy, plain_app = free_port(), free_port(), free_port()
        project = Path(tmp, "web")
        project.mkdir()
        shipline_project(project, name, app, proxy)
        plain = Path(tmp, "compose-up")
        plain.mkdir()
        ports = {"app_port": plain_app, "proxy_port": plain_proxy, "nginx": NGINX}
        (plain / "compose.yml").write_text(COMPOSE_UP_COMPOSE % ports)
        (plain / "nginx.conf").write_text(COMPOSE_UP_NGINX % ports)
        run_shipline(project, host, "v1")  # both start from v1, untimed
        run_compose_up(plain, host, name, "v1")
        try:
            for round_ in range(args.rounds):
                version = "v2" if round_ % 2 == 0 else "v1"
                order = (
                    ["shipline", "compose-up"] if round_ % 2 == 0 else ["compose-up", "shipline"]
                )
                for method in order:
                    url = (
                        f"http://127.0.0.1:{proxy if method == 'shipline' else plain_proxy}/health"
                    )
                    with Load(url) as load:
                        time.sleep(1.0)
                        timing = (
                            run_shipline(project, host, version)
                            if method == "shipline"
                            else run_compose_up(plain, host, name, version)
                        )
                        time.sleep(1.0)
                    row = {**timing, "sent": float(load.sent), "failed": float(load.failed)}
                    rows[method].append(row)
                    print(
                        f"round {round_ + 1} {method}: {version} in {timing['wall']:.2f}s, "
                        f"{load.sent} requests, {load.failed} failed",
                        flush=True,
                    )
            quiet: list[dict[str, float]] = []
            for round_ in range(args.rounds):  # no load: shipline's own cost, alone
                quiet.append(run_shipline(project, host, "v2" if round_ % 2 == 0 else "v1"))
                print(
                    f"quiet round {round_ + 1}: {quiet[-1]['host']:.2f}s on the host, "
                    f"{quiet[-1]['healthy']:.2f}s of it waiting for healthy",
                    flush=True,
                )
            killing: dict[str, object] = {}
            if not args.no_kill:
                last = sh(*deploy_argv(host, "v2"), cwd=project)
                steps = max(int(m.group(2)) for m in STEP.finditer(last))
                killing = kill_run(project, host, f"http://127.0.0.1:{proxy}/health", steps)
        finally:
            remove_app(app)
            remove_app("compose-up")
    report(rows, quiet, killing, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
