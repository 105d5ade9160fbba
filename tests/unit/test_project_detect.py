"""`invoke init` without subprocesses: what it detects, what it plans, how it writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from support.sample import write

from shipline import config, project, scaffold, tiers
from shipline.errors import ConfigError, UsageError

FASTAPI_MAIN = """\
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}
    """


def pyproject(root: Path, name: str = "my-app", extra: str = "") -> None:
    write(
        root,
        "pyproject.toml",
        f'[project]\nname = "{name}"\nversion = "0.1.0"\n'
        'dependencies = ["fastapi"]\n\n'
        '[project.optional-dependencies]\ndev = ["pytest", "httpx"]\n' + extra,
    )


def fastapi_app(root: Path, package_dir: str = "src/my_app") -> project.Project:
    """A src-layout FastAPI project, read the way `init` reads it."""
    pyproject(root)
    write(root, f"{package_dir}/__init__.py", "")
    write(root, f"{package_dir}/main.py", FASTAPI_MAIN)
    return project.read(root)


def rendered(changes: list[scaffold.FileChange], path: str) -> str:
    return next(a.content for a in changes if a.path == path)


def statuses(changes: list[scaffold.FileChange]) -> dict[str, str]:
    return {a.path: a.status for a in changes}


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every directory (as None) under `root`."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


# The package ----------------------------------------------------------------------------


def test_src_layout_package_from_the_project_name(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    assert (found.name, found.package, found.package_dir) == ("my-app", "my_app", "src/my_app")


def test_flat_layout_and_a_name_with_dashes_and_dots(tmp_path: Path) -> None:
    pyproject(tmp_path, name="Acme.Web-API")
    write(tmp_path, "acme_web_api/__init__.py", "")
    write(tmp_path, "acme_web_api/main.py", FASTAPI_MAIN)
    write(tmp_path, "tests/__init__.py", "")  # never a candidate
    found = project.read(tmp_path)
    assert (found.package, found.package_dir) == ("acme_web_api", "acme_web_api")
    assert found.entry == "acme_web_api.main:app"


def test_configured_package_wins_over_the_name(tmp_path: Path) -> None:
    pyproject(tmp_path, extra='\n[tool.shipline]\npackage = "service"\n')
    write(tmp_path, "src/my_app/__init__.py", "")
    write(tmp_path, "src/service/__init__.py", "")
    write(tmp_path, "src/service/app.py", FASTAPI_MAIN)
    found = project.read(tmp_path)
    assert (found.package, found.package_dir) == ("service", "src/service")
    assert found.entry == "service.app:app"
    assert found.has_shipline_table


def test_configured_package_that_is_missing_is_an_error_not_a_guess(tmp_path: Path) -> None:
    pyproject(tmp_path, extra='\n[tool.shipline]\npackage = "servce"\n')
    write(tmp_path, "src/service/__init__.py", "")  # the only package: must not be taken
    with pytest.raises(ConfigError, match=r"tool\.shipline\.package: no package 'servce'"):
        project.read(tmp_path)


def test_the_only_package_is_taken_when_the_name_does_not_match(tmp_path: Path) -> None:
    pyproject(tmp_path, name="something-else")
    write(tmp_path, "src/core/__init__.py", "")
    write(tmp_path, "src/core/main.py", FASTAPI_MAIN)
    write(tmp_path, "src/tests/__init__.py", "")  # tests, docs and migrations never count
    write(tmp_path, "migrations/__init__.py", "")
    assert project.read(tmp_path).package_dir == "src/core"


def test_several_packages_are_all_the_projects_code(tmp_path: Path) -> None:
    pyproject(tmp_path, name="something-else")
    write(tmp_path, "src/alpha/__init__.py", "")
    write(tmp_path, "src/beta/__init__.py", "")
    write(tmp_path, "src/beta/main.py", FASTAPI_MAIN)
    write(tmp_path, "gamma/__init__.py", "")  # src/ has code: the root's is not the project's
    found = project.read(tmp_path)
    assert (found.package, found.package_dir, found.entry) == ("beta", "src/beta", "beta.main:app")
    assert found.code == ("src/alpha", "src/beta")


def test_no_package_is_one_line_naming_where_it_looked(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "scripts/main.py", FASTAPI_MAIN)  # not the project's name, no __init__.py
    with pytest.raises(ConfigError) as raised:
        project.read(tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("no package found for project 'my-app'")
    assert "src/my_app/ or my_app/" in message
    assert "found several" not in message


def test_no_pyproject_and_no_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no pyproject\.toml in"):
        project.read(tmp_path)
    write(tmp_path, "pyproject.toml", '[project]\nversion = "1"\n')
    with pytest.raises(ConfigError, match=r"no \[project\] name"):
        project.read(tmp_path)


# The entry point ------------------------------------------------------------------------


def test_fastapi_in_main_is_the_asgi_entry(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    assert (found.entry, found.asgi, found.framework) == ("my_app.main:app", True, "fastapi")


def test_flask_is_wsgi(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(
        tmp_path, "src/my_app/__init__.py", "from flask import Flask\n\nserver = Flask(__name__)\n"
    )
    found = project.read(tmp_path)
    assert (found.entry, found.asgi, found.framework) == ("my_app:server", False, "flask")


def test_django_asgi_application(tmp_path: Path) -> None:
    pyproject(tmp_path, name="mysite")
    write(tmp_path, "mysite/__init__.py", "")
    write(tmp_path, "mysite/settings.py", "DEBUG = False\n")
    write(
        tmp_path,
        "mysite/asgi.py",
        """\
        import os

        from django.core.asgi import get_asgi_application

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
        application = get_asgi_application()
        """,
    )
    write(
        tmp_path,
        "mysite/wsgi.py",
        "from django.core.wsgi import get_wsgi_application\n\n"
        "application = get_wsgi_application()\n",
    )
    found = project.read(tmp_path)
    assert (found.entry, found.asgi, found.framework) == ("mysite.asgi:application", True, "django")


def test_annotated_assignment_counts_and_a_bare_annotation_does_not(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_app/__init__.py", "")
    write(
        tmp_path,
        "src/my_app/main.py",
        """\
        import starlette.applications

        api: starlette.applications.Starlette
        web: starlette.applications.Starlette = starlette.applications.Starlette()
        """,
    )
    found = project.read(tmp_path)
    assert (found.entry, found.framework) == ("my_app.main:web", "starlette")


def test_app_and_main_modules_win_over_deeper_and_other_modules(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_app/__init__.py", "")
    # Sorted by path alone, both of these would come before app.py.
    write(
        tmp_path, "src/my_app/api/v1/factory.py", "from fastapi import FastAPI\n\nv1 = FastAPI()\n"
    )
    write(tmp_path, "src/my_app/admin.py", "from flask import Flask\n\nadmin = Flask(__name__)\n")
    write(tmp_path, "src/my_app/app.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    write(tmp_path, "src/my_app/broken.py", "def (:\n")  # unparsable modules are passed over
    assert project.read(tmp_path).entry == "my_app.app:app"
    write(tmp_path, "src/my_app/main.py", "from fastapi import FastAPI\n\nroot = FastAPI()\n")
    assert project.read(tmp_path).entry == "my_app.main:root"


def test_only_module_level_assignments_and_callable_factories_count(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_app/__init__.py", "")
    write(
        tmp_path,
        "src/my_app/main.py",
        """\
        from fastapi import FastAPI


        def create_app(settings: dict[str, str]) -> FastAPI:
            app = FastAPI()
            return app


        def run() -> None:
            api = FastAPI()
        """,
    )
    with pytest.raises(ConfigError) as raised:
        project.read(tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert "no ASGI or WSGI app found in src/my_app (looked for a module-level" in message
    assert "pass --entry module:attribute, or module:factory() for a factory" in message


def test_entry_option_skips_detection_and_is_validated(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_app/__init__.py", "")  # no app anywhere: --entry is the only way
    given = project.read(tmp_path, entry="my_app.factory:create_app()")
    assert (given.entry, given.asgi, given.framework) == ("my_app.factory:create_app()", True, "")
    assert not project.read(tmp_path, entry="my_app.wsgi:app", wsgi=True).asgi
    for bad in ("my_app.main", "my_app.main:", ":app", "my_app..main:app", "my_app.:app", "1x:app"):
        with pytest.raises(UsageError, match=r"--entry .*expected module:attribute"):
            project.read(tmp_path, entry=bad)


# The Python version ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requires", "expected"),
    [
        (None, "3.12"),
        (">=3.11", "3.12"),
        (">=3.9,<4", "3.12"),
        (">=3.13", "3.13"),
        ("<3.12", "3.11"),
        ("==3.10.*", "3.10"),
        # The image has the latest patch release of its minor version.
        ("~=3.11.4", "3.11"),
        (">=3.12.1", "3.12"),
    ],
)
def test_python_from_requires_python(requires: str | None, expected: str) -> None:
    table = {} if requires is None else {"requires-python": requires}
    assert project.python_version(Path("/nonexistent"), table) == expected


def test_python_version_file_wins(tmp_path: Path) -> None:
    write(tmp_path, ".python-version", "3.11.9\n")
    assert project.python_version(tmp_path, {"requires-python": ">=3.13"}) == "3.11"
    write(tmp_path, ".python-version", "system\n")  # not a version: requires-python decides
    assert project.python_version(tmp_path, {"requires-python": ">=3.13"}) == "3.13"


def test_bad_requires_python_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"'3\.11\+' is not a version specifier"):
        project.python_version(Path("/nonexistent"), {"requires-python": "3.11+"})
    with pytest.raises(ConfigError, match=r"allows none of Python") as raised:
        project.python_version(Path("/nonexistent"), {"requires-python": ">=4"})
    assert ".python-version" in str(raised.value)  # the way out that works


def test_read_uses_the_python_version(tmp_path: Path) -> None:
    fastapi_app(tmp_path)
    write(tmp_path, ".python-version", "3.13\n")
    assert project.read(tmp_path).python == "3.13"


# Health route, clients, tiers ----------------------------------------------------------


def test_health_route_found_or_defaulted(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    assert (found.health_path, found.health_found) == ("/health", True)
    write(tmp_path, "src/my_app/main.py", FASTAPI_MAIN.replace('"/health"', "'/healthz/'"))
    found = project.read(tmp_path)
    assert (found.health_path, found.health_found) == ("/healthz/", True)
    write(tmp_path, "src/my_app/main.py", FASTAPI_MAIN.replace('"/health"', '"/items"'))
    found = project.read(tmp_path)
    assert (found.health_path, found.health_found) == ("/health", False)


def test_httpx_declared_and_missing_tiers(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    assert found.has_httpx
    assert found.missing_tiers == ("integration", "database", "e2e", "security")
    write(tmp_path, "tests/database/test_db.py", "")
    write(tmp_path, "tests/e2e/test_e2e.py", "")
    assert project.read(tmp_path).missing_tiers == ("integration", "security")
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "my-app"\ndependencies = ["fastapi", "httpx-extras"]\n',
    )
    assert not project.read(tmp_path).has_httpx  # a prefix is not the package


# The plan -------------------------------------------------------------------------------

OWNED_FILES = [path for _, path, kind in scaffold.FILES if kind == scaffold.OWNED]
STARTERS = ["tests/conftest.py", "tests/smoke/test_smoke.py", "tests/unit/test_health.py"]


def test_fresh_plan_creates_everything_and_appends_the_config(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    before = snapshot(tmp_path)
    changes = scaffold.plan(found)
    assert statuses(changes) == {
        **dict.fromkeys([*OWNED_FILES, *STARTERS], "create"),
        "pyproject.toml": "append",
    }
    assert snapshot(tmp_path) == before  # planning writes nothing


def test_second_plan_after_apply_changes_nothing(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    scaffold.apply(tmp_path, scaffold.plan(found))
    again = scaffold.plan(project.read(tmp_path))
    assert statuses(again) == {
        **dict.fromkeys([*OWNED_FILES, "tests/conftest.py", "pyproject.toml"], "unchanged"),
        "tests/smoke/test_smoke.py": "skip",  # the smoke tier has tests now: the user's
        "tests/unit/test_health.py": "skip",  # and so has the unit tier
    }
    assert not [a for a in again if a.status in scaffold.WRITES]


def test_a_changed_owned_file_is_a_conflict_with_both_sides_or_an_overwrite(
    tmp_path: Path,
) -> None:
    found = fastapi_app(tmp_path)
    scaffold.apply(tmp_path, scaffold.plan(found))
    nginx = tmp_path / "nginx.conf"
    template = nginx.read_text()
    nginx.write_text(template.replace("client_max_body_size 10m;", "client_max_body_size 99m;"))
    found = project.read(tmp_path)

    conflict = next(a for a in scaffold.plan(found) if a.path == "nginx.conf")
    assert conflict.status == "conflict"
    assert conflict.content == template
    diff = conflict.diff.splitlines()
    assert diff[:2] == ["--- a/nginx.conf (yours)", "+++ b/nginx.conf (template)"]
    assert "-    client_max_body_size 99m;" in diff
    assert "+    client_max_body_size 10m;" in diff
    others = [a.status for a in scaffold.plan(found) if a.path != "nginx.conf"]
    assert set(others) == {"unchanged", "skip"}

    forced = next(a for a in scaffold.plan(found, force=True) if a.path == "nginx.conf")
    assert (forced.status, forced.content) == ("overwrite", template)
    assert forced.diff == conflict.diff


def test_an_existing_conftest_is_the_users_even_with_force(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    write(tmp_path, "tests/conftest.py", "import pytest  # mine\n")
    write(tmp_path, "tests/smoke/test_alive.py", "def test_alive() -> None:\n    pass\n")
    for force in (False, True):
        planned = statuses(scaffold.plan(found, force=force))
        assert planned["tests/conftest.py"] == "skip"
        assert planned["tests/smoke/test_smoke.py"] == "skip"


# What is rendered -----------------------------------------------------------------------


def test_dockerfile_has_the_entry_and_the_base_image(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    default = rendered(scaffold.plan(found), "Dockerfile")
    assert "ARG BASE_IMAGE=python:3.12-slim\n" in default
    assert '"gunicorn", "--config", "/app/gunicorn.conf.py", "my_app.main:app"]' in default
    assert '"gunicorn>=20.1" "uvicorn-worker>=0.2"' in default  # floors, never == pins
    assert "==" not in default
    assert "USER 10001:10001" in default
    assert "/health" in default
    given = rendered(scaffold.plan(found, "shipline/python-base:bookworm"), "Dockerfile")
    assert "ARG BASE_IMAGE=shipline/python-base:bookworm\n" in given
    assert "python:3.12-slim" not in given
    write(tmp_path, ".python-version", "3.13\n")
    newer = rendered(scaffold.plan(project.read(tmp_path)), "Dockerfile")
    assert "ARG BASE_IMAGE=python:3.13-slim\n" in newer


def test_gunicorn_config_follows_asgi(tmp_path: Path) -> None:
    conf = rendered(scaffold.plan(fastapi_app(tmp_path)), "gunicorn.conf.py")
    assert 'worker_class = "uvicorn_worker.UvicornWorker"' in conf
    assert "threads" not in conf


def test_wsgi_renders_gthread_and_no_uvicorn(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_app/__init__.py", "")
    write(tmp_path, "src/my_app/app.py", "from flask import Flask\n\napp = Flask(__name__)\n")
    changes = scaffold.plan(project.read(tmp_path))
    conf = rendered(changes, "gunicorn.conf.py")
    assert 'worker_class = "gthread"' in conf
    assert "threads = int(" in conf
    dockerfile = rendered(changes, "Dockerfile")
    assert '"gunicorn>=20.1"' in dockerfile
    assert "uvicorn" not in dockerfile.lower()
    assert dockerfile.rstrip().endswith('"my_app.app:app"]')
    conftest = rendered(changes, "tests/conftest.py")
    assert "from flask.testing import FlaskClient" in conftest
    assert "from my_app.app import app" in conftest


@pytest.mark.parametrize(
    "app_source", [FASTAPI_MAIN, "from flask import Flask\n\napp = Flask(__name__)\n"]
)
def test_rendered_files_have_no_leftover_template_syntax(tmp_path: Path, app_source: str) -> None:
    pyproject(tmp_path)
    write(tmp_path, "src/my_app/__init__.py", "")
    write(tmp_path, "src/my_app/main.py", app_source)
    changes = [c for c in scaffold.plan(project.read(tmp_path)) if c.status != "skip"]
    for change in changes:
        assert change.content, change.path
        for mark in ("[[", "[%", "%]", "[#"):
            assert mark not in change.content, f"{change.path} has {mark!r}"
    for path in ("noxfile.py", "tasks.py", "gunicorn.conf.py", *STARTERS):
        if path not in {c.path for c in changes}:
            continue  # Flask with no health route: no first unit test to write
        compile(rendered(changes, path), path, "exec")  # valid Python


def test_appended_config_parses_and_marks_missing_tiers_optional(tmp_path: Path) -> None:
    fastapi_app(tmp_path)
    write(tmp_path, "tests/integration/test_flow.py", "")
    found = project.read(tmp_path)
    text = rendered(scaffold.plan(found), "pyproject.toml")
    original = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(original)  # appended, never rewritten
    data = tomllib.loads(text)
    cfg = config.parse(data, tmp_path)
    assert cfg.package_dir == "src/my_app"
    assert cfg.smoke.health_path == "/health"
    assert cfg.deploy.app == "my-app"
    assert cfg.tests.env == {"APP_ENV": "test"}
    assert {t for t, tier in cfg.tiers.items() if tier.optional} == {"database", "e2e", "security"}
    assert set(data["tool"]["shipline"]["tiers"]) == {"database", "e2e", "security"}


def test_appended_config_without_a_trailing_newline(tmp_path: Path) -> None:
    fastapi_app(tmp_path)
    pyproject_file = tmp_path / "pyproject.toml"
    pyproject_file.write_text(pyproject_file.read_text().rstrip("\n"))
    text = rendered(scaffold.plan(project.read(tmp_path)), "pyproject.toml")
    config.parse(tomllib.loads(text), tmp_path)


def test_no_missing_tiers_means_no_tiers_table(tmp_path: Path) -> None:
    fastapi_app(tmp_path)
    for tier in tiers.OPTIONAL_IF_ABSENT:
        write(tmp_path, f"tests/{tier}/test_{tier}.py", "")
    data = tomllib.loads(rendered(scaffold.plan(project.read(tmp_path)), "pyproject.toml"))
    assert "tiers" not in data["tool"]["shipline"]
    assert not any(t.optional for t in config.parse(data, tmp_path).tiers.values())


# Writing --------------------------------------------------------------------------------


def test_apply_writes_exactly_the_plan(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    changes = scaffold.plan(found)
    scaffold.apply(tmp_path, changes)
    for change in changes:
        assert (tmp_path / change.path).read_text() == change.content
        assert (tmp_path / change.path).stat().st_mode & 0o777 == 0o644
    hidden = {p.name for p in tmp_path.rglob(".*")}
    assert hidden == {".dockerignore", ".github"}  # no temporary files left


def test_apply_rolls_back_everything_when_a_write_fails(tmp_path: Path) -> None:
    fastapi_app(tmp_path)
    # A file of init's the user replaced (overwritten with --force), in bytes not UTF-8.
    (tmp_path / "gunicorn.conf.py").write_bytes(b"# caf\xe9 \xff\r\nworker_processes 1;\r\n")
    (tmp_path / "gunicorn.conf.py").chmod(0o600)
    # `tests` is a regular file: creating tests/conftest.py fails after the workflows
    # (and .github/workflows/) were written.
    (tmp_path / "tests").write_text("not a directory\n")
    changes = scaffold.plan(project.read(tmp_path), force=True)
    assert statuses(changes)["gunicorn.conf.py"] == "overwrite"
    order = [a.path for a in changes]
    assert order.index(".github/workflows/cd.yml") < order.index("tests/conftest.py")
    before = snapshot(tmp_path)

    with pytest.raises(OSError, match="tests"):
        scaffold.apply(tmp_path, changes)

    assert snapshot(tmp_path) == before  # same files, same bytes, no .github/ left
    assert (tmp_path / "gunicorn.conf.py").stat().st_mode & 0o777 == 0o600


def test_force_overwrites_a_file_in_another_encoding(tmp_path: Path) -> None:
    fastapi_app(tmp_path)
    (tmp_path / "gunicorn.conf.py").write_bytes(b"# caf\xe9\n")
    changes = scaffold.plan(project.read(tmp_path), force=True)
    conflict = next(a for a in changes if a.path == "gunicorn.conf.py")
    assert "-# caf\ufffd" in conflict.diff.splitlines()
    scaffold.apply(tmp_path, changes)
    assert (tmp_path / "gunicorn.conf.py").read_text() == conflict.content


def test_the_config_block_keeps_a_crlf_pyproject_crlf(tmp_path: Path) -> None:
    found = fastapi_app(tmp_path)
    original = (tmp_path / "pyproject.toml").read_text().replace("\n", "\r\n")
    (tmp_path / "pyproject.toml").write_bytes(original.encode())
    scaffold.apply(tmp_path, scaffold.plan(found))
    data = (tmp_path / "pyproject.toml").read_bytes()
    assert data.startswith(original.encode())
    assert b"[tool.shipline]\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert tomllib.loads(data.decode())["tool"]["shipline"]["default-branch"] == "main"


def test_an_inline_tool_table_cannot_take_the_block_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    fastapi_app(tmp_path)
    path = tmp_path / "pyproject.toml"
    path.write_text("tool = { ruff = { line-length = 100 } }\n" + path.read_text())
    found = project.read(tmp_path)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=r"cannot be appended \(an inline `tool = \{\.\.\.\}`"):
        scaffold.plan(found)
    assert path.read_bytes() == before
