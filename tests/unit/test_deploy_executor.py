"""The executor's logic with a recording fake remote; real SSH is in the integration tier."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shipline import config
from shipline.deploy import plan as plans
from shipline.deploy.rollout import Deployer, DeployFailed, Locked
from shipline.remote import HostSpec, RemoteError, RunResult

HOST = HostSpec("deploy", "app1")


class FakeRemote:
    """Answers commands by the first matching fragment; records everything."""

    def __init__(self, answers: dict[str, RunResult] | None = None) -> None:
        self.answers = answers or {}
        self.commands: list[str] = []
        self.files: dict[str, tuple[bytes, int]] = {}
        self.stdin: list[str] = []
        self.drop_on: str | None = None

    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def run(
        self, command: str, stdin: str | None = None, timeout: float | None = None
    ) -> RunResult:
        self.commands.append(command)
        if stdin:
            self.stdin.append(stdin)
        if self.drop_on and self.drop_on in command:
            self.drop_on = None
            raise RemoteError("lost the SSH connection to deploy@app1 while running a command")
        for fragment, answer in self.answers.items():
            if fragment in command:
                return answer
        return RunResult(0, "", "")

    def put(self, data: bytes, path: str, mode: int = 0o644) -> None:
        self.files[path] = (data, mode)


def cfg(tmp_path: Path) -> config.Config:
    return config.parse(
        tomllib.loads(
            '[project]\nname = "web"\n[tool.shipline.deploy]\npath = "/srv/web"\n'
            "health-timeout = 5\ndrain-seconds = 0\nmin-free-mb = 100\n"
            "[tool.shipline.smoke]\nretries = 0\ncheck-version = false\n"
        ),
        tmp_path,
    )


HEALTHY = RunResult(0, "healthy|running|0\n", "")


def deployer(tmp_path: Path, remote: FakeRemote) -> Deployer:
    return Deployer(
        cfg(tmp_path),
        lambda spec: remote,
        lambda line: None,
        "tester",
        0.0,  # type: ignore[arg-type,return-value]
        registry_user="ci",
        registry_token="tok-123",
    )


def host_plan(tmp_path: Path, login: bool = True) -> plans.HostPlan:
    return plans.plan_host(
        cfg(tmp_path),
        HOST,
        "reg.example/web:v2",
        "v2",
        "blue",
        "v1",
        b"services: {}\n",
        b"S=1\n",
        login,
    )


def answers(**extra: RunResult) -> dict[str, RunResult]:
    base = {
        "mkdir -p /srv/web && mkdir": RunResult(0, "", ""),
        "df -Pm": RunResult(0, "5000\n", ""),
        "com.docker.compose.service=app": RunResult(0, "c0ffee\n", ""),
        "docker inspect -f '{{if": HEALTHY,
    }
    return {**base, **extra}


def test_a_full_host_run_with_smoke_against_nothing_fails_and_rolls_back(tmp_path: Path) -> None:
    # No service answers at the smoke URL: the switch happened, so traffic goes back.
    remote = FakeRemote(answers())
    with pytest.raises(DeployFailed, match="smoke checks failed on deploy@app1 after the switch"):
        deployer(tmp_path, remote).execute(host_plan(tmp_path))
    upstream = remote.files["/srv/web/proxy/upstreams/app.conf"][0]
    assert b"127.0.0.1:8001" in upstream  # blue's port again: traffic moved back
    assert any("web-green" in c and " down " in c for c in remote.commands)
    assert remote.stdin == ["tok-123\n"]  # the registry token went on stdin only
    assert not any("tok-123" in c for c in remote.commands)
    assert any("rm -rf /srv/web/.deploy.lock" in c for c in remote.commands)
    assert any("rolled-back v2" in c for c in remote.commands if "audit.log" in c)


def test_low_disk_stops_before_anything_changes(tmp_path: Path) -> None:
    remote = FakeRemote(answers(**{"df -Pm": RunResult(0, "50\n", "")}))
    with pytest.raises(DeployFailed, match="has 50 MB free under /srv/web, less than"):
        deployer(tmp_path, remote).execute(host_plan(tmp_path))
    assert not any("up -d" in c for c in remote.commands)


def test_a_failed_command_names_its_step(tmp_path: Path) -> None:
    remote = FakeRemote(answers(**{"docker pull": RunResult(1, "", "manifest unknown\n")}))
    with pytest.raises(DeployFailed) as caught:
        deployer(tmp_path, remote).execute(host_plan(tmp_path, login=False))
    assert "pull the image failed on deploy@app1: manifest unknown" in str(caught.value)
    assert "/srv/web/proxy/upstreams/app.conf" not in remote.files  # never switched


def test_crash_at_boot_is_seen_by_the_probe(tmp_path: Path) -> None:
    remote = FakeRemote(answers(**{"docker inspect -f '{{if": RunResult(0, "|exited|0\n", "")}))
    with pytest.raises(DeployFailed, match="crashed at boot"):
        deployer(tmp_path, remote).execute(host_plan(tmp_path, login=False))
    assert any(c.startswith("docker logs --tail 30 c0ffee") for c in remote.commands)


def test_a_dropped_connection_during_rollback_is_retried(tmp_path: Path) -> None:
    remote = FakeRemote(answers(**{"docker pull": RunResult(1, "", "boom\n")}))
    remote.drop_on = "down --timeout 10"
    with pytest.raises(DeployFailed):
        deployer(tmp_path, remote).execute(host_plan(tmp_path, login=False))
    assert sum("down --timeout 10" in c for c in remote.commands) == 2


def test_the_lock_is_reported_with_its_owner(tmp_path: Path) -> None:
    remote = FakeRemote(
        {
            "mkdir -p /srv/web && mkdir": RunResult(1, "", "File exists"),
            "cat /srv/web/.deploy.lock/owner": RunResult(0, "bob@ci at 10:00 deploying v9\n", ""),
        }
    )
    with pytest.raises(Locked) as caught:
        deployer(tmp_path, remote).execute(host_plan(tmp_path))
    assert str(caught.value).startswith("deploy@app1 is locked by bob@ci at 10:00 deploying v9;")
    assert not any("rm -rf /srv/web/.deploy.lock" in c for c in remote.commands)


def test_state_reads_the_host_record(tmp_path: Path) -> None:
    remote = FakeRemote({"state.json": RunResult(0, '{"slot": "green", "version": "v3"}', "")})
    assert deployer(tmp_path, remote).state(HOST) == {"slot": "green", "version": "v3"}
    broken = FakeRemote({"state.json": RunResult(0, "{not json", "")})
    assert deployer(tmp_path, broken).state(HOST) == {}
