"""The demo's own logic, without the services: config, stages, summary, bad input."""

from __future__ import annotations

import shutil
import socket
import tomllib
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress

from shipline import config
from shipline.demo import pipeline
from shipline.demo.pipeline import Demo, Pipeline, Stage, StageFailed
from shipline.demo.sandbox import Registry

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
