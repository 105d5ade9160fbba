"""The tasks' own logic in-process: dry-run plans and one-line errors (no SSH, no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke.program import Program

from shipline.tasks import namespace

PYPROJECT = """
[project]
name = "web"
[tool.shipline.image]
name = "ghcr.io/acme/web"
[tool.shipline.deploy]
path = "/srv/web"
env-file = "prod.env"
"""


def invoke(*argv: str) -> int:
    try:
        Program(namespace=namespace).run(["invoke", *argv], exit=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "compose.yml").write_text("services: {}\n")
    (tmp_path / "prod.env").write_text("API_TOKEN=very-secret\n")
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_REF", "GITHUB_SHA", "GITHUB_TOKEN", "GITHUB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_dry_run_prints_each_hosts_plan(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        invoke(
            "deploy",
            "--host",
            "deploy@app1",
            "--host",
            "deploy@app2:2222",
            "--version",
            "v7",
            "--dry-run",
        )
        == 0
    )
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("# take the deploy lease on deploy@app1, deploy@app2:2222 (in")
    assert "# deploy@app1: deploy ghcr.io/acme/web@sha256:<digest of v7> into slot green" in out
    assert "# deploy@app2:2222: deploy ghcr.io/acme/web@sha256:<digest of v7> into slot" in out
    stage = (
        " 1. stage the release and pull the image: sh -c <stage script> sh /srv/web "
        "/srv/web/releases/v7 'ghcr.io/acme/web@sha256:<digest of v7>' green 1024  "
        "(stdin: a tar of compose.yml, app.env (secret, not shown), slot.env, nginx.conf, "
        "proxy.yml)"
    )
    assert lines.count(stage) == 2  # each host's plan
    assert " 6. drain and stop the old slot (blue): sh -c <drain-and-stop script> sh " in out
    assert out.count("drain and stop the old slot (blue)") == 2
    assert "then record, audit, prune (keep the last 3 releases): sh -c <finish script>" in out
    assert "# <stage script>:" in out
    assert "# <switch script>:" in out  # every script the commands name is printed once
    assert out.count("# <switch script>:") == 1
    assert "very-secret" not in out


def test_dry_run_shows_the_login_with_the_token_hidden(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_supersecret")
    monkeypatch.setenv("GITHUB_ACTOR", "octo-bot")
    assert invoke("deploy", "--host", "d@a", "--version", "v7", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "registry login: docker login --username octo-bot --password-stdin ghcr.io" in out
    assert "(stdin: ***)" in out
    assert "ghp_supersecret" not in out


def test_no_version_deploys_the_commits_immutable_tag(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    assert invoke("deploy", "--host", "d@a", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "web:sha-0123456 to its digest" in out
    assert "web:main" not in out


def test_a_bug_is_one_line_naming_its_log(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipline.deploy import run as deploy_run

    def broken(*_args: object, **_kwargs: object) -> list[str]:
        raise KeyError("an unforeseen case")

    monkeypatch.setattr(deploy_run, "preview", broken)
    monkeypatch.setenv("SHIPLINE_LOG_DIR", str(project / "logs"))
    assert invoke("deploy", "--host", "d@a", "--version", "v1", "--dry-run") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("shipline: error: internal error (KeyError: 'an unforeseen case')")
    logged = next((project / "logs").iterdir())
    assert str(logged) in err[0]
    assert "Traceback" in logged.read_text()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["deploy", "--version", "v1"], 2, "no --host given; pass --host user@host[:port]"),
        (
            ["deploy", "--host", "app1", "--version", "v1"],
            2,
            "--host 'app1': expected user@host or user@host:port",
        ),
        (
            ["deploy", "--host", "d@a", "--version", "v1", "--batch", "0"],
            2,
            "--batch '0': expected a number of hosts from 1 to 1",
        ),
        (["lock", "--host", "d@a"], 2, "pass exactly one of --status or --release"),
    ],
)
def test_usage_errors_are_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    assert invoke(*argv) == code
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert lines == [f"shipline: error: {message}"] or lines[0].startswith(
        f"shipline: error: {message}"
    )


def test_missing_compose_and_env_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "prod.env").unlink()
    assert invoke("deploy", "--host", "d@a", "--version", "v1", "--dry-run") == 2
    assert "tool.shipline.deploy.env-file: no file at" in capsys.readouterr().err
    (project / "compose.yml").unlink()
    assert invoke("deploy", "--host", "d@a", "--version", "v1", "--dry-run") == 2
    assert "tool.shipline.deploy.compose-file: no compose file at" in capsys.readouterr().err


def test_smoke_task_reports_failures(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke("smoke", "--url", "http://127.0.0.1:9") == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out
    assert "shipline: error: smoke checks failed: GET /health" in captured.err


def test_an_unreachable_engine_is_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project / 'no-engine.sock'}")
    context = ("--ref", "refs/tags/v1.2.3", "--sha", "0123456789abcdef0123456789abcdef01234567")
    assert invoke("build", *context) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"cannot reach the Docker engine at unix://{project / 'no-engine.sock'}" in err
    assert "start it (scripts/provision does) or set DOCKER_HOST" in err
