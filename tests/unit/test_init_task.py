"""`init` through the real command line program (`shipline`), in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.sample import write

from shipline.cli import program

APP = """
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/ping")
    def ping() -> str:
        return "pong"
"""


def shipline(*argv: str) -> int:
    try:
        program.run(["shipline", *argv], exit=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, "pyproject.toml", '[project]\nname = "shop"\ndependencies = ["fastapi"]\n')
    write(tmp_path, "src/shop/__init__.py", "")
    write(tmp_path, "src/shop/web.py", APP)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_reports_what_it_detected_and_wrote(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shipline("init") == 0
    out = capsys.readouterr().out
    assert "shop: package src/shop, ASGI app shop.web:app, Python 3.12" in out
    assert "create  Dockerfile" in out
    assert "append  pyproject.toml ([tool.shipline])" in out
    assert "health-path" in (fresh / "pyproject.toml").read_text()
    assert (
        'CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "shop.web:app"]'
        in (fresh / "Dockerfile").read_text()
    )
    # The app answers /ping, not /health: init says so, since the healthcheck uses it.
    assert "the image's HEALTHCHECK" not in out
    assert '"/ping"' in (fresh / "Dockerfile").read_text().replace("'", '"')


def test_dry_run_writes_nothing_and_a_conflict_is_exit_2(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in fresh.rglob("*"))
    assert shipline("init", "--dry-run") == 0
    assert "dry run; nothing written" in capsys.readouterr().out
    assert sorted(p.name for p in fresh.rglob("*")) == before

    # init's own nginx.conf (its first line), edited: a conflict. A project's own is kept.
    first = "# The proxy in front of the app, rendered by `invoke init` (shipline).\n"
    write(fresh, "nginx.conf", first + "events {}\n")
    assert shipline("init") == 2
    captured = capsys.readouterr()
    assert "-events {}" in captured.out
    assert "1 file(s) differ from the templates: nginx.conf" in captured.err
    assert not (fresh / "Dockerfile").exists()


def test_missing_health_route_is_named(fresh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(fresh, "src/shop/web.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    assert shipline("init", "--dry-run") == 0
    assert "no /health route found in src/shop" in capsys.readouterr().out


def test_bad_entry_is_one_line(fresh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert shipline("init", "--entry", "not an entry") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--entry 'not an entry': expected module:attribute" in err
