"""invoke deploy on real components: sshd, Docker Engine + Compose, a registry, nginx.

The tests of this module run in order on one host and one project (the state a
deploy leaves is what the next one starts from). A load generator sends requests
through the proxy for the whole of each deploy and counts failures.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import registry as registry_support
from support.deploy_images import (
    deploy_images,
    docker,
    invoke_argv,
    remove_app,
    remove_images,
    write_project,
)
from support.load import Load
from support.postgres import free_port
from support.run import Result, clean_env, run
from support.sandbox import PROXY_IMAGE
from support.sshhost import SSHHost

APP = Path(__file__).parents[1] / "support" / "deploy_app"
NGINX = PROXY_IMAGE
TOKEN = "placeholder-api-token"


@pytest.fixture(scope="module")
def image(registry: registry_support.Registry) -> str:
    """The app in its versions, pushed: v1, v2, v4, and builds that fail in each way."""
    try:
        return deploy_images(
            registry.host,
            registry.username,
            registry.password,
            "acme/web",
            ["v1", "v2", "v3-unhealthy", "v3-crash", "v3-wrong", "v4"],
        )
    except RuntimeError as exc:
        pytest.fail(f"cannot prepare the deploy images (run scripts/provision): {exc}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, image: str) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("deploy") / "web"
    root.mkdir()
    app = f"web-{secrets.token_hex(3)}"
    proxy_port = free_port()
    write_project(
        root,
        image=image,
        app=app,
        path=str(root / "srv"),
        proxy_port=proxy_port,
        base_port=free_port(),
        proxy_image=NGINX,
        token=TOKEN,
        extra='\n[tool.shipline.smoke]\nprotected-paths = ["/items"]\nretries = 2\n',
    )
    yield root
    remove_images(image)
    remove_app(app)


def deploy(
    project: Path,
    host: SSHHost,
    *args: str,
    registry: registry_support.Registry | None = None,
    task: str = "deploy",
) -> Result:
    env = {"GITHUB_ACTOR": registry.username, "GITHUB_TOKEN": registry.password} if registry else {}
    argv = invoke_argv(project, host.spec, host.known_hosts, host.key, task)
    return run([*argv, *args], cwd=project, env=env)


def lock_status(project: Path, spec: str, known_hosts: Path, key: Path) -> Result:
    return run([*invoke_argv(project, spec, known_hosts, key, "lock"), "--status"], cwd=project)


def proxy_url(project: Path) -> str:
    text = (project / "pyproject.toml").read_text()
    port = text.split("proxy-port = ")[1].split()[0]
    return f"http://127.0.0.1:{port}"


def serving(project: Path) -> str:
    return str(httpx.get(proxy_url(project) + "/health", timeout=5).json()["version"])


def state(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "srv" / "state.json").read_text())
    return data


def test_01_first_deploy(project: Path, host: SSHHost, registry: registry_support.Registry) -> None:
    result = deploy(project, host, "--version", "v1", registry=registry)
    assert result.code == 0, result
    assert serving(project) == "v1"
    assert state(project)["slot"] == "blue"
    assert oct((project / "srv/releases/v1/app.env").stat().st_mode & 0o777) == "0o600"
    assert registry.password not in result.output


def test_02_rolling_deploy_under_load_loses_no_request(
    project: Path, host: SSHHost, registry: registry_support.Registry
) -> None:
    with Load(proxy_url(project) + "/health") as load:
        time.sleep(0.5)
        result = deploy(project, host, "--version", "v2", registry=registry)
        time.sleep(0.5)
    assert result.code == 0, result
    assert load.sent > 100
    assert load.failed == 0, load.failures
    assert set(load.versions) == {"v1", "v2"}  # traffic moved during the deploy
    assert serving(project) == "v2"
    recorded = state(project)
    assert recorded["slot"] == "green"
    assert recorded["version"] == "v2"
    assert recorded["image"].startswith(f"{registry.host}/acme/web@sha256:")  # pinned
    assert [h["version"] for h in recorded["history"]] == ["v2", "v1"]
    old = docker(
        "ps",
        "-q",
        "--filter",
        "label=com.docker.compose.project="
        + json.loads((project / "srv/state.json").read_text())["slot"].join(["", ""]),
    )
    assert old is not None
    audit = (project / "srv/audit.log").read_text().splitlines()
    assert len(audit) == 2
    assert " deployed v2 " in audit[-1]
    assert "slot green from v1" in audit[-1]


@pytest.mark.parametrize(
    ("version", "cause"),
    [
        ("v3-unhealthy", "is unhealthy: its healthcheck failed repeatedly"),
        ("v3-crash", "crashed at boot"),
    ],
)
def test_03_a_version_that_never_gets_healthy_changes_nothing(
    project: Path, host: SSHHost, version: str, cause: str
) -> None:
    with Load(proxy_url(project) + "/health") as load:
        result = deploy(project, host, "--version", version)
    assert result.code == 1, result
    assert cause in result.output
    assert "last log lines of app" in result.output  # diagnostics before the rollback
    assert "health log:" in result.output
    assert "containers:" in result.output
    assert load.failed == 0, load.failures
    assert set(load.versions) == {"v2"}
    assert serving(project) == "v2"
    assert state(project)["version"] == "v2"
    assert "rolled-back" in (project / "srv/audit.log").read_text().splitlines()[-1]


def test_04_smoke_failing_after_the_switch_moves_traffic_back(project: Path, host: SSHHost) -> None:
    with Load(proxy_url(project) + "/health") as load:
        result = deploy(project, host, "--version", "v3-wrong")
    assert result.code == 1, result
    assert "smoke checks failed" in result.output
    assert "reports '0.0.0-wrong', deployed 'v3-wrong'" in result.output
    assert "point the proxy back at green" in result.output
    assert load.failed == 0, load.failures
    assert serving(project) == "v2"


def test_05_a_version_not_in_the_registry(project: Path, host: SSHHost) -> None:
    result = deploy(project, host, "--version", "v9")
    assert result.code == 1
    assert "cannot resolve" in result.output
    assert "acme/web:v9 to a digest" in result.output
    assert serving(project) == "v2"


def test_06_the_lock(project: Path, host: SSHHost) -> None:
    lock = project / "srv" / ".deploy.lock"
    lock.mkdir()
    (lock / "owner").write_text("alice@laptop at 2026-11-21T10:00:00Z deploying v7\n")
    try:
        blocked = deploy(project, host, "--version", "v1", "--lock-wait", "1")
    finally:
        status = deploy(project, host, "--status", task="lock")
        released = deploy(project, host, "--release", task="lock")
    assert blocked.code == 1
    assert (
        "is locked by alice@laptop at 2026-11-21T10:00:00Z deploying v7 (heartbeat "
        in (blocked.output.strip().splitlines()[-1])
    )
    assert "wait for it (--lock-wait SECONDS)" in blocked.output
    assert "locked by alice@laptop" in status.output
    assert "released (was held by alice@laptop" in released.output
    assert not lock.exists()
    assert serving(project) == "v2"


def test_07_concurrent_deploys_one_waits_for_the_other(
    project: Path, host: SSHHost, registry: registry_support.Registry
) -> None:
    """The first deploy is paused (SIGSTOP) while it holds its lease, so the second one
    meets the lock whatever the machine's speed; then the first finishes."""
    env = clean_env({"GITHUB_ACTOR": registry.username, "GITHUB_TOKEN": registry.password})
    argv = invoke_argv(project, host.spec, host.known_hosts, host.key, "deploy")
    first = subprocess.Popen(
        [*argv, "--version", "v4"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert first.stdout is not None
    head: list[str] = []
    for line in first.stdout:  # the lease is held once its first step starts
        head.append(line)
        if "] step 1/" in line:
            first.send_signal(signal.SIGSTOP)
            break
    try:
        second = deploy(project, host, "--version", "v4")
    finally:
        first.send_signal(signal.SIGCONT)
    rest, _ = first.communicate(timeout=300)
    assert first.returncode == 0, "".join(head) + rest
    assert second.code == 1, second
    assert "is locked by" in second.output
    assert serving(project) == "v4"


def test_08_rollback_by_hand(project: Path, host: SSHHost) -> None:
    result = deploy(project, host, task="rollback")
    assert result.code == 0, result
    assert "back on v2" in result.output
    assert serving(project) == "v2"


def test_09_ssh_cut_mid_deploy_rolls_back(project: Path, host: SSHHost) -> None:
    outcome: list[Result] = []
    worker = threading.Thread(
        target=lambda: outcome.append(deploy(project, host, "--version", "v4"))
    )
    app = (project / "pyproject.toml").read_text().split('app = "')[1].split('"')[0]

    def slot_containers() -> set[str]:
        rows = docker("ps", "--format", "{{.ID}} {{.Names}}").splitlines()
        return {
            row.split()[0]
            for row in rows
            if row.split()[1].startswith((f"{app}-blue", f"{app}-green"))
        }

    # The old slot that test_08's rollback is still stopping may be running: only a
    # container this deploy creates means the new slot is starting.
    before = slot_containers()
    with Load(proxy_url(project) + "/health") as load:
        worker.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not slot_containers() - before:
            time.sleep(0.05)
        host.drop_sessions()  # the new slot is starting: cut the connection
        worker.join()
    result = outcome[0]
    assert result.code == 1, result
    assert "SSH connection" in result.output
    assert "rolling back to v2" in result.output
    assert load.failed == 0, load.failures
    assert serving(project) == "v2"
    assert not (project / "srv/.deploy.lock").exists()


def test_10_dry_run_prints_the_plan_without_ssh(project: Path) -> None:
    result = run(
        [
            sys.executable,
            "-m",
            "invoke",
            "deploy",
            "--host",
            "deploy@192.0.2.99",
            "--version",
            "v5",
            "--dry-run",
        ],
        cwd=project,
    )
    assert result.code == 0, result
    assert "# deploy@192.0.2.99: deploy" in result.output
    assert "wait for app (green) to be healthy" in result.output
    assert "stage the release and pull the image: sh -c <stage script>" in result.output
    assert "app.env (secret, not shown)" in result.output
    assert TOKEN not in result.output


def test_11_bad_input(project: Path, host: SSHHost, tmp_path: Path) -> None:
    malformed = run([sys.executable, "-m", "invoke", "deploy", "--host", "app1"], cwd=project)
    assert malformed.code == 2
    assert "expected user@host or user@host:port" in malformed.output

    empty = tmp_path / "known_hosts"
    empty.write_text("")
    unknown = lock_status(project, host.spec, empty, host.key)
    assert unknown.code == 1
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", "/dev/stdin"],
        input=host.host_key_pub,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert f"unknown host key for {host.spec}: ssh-ed25519 {fingerprint}" in unknown.output

    wrong = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    refused = lock_status(project, host.spec, host.known_hosts, wrong)
    assert refused.code == 1
    assert "refused the SSH key" in refused.output

    closed = lock_status(project, f"root@127.0.0.1:{free_port()}", host.known_hosts, host.key)
    assert closed.code == 1
    assert "cannot reach root@127.0.0.1:" in closed.output
    for result in (malformed, unknown, refused, closed):
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result
    assert serving(project) == "v2"
