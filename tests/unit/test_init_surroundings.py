"""What init reads around the code: git's default branch, CI's Python, routes, tests, migrations."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from support.sample import fastapi_project, git, subdirectory_project, write

from shipline import catalogue, config, project, scaffold, surroundings
from shipline.surroundings import Chosen


@pytest.fixture(autouse=True)
def no_git_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The machine's git config (init.defaultBranch) must not decide these tests."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def plan(root: Path) -> dict[str, scaffold.FileChange]:
    return {change.path: change for change in scaffold.plan(project.read(root))}


# The default branch ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin_head", "current", "configured", "expected"),
    [
        ("refs/remotes/origin/trunk", "master", "main", Chosen("trunk", "origin/HEAD")),
        (None, "master", "main", Chosen("master", "the current branch")),
        (None, "main", None, Chosen("main", "the current branch")),
        (None, "feature", "develop", Chosen("develop", "git config init.defaultBranch")),
        (
            None,
            None,
            None,
            Chosen("main", "no remote HEAD, main/master branch or init.defaultBranch"),
        ),
    ],
)
def test_the_branch_rule(
    origin_head: str | None, current: str | None, configured: str | None, expected: Chosen
) -> None:
    assert surroundings.choose_branch(origin_head, current, configured) == expected


def test_a_master_repository_gets_master_and_origin_head_wins(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "master")
    assert surroundings.default_branch(tmp_path) == Chosen("master", "the current branch")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
    git(tmp_path, "update-ref", "refs/remotes/origin/trunk", "HEAD")
    git(tmp_path, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    assert surroundings.default_branch(tmp_path) == Chosen("trunk", "origin/HEAD")


def test_init_writes_the_detected_branch_into_config_and_workflows(tmp_path: Path) -> None:
    fastapi_project(tmp_path, "my-app")
    git(tmp_path, "init", "-q", "-b", "master")
    changes = plan(tmp_path)
    table = tomllib.loads(changes["pyproject.toml"].content)["tool"]["shipline"]
    assert table["default-branch"] == "master"
    for name in ("ci.yml", "cd.yml"):
        workflow = yaml.safe_load(changes[f".github/workflows/{name}"].content)
        assert workflow[True]["push"]["branches"] == ["master"]
    found = project.read(tmp_path)
    assert 'default-branch = "master" (from the current branch)' in scaffold.choices(
        found, scaffold.plan(found)
    )


def test_a_configured_branch_is_kept(tmp_path: Path) -> None:
    fastapi_project(tmp_path, "my-app", extra='\n[tool.shipline]\ndefault-branch = "trunk"\n')
    git(tmp_path, "init", "-q", "-b", "master")
    found = project.read(tmp_path)
    assert found.default_branch == Chosen("trunk", "[tool.shipline] default-branch")


# Python from the project's CI -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "      - uses: actions/setup-python@v5\n"
            '        with:\n          python-version: "3.11"\n',
            ["3.11"],
        ),
        ("        python-version: ['3.10', '3.11']  # 3.13 next\n", ["3.10", "3.11"]),
        ("        python: [3.9, 3.12]\n", ["3.9", "3.12"]),
        ("          python-version: ${{ matrix.python }}\n", []),
        ("          python-version-file: .python-version\n", []),
    ],
)
def test_python_versions_in_workflows(text: str, expected: list[str]) -> None:
    assert surroundings.ci_versions([text]) == expected


def test_ci_python_wins_over_requires_python_and_must_be_allowed(tmp_path: Path) -> None:
    fastapi_project(tmp_path, "my-app")
    write(tmp_path, ".github/workflows/test.yml", "    python-version: ['3.10', '3.11']\n")
    found = project.read(tmp_path)  # requires-python >=3.11: 3.10 is not a candidate
    assert (found.python, found.python_source) == ("3.11", ".github/workflows/test.yml")
    assert 'python-version: "3.11"' in plan(tmp_path)[".github/workflows/ci.yml"].content
    assert "ARG BASE_IMAGE=python:3.11-slim" in plan(tmp_path)["Dockerfile"].content


def test_without_ci_python_comes_from_requires_python(tmp_path: Path) -> None:
    found = project.read(fastapi_project(tmp_path, "my-app"))
    assert (found.python, found.python_source) == ("3.12", "requires-python")


# The health route -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('@app.get("/items")\ndef a(): ...\n@app.get("/_health")\ndef h(): ...\n', "/_health"),
        ('@app.get("/ping")\ndef p(): ...\n@app.get("/healthz")\ndef h(): ...\n', "/healthz"),
        ('@app.route("/status", methods=["GET"])\ndef s(): ...\n', "/status"),
        (
            'router = APIRouter(prefix="/api/")\n@router.get("/health")\ndef h(): ...\n',
            "/api/health",
        ),
        ('routes = [Route("/livez", live), Route("/items/{id}", item)]\n', "/livez"),
        ('urlpatterns = [path("health/", views.health)]\n', "/health/"),
        ('@app.get("/items/{health}")\ndef i(): ...\nURL = "/health"\n', None),
        ("@app.get(\n", None),
    ],
)
def test_the_health_route_the_app_declares(source: str, expected: str | None) -> None:
    assert surroundings.health_route(surroundings.route_paths(source)) == expected


def test_init_takes_the_declared_route(tmp_path: Path) -> None:
    found = project.read(fastapi_project(tmp_path, "my-app", health="/_health"))
    assert (found.health_path, found.health_found) == ("/_health", True)
    changes = plan(tmp_path)
    assert 'client.get("/_health")' in changes["tests/unit/test_health.py"].content
    assert 'health-path = "/_health"' in changes["pyproject.toml"].content


# A first unit test ----------------------------------------------------------------------


def test_a_first_unit_test_only_without_unit_tests(tmp_path: Path) -> None:
    fastapi_project(tmp_path, "my-app")
    write(tmp_path, "tests/integration/test_flow.py", "def test_flow() -> None:\n    pass\n")
    assert plan(tmp_path)["tests/unit/test_health.py"].status == "create"
    write(tmp_path, "tests/test_loose.py", "def test_loose() -> None:\n    pass\n")
    assert plan(tmp_path)["tests/unit/test_health.py"].status == "skip"  # unmarked: unit's


def test_without_a_test_client_the_unit_tier_is_optional_instead(tmp_path: Path) -> None:
    fastapi_project(tmp_path, "my-app")
    write(
        tmp_path,
        "pyproject.toml",
        (tmp_path / "pyproject.toml").read_text().replace(', "httpx"', ""),
    )
    found = project.read(tmp_path)
    changes = {c.path: c for c in scaffold.plan(found)}
    assert changes["tests/unit/test_health.py"].status == "skip"
    tiers = tomllib.loads(changes["pyproject.toml"].content)["tool"]["shipline"]["tiers"]
    assert tiers["unit"] == {"optional": True}
    assert any("the unit tier is optional" in note for note in scaffold.notes(found))


# Integration tests that reach a deployed service ----------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'BASE = os.environ["BASE_URL"]\nAPI = os.getenv("API_URL", "x")\n',
            ["BASE_URL", "API_URL"],
        ),
        ('requests.get("https://api.acme.io/items")\n', ["api.acme.io"]),
        ('client.get("http://localhost:8000/x")\nos.environ.get("API_TOKEN")\n', []),
        ('httpx.get("http://127.0.0.1:5000/")\n', []),
        ('URL = os.environ["DATABASE_URL"]\nR = os.getenv("REDIS_URL")\n', []),
        ('import respx\n\nrespx.get("https://api.github.com/x")\n', []),
        ('requests.get("https://api.example.com/items")\nos.environ["URL"]\n', ["URL"]),
    ],
)
def test_signs_of_a_deployed_service(source: str, expected: list[str]) -> None:
    assert surroundings.remote_signs(source) == expected


def test_a_remote_integration_tier_runs_after_the_deploy_not_on_pull_requests(
    tmp_path: Path,
) -> None:
    fastapi_project(tmp_path, "my-app")
    write(
        tmp_path,
        "tests/integration/test_live.py",
        'import os\n\nBASE = os.environ.get("BASE_URL", "https://prod.example.com")\n',
    )
    changes = plan(tmp_path)
    ci = yaml.safe_load(changes[".github/workflows/ci.yml"].content)
    assert ci["jobs"]["tests"]["strategy"]["matrix"]["tier"] == ["unit", "database"]
    cd = yaml.safe_load(changes[".github/workflows/cd.yml"].content)
    assert "tests" not in cd["jobs"]  # CD gates on CI's tiers instead of running them again
    live = [
        s for s in cd["jobs"]["live-integration"]["steps"] if "with" in s and "tier" in s["with"]
    ]
    assert [(s["with"]["tier"], s["env"]) for s in live] == [
        (
            "integration",
            {"SERVICE_URL": "${{ vars.SERVICE_URL }}", "BASE_URL": "${{ vars.SERVICE_URL }}"},
        ),
        ("e2e", {"SERVICE_URL": "${{ vars.SERVICE_URL }}"}),
    ]
    notes = scaffold.notes(project.read(tmp_path))
    assert any("tests/integration reaches a deployed service" in n for n in notes)


def test_an_in_process_integration_tier_stays_on_pull_requests(tmp_path: Path) -> None:
    fastapi_project(tmp_path, "my-app")
    write(tmp_path, "tests/integration/test_flow.py", "def test_flow(client) -> None:\n    pass\n")
    ci = yaml.safe_load(plan(tmp_path)[".github/workflows/ci.yml"].content)
    assert ci["jobs"]["tests"]["strategy"]["matrix"]["tier"] == ["unit", "integration", "database"]


# Migrations -----------------------------------------------------------------------------


def test_migrations_from_alembic_ini_at_the_root_or_in_migrations(tmp_path: Path) -> None:
    assert surroundings.migrations(tmp_path) is None
    write(tmp_path, "migrations/alembic.ini", "[alembic]\n")
    assert surroundings.migrations(tmp_path) == Chosen(
        "flask-migrate", "migrations/alembic.ini (Flask-Migrate)"
    )
    write(tmp_path, "alembic.ini", "[alembic]\n")
    assert surroundings.migrations(tmp_path) == Chosen("alembic", "alembic.ini")


def test_flask_migrate_is_configured_with_the_app_and_runs_flask_db(tmp_path: Path) -> None:
    fastapi_project(tmp_path, "my-app")
    write(tmp_path, "migrations/alembic.ini", "[alembic]\n")
    write(tmp_path, "tests/database/test_db.py", "def test_db() -> None:\n    pass\n")
    content = plan(tmp_path)["pyproject.toml"].content
    write(tmp_path, "pyproject.toml", content)
    data = tomllib.loads(content)["tool"]["shipline"]
    assert data["tiers"]["database"] == {"migrations": "flask-migrate"}
    assert data["tests"]["env"]["FLASK_APP"] == "my_app.main:app"
    cfg = config.load(tmp_path)
    invocation = catalogue.Invocation(posargs=(), environ={"DATABASE_URL": "sqlite://"})
    steps = catalogue._pytest_steps(cfg, cfg.tier("database"), invocation)
    assert [s.argv for s in steps[:2]] == [("flask", "db", "upgrade"), ("flask", "db", "check")]
    assert steps[0].env["FLASK_APP"] == "my_app.main:app"


def test_migrations_wait_for_a_database_tier(tmp_path: Path) -> None:
    fastapi_project(tmp_path, "my-app")
    write(tmp_path, "alembic.ini", "[alembic]\n")
    content = plan(tmp_path)["pyproject.toml"].content
    assert '# migrations = "alembic"' in content
    assert tomllib.loads(content)["tool"]["shipline"]["tiers"]["database"] == {"optional": True}


# A project in a subdirectory of its repository ------------------------------------------


def test_workflows_go_to_the_repository_root_run_in_the_subdirectory(tmp_path: Path) -> None:
    api = subdirectory_project(tmp_path / "repo" / "services" / "api")
    found = project.read(api)
    assert found.workflow_dir == "services/api"
    assert (found.python, found.python_source) == ("3.11", "../../.github/workflows/tests.yml")
    changes = {c.path: c for c in scaffold.plan(found)}
    ci = yaml.safe_load(changes["../../.github/workflows/ci.yml"].content)
    assert ci["defaults"] == {"run": {"working-directory": "services/api"}}
    shipline_steps = [
        step
        for job in ci["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("shipline/shipline/actions/")
    ]
    assert shipline_steps
    for step in shipline_steps:
        assert step["with"]["working-directory"] == "services/api"
        assert step["with"]["python-version"] == "3.11"
    upload = ci["jobs"]["tests"]["steps"][-1]
    assert upload["with"]["path"] == "services/api/reports/${{ matrix.tier }}/"
    scaffold.apply(api, list(changes.values()))
    assert (tmp_path / "repo" / ".github" / "workflows" / "cd.yml").is_file()
    assert not (api / ".github").exists()


def test_a_project_with_its_own_github_folder_keeps_it(tmp_path: Path) -> None:
    api = subdirectory_project(tmp_path / "repo" / "api", repository_depth=1)
    write(api, ".github/workflows/own.yml", "on: push\n")
    assert project.read(api).workflow_dir == "."
    assert ".github/workflows/ci.yml" in plan(api)


def test_no_git_means_the_project_directory(tmp_path: Path) -> None:
    assert (
        surroundings.git_root(tmp_path) is None
        or subprocess.run(["git", "rev-parse"], cwd=tmp_path, check=False).returncode == 0
    )
    assert surroundings.workflow_home(tmp_path, None) == "."
