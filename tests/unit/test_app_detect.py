"""Real projects as they are: app factories, a root main.py, several top-level packages.

Each shape is written to disk and read both ways, by `init` (`project.read`) and by
the configuration the sessions run from (`config.parse`), so the entry init renders
and the code the sessions check come from the same files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from support.sample import write

from shipline import catalogue, config, project, scaffold
from shipline.cli import program
from shipline.config import Config
from shipline.errors import ConfigError

FACTORY = """\
from fastapi import FastAPI


def create_app() -> FastAPI:
    application = FastAPI()

    @application.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return application
"""

FLAT = {
    "routers/__init__.py": "",
    "routers/items.py": "ROUTES = ['/items']\n",
    "services/__init__.py": "",
    "services/pricing.py": "def price(n: int) -> int:\n    return n * 2\n",
    "db/__init__.py": "",
    "db/session.py": "URL = 'sqlite://'\n",
    "models/__init__.py": "",
    "models/item.py": "class Item:\n    pass\n",
    "main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    # never the project's code: tests, alembic's migrations, scripts, the tool files
    "tests/__init__.py": "",
    "tests/test_items.py": "def test_x() -> None:\n    pass\n",
    "migrations/__init__.py": "",
    "migrations/env.py": "",
    "scripts/__init__.py": "",
    "scripts/seed.py": "",
    "docs/conf.py": "",
    "noxfile.py": "import shipline.nox\n",
    "tasks.py": "from shipline.tasks import namespace\n",
    "conftest.py": "",
    "gunicorn.conf.py": "bind = '0:8000'\n",
    "test_top.py": "",
}


def pyproject(root: Path, name: str = "my-api", extra: str = "") -> str:
    text = (
        f'[project]\nname = "{name}"\nversion = "0"\ndependencies = ["fastapi", "httpx"]\n{extra}'
    )
    write(root, "pyproject.toml", text)
    return text


def files(root: Path, tree: dict[str, str]) -> None:
    for relative, text in tree.items():
        write(root, relative, text)


def parsed(root: Path) -> Config:
    return config.parse(tomllib.loads((root / "pyproject.toml").read_text()), root)


def covered(cfg: Config) -> list[str]:
    return [a for a in catalogue.pytest_argv(cfg, cfg.tier("unit")) if a.startswith("--cov=")]


# App factories --------------------------------------------------------------------------


def test_an_app_a_factory_of_the_project_builds_at_module_level(tmp_path: Path) -> None:
    pyproject(tmp_path, "acme-server")
    write(tmp_path, "src/app/__init__.py", "")
    write(tmp_path, "src/app/factory.py", FACTORY)
    write(tmp_path, "src/app/main.py", "from app.factory import create_app\n\napp = create_app()\n")
    found = project.read(tmp_path)
    assert (found.entry, found.asgi, found.framework) == ("app.main:app", True, "fastapi")
    assert found.candidates == ("app.main:app",)  # the factory it calls is not another app
    assert (found.package, found.package_dir) == ("app", "src/app")
    assert found.health_found


def test_a_call_of_a_function_that_is_no_factory_is_no_app(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_api/__init__.py", "")
    write(tmp_path, "src/my_api/main.py", "def make() -> int:\n    return 1\n\napp = make()\n")
    with pytest.raises(ConfigError, match=r"no ASGI or WSGI app found in src/my_api \(looked"):
        project.read(tmp_path)


def test_a_factory_alone_is_called_by_gunicorn(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_api/__init__.py", "")
    write(tmp_path, "src/my_api/main.py", FACTORY)
    found = project.read(tmp_path)
    assert (found.entry, found.asgi, found.framework) == (
        "my_api.main:create_app()",
        True,
        "fastapi",
    )

    changes = {c.path: c.content for c in scaffold.plan(found)}
    assert (
        changes["Dockerfile"]
        .rstrip()
        .endswith(
            'CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "my_api.main:create_app()"]'
        )
    )
    assert "from my_api.main import create_app" in changes["tests/conftest.py"]
    assert "TestClient(create_app())" in changes["tests/conftest.py"]
    smoke = changes["tests/smoke/test_smoke.py"]
    assert "from my_api.main import create_app" in smoke
    assert "()" not in smoke.split("import create_app", 1)[1].split("\n", 1)[0]


def test_a_flask_factory_with_defaults_is_wsgi(tmp_path: Path) -> None:
    pyproject(tmp_path, "site")
    write(
        tmp_path,
        "site/__init__.py",
        """\
        from flask import Flask


        def create_app(test_config: dict[str, object] | None = None, *, name: str = "s") -> Flask:
            app = Flask(__name__)
            return app
        """,
    )
    found = project.read(tmp_path)
    assert (found.entry, found.asgi, found.framework) == ("site:create_app()", False, "flask")
    conftest = {c.path: c.content for c in scaffold.plan(found)}["tests/conftest.py"]
    assert "with create_app().test_client() as test_client:" in conftest


def test_an_app_at_module_level_wins_over_a_factory_alone(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_api/__init__.py", "")
    write(tmp_path, "src/my_api/main.py", FACTORY)
    write(tmp_path, "src/my_api/admin/site.py", "from flask import Flask\n\nsite = Flask('a')\n")
    found = project.read(tmp_path)
    assert found.entry == "my_api.admin.site:site"


# A root main.py and several top-level packages -------------------------------------------


def test_fastapi_in_main_py_at_the_root_with_no_package(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    write(tmp_path, "noxfile.py", "import shipline.nox\n")
    found = project.read(tmp_path)
    assert (found.entry, found.package, found.package_dir) == ("main:app", "main", "main.py")
    assert found.code == ("main.py",)
    cfg = parsed(tmp_path)
    assert cfg.code == ("main",)
    assert cfg.type.paths == cfg.security.bandit_targets == ("main.py",)
    assert covered(cfg) == ["--cov=main"]


def test_a_flat_layout_of_several_packages_is_all_checked_and_measured(tmp_path: Path) -> None:
    pyproject(tmp_path, "acme-api")
    files(tmp_path, FLAT)
    expected = ("db", "main.py", "models", "routers", "services")
    found = project.read(tmp_path)
    assert found.entry == "main:app"
    assert (found.package, found.package_dir, found.code) == ("main", "main.py", expected)
    cfg = parsed(tmp_path)
    assert cfg.type.paths == cfg.security.bandit_targets == expected
    assert covered(cfg) == [
        f"--cov={name}" for name in ("db", "main", "models", "routers", "services")
    ]


def test_a_src_layout_of_several_packages_and_a_module(tmp_path: Path) -> None:
    pyproject(tmp_path, "acme")
    files(
        tmp_path,
        {
            "src/acme/__init__.py": "",
            "src/acme/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
            "src/workers/__init__.py": "",
            "src/settings.py": "DEBUG = False\n",
            "src/static/app.js": "",  # a directory with no __init__.py is not code
            "noxfile.py": "",
            "helper.py": "",  # the root is not the project's code in a src layout
        },
    )
    cfg = parsed(tmp_path)
    assert (cfg.package, cfg.package_dir) == ("acme", "src/acme")
    assert cfg.type.paths == ("src/acme", "src/settings.py", "src/workers")
    assert covered(cfg) == ["--cov=acme", "--cov=settings", "--cov=workers"]
    assert project.read(tmp_path).code == cfg.type.paths


def test_the_distribution_name_differing_from_its_one_package(tmp_path: Path) -> None:
    pyproject(tmp_path, "acme-server")
    write(tmp_path, "app/__init__.py", "")
    write(tmp_path, "app/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    cfg = parsed(tmp_path)
    assert (cfg.package, cfg.code, cfg.type.paths, cfg.security.bandit_targets) == (
        "app",
        ("app",),
        ("app",),
        ("app",),
    )
    assert covered(cfg) == ["--cov=app"]
    assert project.read(tmp_path).entry == "app.main:app"


def test_a_configured_package_is_all_that_is_checked(tmp_path: Path) -> None:
    pyproject(tmp_path, "acme-api", extra='[tool.shipline]\npackage = "services"\n')
    files(tmp_path, FLAT)
    cfg = parsed(tmp_path)
    assert (cfg.code, cfg.type.paths) == (("services",), ("services",))
    configured = '[tool.shipline.type]\npaths = ["routers"]\n'
    pyproject(tmp_path, "acme-api", extra=configured)
    assert parsed(tmp_path).type.paths == ("routers",)


def test_no_code_anywhere_is_one_line(tmp_path: Path) -> None:
    pyproject(tmp_path)
    files(tmp_path, {"noxfile.py": "", "tests/test_x.py": "", "scripts/run.py": ""})
    cfg = parsed(tmp_path)
    assert (cfg.code, cfg.type.paths) == ((), ())
    with pytest.raises(ConfigError) as raised:
        project.read(tmp_path)
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("no package found for project 'my-api'")


# Several apps: one is taken, and init says which -----------------------------------------


def test_several_apps_the_first_by_module_and_init_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject(tmp_path, "acme-api")
    files(tmp_path, FLAT)
    write(
        tmp_path,
        "routers/admin.py",
        "from starlette.applications import Starlette\n\nadmin = Starlette()\n",
    )
    write(tmp_path, "services/app.py", FACTORY + "\napi = create_app()\n")
    found = project.read(tmp_path)
    assert found.candidates == ("main:app", "services.app:api", "routers.admin:admin")

    for owned in ("noxfile.py", "tasks.py", "gunicorn.conf.py"):  # init's own, not in conflict
        (tmp_path / owned).unlink()
    monkeypatch.chdir(tmp_path)
    program.run(["shipline", "init", "--dry-run"], exit=True)  # exits only on failure
    out = capsys.readouterr().out
    assert "acme-api: code db, main.py, models, routers, services, ASGI app main:app" in out
    assert (
        "note: 3 apps found (main:app, services.app:api, routers.admin:admin); using main:app"
        in out
    )
    assert "pass --entry module:attribute to use another" in out


def test_code_in_several_parts_gets_its_coverage_xml_named_from_the_root(tmp_path: Path) -> None:
    pyproject(tmp_path, "acme-api")
    files(tmp_path, FLAT)
    flat = parsed(tmp_path)
    steps = catalogue.get("unit").steps(flat, catalogue.Invocation())
    assert [s.argv[0] for s in steps] == ["pytest", "coverage"]
    assert steps[1].argv == (
        "coverage", "xml", "-q", "--fail-under=0", "-o", "reports/unit/coverage.xml"
    )  # fmt: skip

    single = tmp_path / "single"
    pyproject(single, "acme-server")
    write(single, "app/__init__.py", "")
    steps = catalogue.get("unit").steps(parsed(single), catalogue.Invocation())
    assert [s.argv[0] for s in steps] == ["pytest"]  # pytest-cov's own XML names it well
