"""The demo's own logic, without the services: config, stages, summary, bad input."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import ClassVar

import pytest
from rich.console import Console
from rich.progress import Progress
from support.registry import Registry
from support.sshhost import SSHHost

from demo import pipeline
from demo.pipeline import Demo, Pipeline, Stage, StageFailed
from shipline import config

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pip-audit"
EXAMPLE = Path(__file__).parents[2] / "examples" / "service"


def recording_console() -> Console:
    return Console(record=True, width=200, force_terminal=False)


def make_pipeline(tmp_path: Path) -> tuple[Pipeline, Demo, Console]:
    console = recording_console()
    demo = Demo(EXAMPLE, tmp_path, console)
    return Pipeline(demo, Progress(console=console)), demo, console


def test_the_example_is_pointed_at_the_sandbox_and_stays_valid_config(tmp_path: Path) -> None:
    project = tmp_path / "service"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".nox", "reports"))
    registry = Registry("127.0.0.1:5999", "demo", "secret-password")
    deploy_path = tmp_path / "host" / "srv"
    pipeline.sandbox_config(project / "pyproject.toml", registry, deploy_path, (41000, 41500))

    cfg = config.load(project)
    assert cfg.image.name == "127.0.0.1:5999/demo/service"
    assert cfg.image.username == "demo"
    assert cfg.image.build_args == {"BASE_IMAGE": pipeline.BASE_IMAGE}
    assert cfg.deploy.app == pipeline.APP
    assert cfg.deploy.path == str(deploy_path)
    assert (cfg.deploy.base_port, cfg.deploy.proxy_port) == (41000, 41500)
    assert cfg.deploy.url == "http://{host}:41500"
    assert cfg.deploy.proxy_image == pipeline.PROXY_IMAGE
    # What the example says for itself survives: its test placeholders and smoke paths.
    assert cfg.tests.env["API_TOKEN"] == "placeholder-token"
    assert cfg.smoke.protected_paths == ("/items",)
    text = (project / "pyproject.toml").read_text()
    assert "secret-password" not in text
    assert tomllib.loads(text)["project"]["name"] == "service"


def test_stages_pass_fail_and_skip_after_the_first_failure(tmp_path: Path) -> None:
    pipe, demo, console = make_pipeline(tmp_path)
    ran: list[str] = []

    def ok(stage: Stage) -> None:
        ran.append("ok")
        stage.detail = "fine [really]"

    def warn(stage: Stage) -> None:
        ran.append("warn")
        stage.result = "warning"

    def broken(stage: Stage) -> None:
        ran.append("broken")
        raise StageFailed("exit 1; log: x.log", "line 1\nerror: [/bad] markup-like text\n")

    def never(stage: Stage) -> None:
        ran.append("never")

    for name, work in (("a", ok), ("b", warn), ("c", broken), ("d", never)):
        pipe.stage(name, work)

    assert ran == ["ok", "warn", "broken"]
    assert [(s.name, s.result) for s in demo.stages] == [
        ("a", "passed"),
        ("b", "warning"),
        ("c", "failed"),
        ("d", "skipped"),
    ]
    assert demo.stages[2].detail == "exit 1; log: x.log"
    text = console.export_text()
    assert "passed a" in text
    assert "fine [really]" in text
    assert "c failed; the end of its log:" in text
    assert "error: [/bad] markup-like text" in text  # printed as is, never as markup


def test_the_summary_table_lists_every_stage_with_result_and_duration() -> None:
    stages = [
        Stage("lint", "passed", 1.25, ""),
        Stage("security", "warning", 3.0, "not audited"),
        Stage("deploy", "failed", 7.5, "exit 1 [see log]"),
        Stage("smoke checks", "skipped", 0.0, ""),
    ]
    console = recording_console()
    console.print(pipeline.summary_table(stages))
    lines = console.export_text().splitlines()
    row = {line.split("│")[1].strip(): line for line in lines if line.count("│") >= 4}
    assert "1.2s" in row["lint"]
    assert "passed" in row["lint"]
    assert "warning" in row["security"]
    assert "not audited" in row["security"]
    assert "7.5s" in row["deploy"]
    assert "exit 1 [see log]" in row["deploy"]
    assert "skipped" in row["smoke checks"]
    assert "s " not in row["smoke checks"].split("│")[3]


@pytest.mark.parametrize(
    ("output", "counts"),
    [
        ("x\n===== 4 passed, 3 warnings in 2.1s =====\nnox > done\n", "4 passed, 3 warnings"),
        ("== 1 failed, 2 passed in 0.3s ==\n", "1 failed, 2 passed"),
        ("nothing here\n", "no test summary"),
    ],
)
def test_pytest_counts_come_from_the_summary_line(output: str, counts: str) -> None:
    assert pipeline._pytest_counts(output) == counts


def test_an_unreachable_audit_service_is_told_apart_from_findings(tmp_path: Path) -> None:
    project = tmp_path / "service"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".nox", "reports"))
    report = project / "reports" / "security" / "pip-audit.json"
    report.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "unreachable.json", report)
    assert pipeline.audit_unreachable(project)
    shutil.copy(FIXTURES / "vulnerable.json", report)
    assert not pipeline.audit_unreachable(project)
    report.unlink()
    assert not pipeline.audit_unreachable(project)


def test_two_consecutive_ports_are_free() -> None:
    port = pipeline.free_port_pair()
    with socket.socket() as blue, socket.socket() as green:
        blue.bind(("127.0.0.1", port))
        green.bind(("127.0.0.1", port + 1))


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    console = recording_console()
    assert pipeline.main([str(tmp_path / "nowhere")], console) == 2
    assert "no example project at" in console.export_text()

    work = tmp_path / "work"
    (work / "service").mkdir(parents=True)
    monkeypatch.setattr(pipeline, "preflight", lambda: None)
    assert pipeline.main([str(EXAMPLE), "--work", str(work)], console) == 2
    assert "pass an empty --work" in console.export_text()

    monkeypatch.setattr(pipeline, "preflight", lambda: "docker not found; run scripts/provision")
    assert pipeline.main([str(EXAMPLE), "--work", str(tmp_path / "w2")], console) == 2
    assert "shipline demo: error: docker not found" in console.export_text()
    assert not (tmp_path / "w2").exists()


def test_preflight_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert pipeline.preflight() == "docker not found; run scripts/provision (it installs docker.io)"


class FakeLoad:
    """Stands in for the load generator: what it counted is set by the test."""

    counted: ClassVar[dict[str, object]] = {}

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.sent = int(str(self.counted["sent"]))
        self.failed = int(str(self.counted["failed"]))
        self.versions = dict(self.counted["versions"])  # type: ignore[call-overload]
        self.failures = ["HTTP 502"] * self.failed

    def __enter__(self) -> FakeLoad:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def canned_output(name: str) -> str:
    if name.startswith("build"):
        return '{"size": 164000000, "cached_steps": 4, "steps": 27, "builder": "classic"}\n'
    if name.startswith("push"):
        tags = ", ".join(f'"127.0.0.1:5999/demo/service:{t}"' for t in ("v1.0.0", "latest"))
        return f'log\n{{"pushed": [{tags}], "digest": "sha256:0123456789abcdef0123"}}\n'
    if name == "live integration tests":
        return "===== 4 passed, 3 warnings in 1.50s =====\n"
    return ""


def run_faked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: dict[str, object]
) -> tuple[Demo, list[tuple[str, list[str], dict[str, str]]], list[str]]:
    """run_demo with every service and command faked; git and the copy are real."""
    import contextlib
    import time

    calls: list[tuple[str, list[str], dict[str, str]]] = []
    cleaned: list[str] = []
    password = "registry-password-not-for-argv"

    @contextlib.contextmanager
    def registry(username: str) -> object:
        yield Registry("127.0.0.1:5999", username, password)

    @contextlib.contextmanager
    def ssh_host() -> object:
        yield SSHHost(
            "127.0.0.1",
            2222,
            tmp_path / "key",
            tmp_path / "known",
            "ssh-ed25519 AAA",
            tmp_path,
            None,
        )  # type: ignore[arg-type]

    def run(self: Demo, name: str, argv: list[str], env: dict[str, str] | None = None) -> str:
        calls.append((name, argv, {**self.env, **(env or {})}))
        return canned_output(name)

    monkeypatch.setattr(pipeline.registry_support, "registry", registry)
    monkeypatch.setattr(pipeline.sshhost, "ssh_host", ssh_host)
    monkeypatch.setattr(pipeline.Demo, "run", run)
    monkeypatch.setattr(pipeline, "Load", FakeLoad)
    monkeypatch.setattr(pipeline, "remove_app", lambda app: cleaned.append(app))
    monkeypatch.setattr(pipeline, "remove_images", lambda name: cleaned.append(name))
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    FakeLoad.counted = load
    demo = Demo(EXAMPLE, tmp_path / "work", recording_console())
    pipeline.run_demo(demo, keep=False)
    return demo, calls, cleaned


def test_the_pipeline_runs_each_stage_as_a_user_would_and_keeps_secrets_off_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load = {"sent": 120, "failed": 0, "versions": {"1.0.0": 60, "1.1.0": 60}}
    demo, calls, cleaned = run_faked(tmp_path, monkeypatch, load)

    assert [(s.name, s.result) for s in demo.stages] == [(n, "passed") for n in pipeline.STAGES]
    commands = {name: argv for name, argv, _ in calls}
    assert commands["lint"][-3:] == ["nox", "-s", "lint"]
    assert commands["build 1.1.0"][-6:] == [
        "build",
        "--ref",
        "refs/tags/v1.1.0",
        "--event",
        "push",
        "--json",
    ]
    deploy = commands["deploy 1.1.0 under load"]
    assert deploy[deploy.index("--host") + 1] == "root@127.0.0.1:2222"
    assert deploy[deploy.index("--version") + 1] == "1.1.0"
    assert deploy[deploy.index("--known-hosts") + 1] == str(tmp_path / "known")
    assert commands["live integration tests"][-4:] == ["-s", "e2e", "--", "--live=on"]
    envs = {name: env for name, _, env in calls}
    token = envs["live integration tests"]["API_TOKEN"]
    assert envs["live integration tests"]["SERVICE_URL"].startswith("http://127.0.0.1:")
    for name, argv, env in calls:
        assert "registry-password-not-for-argv" not in " ".join(argv), name
        assert token not in " ".join(argv), name
        # The registry password goes only to the stages that push or pull.
        wanted = name.startswith(("push", "deploy"))
        assert (env.get("GITHUB_TOKEN") == "registry-password-not-for-argv") == wanted, name
    env_file = demo.project / "deploy.env"
    assert f"API_TOKEN={token}" in env_file.read_text()
    assert env_file.stat().st_mode & 0o777 == 0o600
    tags = subprocess.run(
        ["git", "tag"], cwd=demo.project, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tags == ["v1.0.0", "v1.1.0"]
    assert demo.load == {
        "sent": 120,
        "failed": 0,
        "versions": {"1.0.0": 60, "1.1.0": 60},
        "failures": [],
    }
    assert sorted(cleaned) == sorted([pipeline.APP, "127.0.0.1:5999/demo/service"])
    assert demo.stages[-1].detail == "120 requests sent, 0 failed (1.0.0: 60, 1.1.0: 60)"


@pytest.mark.parametrize(
    ("load", "reason"),
    [
        ({"sent": 90, "failed": 2, "versions": {"1.0.0": 88}}, "2 of 90 requests failed"),
        ({"sent": 90, "failed": 0, "versions": {"1.0.0": 90}}, "versions served under load"),
    ],
)
def test_a_failed_request_or_a_missing_release_fails_the_deploy_under_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: dict[str, object], reason: str
) -> None:
    demo, _, cleaned = run_faked(tmp_path, monkeypatch, load)
    last = demo.stages[-1]
    assert (last.name, last.result) == ("deploy 1.1.0 under load", "failed")
    assert reason in demo.console.export_text()
    assert cleaned  # the sandbox is cleaned up after a failure too


def test_a_stage_command_logs_its_output_and_a_failure_carries_it(tmp_path: Path) -> None:
    demo = Demo(EXAMPLE, tmp_path, recording_console(), env={"GREETING": "hello"})
    demo.project.mkdir()
    demo.logs.mkdir()
    script = (
        "import os, sys; print(os.environ['GREETING'], os.getcwd()); sys.exit(int(sys.argv[1]))"
    )
    out = demo.run("say hi", [sys.executable, "-c", script, "0"])
    assert f"hello {demo.project}" in out
    assert (tmp_path / "logs" / "say-hi.log").read_text() == out
    with pytest.raises(StageFailed) as failed:
        demo.run("say bye", [sys.executable, "-c", script, "3"], {"GREETING": "bye"})
    assert failed.value.args[0] == f"exit 3; log: {tmp_path / 'logs' / 'say-bye.log'}"
    assert f"bye {demo.project}" in failed.value.args[1]


def test_main_prints_the_table_writes_a_summary_and_exits_by_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def passing(demo: Demo, keep: bool) -> None:
        demo.stages += [Stage("lint", "passed", 1.0), Stage("security", "warning", 2.0, "n/a")]
        demo.load = {"sent": 10, "failed": 0}

    def failing(demo: Demo, keep: bool) -> None:
        demo.stages += [Stage("lint", "failed", 1.0, "exit 1"), Stage("type")]

    def broken(demo: Demo, keep: bool) -> None:
        raise RuntimeError("sshd did not start: port in use")

    monkeypatch.setattr(pipeline, "preflight", lambda: None)
    for run, code, line in (
        (passing, 0, "shipline demo passed"),
        (failing, 1, "shipline demo failed at: lint"),
        (broken, 1, "shipline demo failed at: (setup)"),
    ):
        monkeypatch.setattr(pipeline, "run_demo", run)
        console = recording_console()
        work = tmp_path / run.__name__
        assert pipeline.main([str(EXAMPLE), "--work", str(work)], console) == code
        text = console.export_text()
        assert line in text
        assert "stage" in text
        assert "duration" in text
        summary = json.loads((work / "summary.json").read_text())
        assert [s["name"] for s in summary["stages"]][:1] in (["lint"], ["(setup)"])
    assert "sshd did not start: port in use" in text
