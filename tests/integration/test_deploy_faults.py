"""The deploy when things go wrong, on real sshd, engine, registry and nginx, under load.

A deploy is killed (SIGKILL) at every step boundary of its plan in turn, not at
chosen times; interrupted (SIGTERM); run twice at once; rolled back after its
tag moved; fed hostile input. A load generator sends requests through the proxy
for the whole of each case and every failed request fails the test.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import registry as registry_support
from support.deploy_images import (
    deploy_images,
    docker,
    invoke_argv,
    proxy_image,
    remove_app,
    remove_images,
    write_project,
)
from support.load import Load
from support.postgres import free_port
from support.run import Result, clean_env, run
from support.sshhost import SSHHost

TOKEN = "placeholder-api-token-faults"
TTL = 3
STEP = re.compile(r"\] step (\d+)/(\d+): (.+)$")


@pytest.fixture(scope="module")
def image(registry: registry_support.Registry) -> str:
    try:
        return deploy_images(
            registry.host, registry.username, registry.password, "acme/faults", ["v1", "v2"]
        )
    except RuntimeError as exc:
        pytest.fail(f"cannot prepare the deploy images (run scripts/provision): {exc}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, image: str) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("faults") / "web"
    root.mkdir()
    app = f"faults-{secrets.token_hex(3)}"
    write_project(
        root,
        image=image,
        app=app,
        path=str(root / "srv"),
        proxy_port=free_port(),
        base_port=free_port(),
        proxy_image=proxy_image(),
        token=TOKEN,
        extra=f"lock-ttl = {TTL}\n",
    )
    yield root
    remove_images(image)
    remove_app(app)


def argv(project: Path, host: SSHHost, task: str, *args: str) -> list[str]:
    return [*invoke_argv(project, host.spec, host.known_hosts, host.key, task), *args]


def creds(registry: registry_support.Registry) -> dict[str, str]:
    return {"GITHUB_ACTOR": registry.username, "GITHUB_TOKEN": registry.password}


def deploy(project: Path, host: SSHHost, *args: str, env: dict[str, str] | None = None) -> Result:
    return run(argv(project, host, "deploy", *args), cwd=project, env=env)


def proxy_url(project: Path) -> str:
    text = (project / "pyproject.toml").read_text()
    return f"http://127.0.0.1:{text.split('proxy-port = ')[1].split()[0]}"


def serving(project: Path) -> str:
    return str(httpx.get(proxy_url(project) + "/health", timeout=5).json()["version"])


def app_name(project: Path) -> str:
    return (project / "pyproject.toml").read_text().split('app = "')[1].split('"')[0]


def running_slots(project: Path) -> list[str]:
    """The app's slot containers that run (the proxy aside), once the old slot's
    background stop (the app's graceful stop, at most its stop timeout) is over."""
    app = app_name(project)
    deadline = time.monotonic() + 20
    while True:
        names = docker("ps", "--format", "{{.Names}}").split()
        found = sorted(n for n in names if n.startswith((f"{app}-blue-", f"{app}-green-")))
        if len(found) <= 1 or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def live_image(project: Path) -> str:
    """The image ref of the container the proxy serves, read from the upstream file."""
    port = (project / "srv/proxy/upstreams/app.conf").read_text().split("127.0.0.1:")[1]
    text = (project / "pyproject.toml").read_text()
    base = int(text.split("base-port = ")[1].split()[0])
    slot = "blue" if int(port.split(";")[0]) == base else "green"
    name = f"{app_name(project)}-{slot}-app-1"
    return docker("inspect", "-f", "{{.Config.Image}}", name).strip()  # ps shortens digests


def interrupt_at(
    project: Path, host: SSHHost, version: str, step: int, sig: int, env: dict[str, str]
) -> tuple[int, str, str]:
    """Start a deploy, and send `sig` the moment step `step` begins (after the steps before
    it completed). Returns the exit code, the output and the step's name ("" if the run
    ended before reaching it)."""
    proc = subprocess.Popen(
        argv(project, host, "deploy", "--version", version, "--lock-wait", str(TTL * 10)),
        cwd=project,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    name = ""
    for line in proc.stdout:
        lines.append(line)
        found = STEP.search(line.rstrip())
        if found and int(found.group(1)) == step:
            proc.send_signal(sig)
            name = found.group(3)
            break
    rest, _ = proc.communicate(timeout=180)
    return proc.returncode, "".join(lines) + (rest or ""), name


def test_01_first_deploy(project: Path, host: SSHHost, registry: registry_support.Registry) -> None:
    result = deploy(project, host, "--version", "v1", env=creds(registry))
    assert result.code == 0, result
    assert serving(project) == "v1"
    assert live_image(project).startswith(f"{registry.host}/acme/faults@sha256:")


def test_02_killed_at_every_step_boundary_loses_no_request(
    project: Path, host: SSHHost, registry: registry_support.Registry
) -> None:
    env = creds(registry)
    steps = int(STEP.search(deploy_steps(project, host, env)).group(2))  # type: ignore[union-attr]
    killed: list[str] = []
    with Load(proxy_url(project) + "/health") as load:
        for step in range(1, steps + 1):
            version = "v2" if step % 2 else "v1"
            code, output, name = interrupt_at(project, host, version, step, signal.SIGKILL, env)
            assert "Traceback" not in output
            if name:
                assert code == -signal.SIGKILL, output
                killed.append(name)
            else:
                assert code == 0, output
        # Recover as a user would: deploy again; the dead deploy's lease expires.
        final = deploy(project, host, "--version", "v2", "--lock-wait", str(TTL * 10), env=env)
    assert final.code == 0, final
    assert len(killed) >= steps - 1, killed
    assert load.failed == 0, (load.failures, killed)
    assert load.sent > 200
    assert serving(project) == "v2"
    assert len(running_slots(project)) == 1, running_slots(project)
    assert not (project / "srv/.deploy.lock").exists()
    audit = (project / "srv/audit.log").read_text()
    assert "broke a stale lock held by" in audit


def deploy_steps(project: Path, host: SSHHost, env: dict[str, str]) -> str:
    """One full redeploy, to learn how many steps a redeploy has; its last step line."""
    result = deploy(project, host, "--version", "v2", env=env)
    assert result.code == 0, result
    return [line for line in result.output.splitlines() if STEP.search(line)][-1]


@pytest.mark.parametrize("step_name", ["wait for app", "point the proxy at app", "smoke checks"])
def test_03_sigterm_rolls_back_and_releases_the_lock(
    project: Path, host: SSHHost, registry: registry_support.Registry, step_name: str
) -> None:
    env = creds(registry)
    before = serving(project)
    other = "v1" if before == "v2" else "v2"
    listing = deploy(project, host, "--version", other, "--dry-run").output
    number = next(
        int(m.group(1))
        for m in (re.match(r"\s*(\d+)\. (.+?):", line) for line in listing.splitlines())
        if m and m.group(2).startswith(step_name)
    )
    with Load(proxy_url(project) + "/health") as load:
        code, output, name = interrupt_at(project, host, other, number, signal.SIGTERM, env)
    assert name.startswith(step_name), output
    assert code == 130, output
    assert "interrupted by SIGTERM" in output.splitlines()[-1]
    assert "Traceback" not in output
    assert not (project / "srv/.deploy.lock").exists()  # released at once, no lease to wait out
    assert load.failed == 0, load.failures
    assert serving(project) == before
    assert len(running_slots(project)) == 1


@pytest.mark.parametrize("wait", [True, False])
def test_04_two_deploys_at_once(
    project: Path, host: SSHHost, registry: registry_support.Registry, wait: bool
) -> None:
    env = creds(registry)
    extra = ["--lock-wait", "120"] if wait else []
    results: list[Result] = []
    with Load(proxy_url(project) + "/health") as load:
        threads = [
            threading.Thread(
                target=lambda v=v: results.append(
                    deploy(project, host, "--version", v, *extra, env=env)
                )
            )
            for v in ("v1", "v2")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert load.failed == 0, load.failures
    codes = sorted(r.code for r in results)
    assert codes == ([0, 0] if wait else [0, 1]), results
    if not wait:
        assert "is locked by" in next(r for r in results if r.code == 1).output
    assert serving(project) in ("v1", "v2")
    assert len(running_slots(project)) == 1
    assert not (project / "srv/.deploy.lock").exists()


def test_05_a_stale_record_loses_to_the_proxy(
    project: Path, host: SSHHost, registry: registry_support.Registry
) -> None:
    state_file = project / "srv/state.json"
    state = json.loads(state_file.read_text())
    state["slot"] = "blue" if state["slot"] == "green" else "green"  # the record lies
    state_file.write_text(json.dumps(state))
    target = "v1" if serving(project) == "v2" else "v2"
    with Load(proxy_url(project) + "/health") as load:
        result = deploy(project, host, "--version", target, env=creds(registry))
    assert result.code == 0, result
    assert "the proxy wins" in result.output
    assert load.failed == 0, load.failures
    assert serving(project) == target


def test_06_rollback_after_the_tag_moved_returns_the_old_digest(
    project: Path, host: SSHHost, registry: registry_support.Registry, image: str
) -> None:
    env = creds(registry)
    assert deploy(project, host, "--version", "v1", env=env).code == 0
    v1_digest = live_image(project)
    assert deploy(project, host, "--version", "v2", env=env).code == 0
    docker("tag", f"{image}:v2", f"{image}:v1")  # someone re-pushes v1 as v2's image
    docker("push", "-q", f"{image}:v1")
    with Load(proxy_url(project) + "/health") as load:
        result = run(argv(project, host, "rollback"), cwd=project, env=env)
    assert result.code == 0, result
    assert load.failed == 0, load.failures
    assert live_image(project) == v1_digest
    assert serving(project) == "v1"


def test_07_lock_status_live_then_stale(project: Path, host: SSHHost) -> None:
    lock = project / "srv/.deploy.lock"
    lock.mkdir()
    (lock / "owner").write_text('{"who": "alice@laptop", "version": "v7", "since": "x"}\n')
    (lock / "token").write_text("someone-else")
    holding = threading.Event()

    def heartbeat() -> None:
        # What a live holder does: renew the owner record well within the TTL,
        # so a slow machine cannot make the "live" reading stale.
        while not holding.wait(TTL / 6):
            os.utime(lock / "owner")

    beats = threading.Thread(target=heartbeat, daemon=True)
    beats.start()
    try:
        try:
            live = run(argv(project, host, "lock", "--status"), cwd=project)
        finally:
            holding.set()
            beats.join()
        old = time.time() - TTL * 5
        os.utime(lock / "owner", (old, old))
        stale = run(argv(project, host, "lock", "--status"), cwd=project)
        breaks = deploy(project, host, "--version", "v2", "--dry-run")
    finally:
        released = run(argv(project, host, "lock", "--release"), cwd=project)
    assert "locked by alice@laptop deploying v7 since x (live" in live.output
    assert "(STALE, heartbeat" in stale.output
    assert breaks.code == 0  # a dry run takes no lock
    assert "released (was held by alice@laptop" in released.output
    assert not lock.exists()


def test_08_a_secret_in_a_bad_env_file_never_reaches_the_output(
    project: Path, host: SSHHost, registry: registry_support.Registry
) -> None:
    env_file = project / "prod.env"
    good = env_file.read_text()
    secret = "hunter2-" + secrets.token_hex(8)
    env_file.write_text(good + f'DB_PASSWORD="{secret}\n')  # the closing quote is missing
    try:
        target = "v1" if serving(project) == "v2" else "v2"
        before = serving(project)
        result = deploy(project, host, "--version", target, env=creds(registry))
    finally:
        env_file.write_text(good)
    assert result.code == 1, result
    assert secret not in result.output
    assert registry.password not in result.output
    assert "***" in result.output
    assert serving(project) == before
