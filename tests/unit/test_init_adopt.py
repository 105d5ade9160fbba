"""`init` on projects with their own Docker, compose and workflow files, or no [project].

Plans as data: which of the project's files init adopts and what it configures
for them; the [project] table it proposes and how it lands in an existing file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from support.sample import write

from shipline import config, project, proposal, scaffold
from shipline.cli import program
from shipline.errors import ConfigError, UsageError

MAIN = """\
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}
    """
OWN_DOCKERFILE = 'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "-m", "shop"]\n'
INIT_FIRST_LINE = (
    "# The service's image, rendered by `invoke init` (shipline); built by `invoke build`."
)


def shop(root: Path) -> Path:
    write(root, "pyproject.toml", '[project]\nname = "shop"\ndependencies = ["fastapi"]\n')
    write(root, "src/shop/__init__.py", "")
    write(root, "src/shop/main.py", MAIN)
    return root


def planned(root: Path, dockerfile: str | None = None) -> scaffold.Plan:
    return scaffold.full_plan(project.read(root), dockerfile=dockerfile)


def statuses(plan: scaffold.Plan) -> dict[str, str]:
    return {change.path: change.status for change in plan.changes}


def block(plan: scaffold.Plan) -> dict[str, object]:
    """The [tool.shipline] init appends, parsed."""
    appended = next(c for c in plan.changes if c.path == "pyproject.toml")
    assert appended.status == "append"
    data = tomllib.loads(appended.content)
    tool = data["tool"]
    assert isinstance(tool, dict)
    shipline = tool["shipline"]
    assert isinstance(shipline, dict)
    return shipline


def test_the_projects_own_dockerfile_and_dockerignore_are_kept_and_configured(
    tmp_path: Path,
) -> None:
    root = shop(tmp_path)
    write(root, "Dockerfile", OWN_DOCKERFILE)
    write(root, ".dockerignore", ".git\n.venv\n")
    plan = planned(root)
    seen = statuses(plan)
    assert seen["Dockerfile"] == "adopt"
    assert seen[".dockerignore"] == "adopt"
    assert seen["gunicorn.conf.py"] == "skip"  # the kept Dockerfile does not use it
    assert seen["compose.yml"] == "create"
    assert block(plan)["image"] == {"dockerfile": "Dockerfile", "context": "."}
    assert any('dockerfile = "Dockerfile"' in note for note in plan.notes)

    before = {p: (root / p).read_bytes() for p in ("Dockerfile", ".dockerignore")}
    scaffold.apply(root, plan.changes)
    assert {p: (root / p).read_bytes() for p in before} == before
    assert not (root / "gunicorn.conf.py").exists()
    assert config.load(root).image.dockerfile == "Dockerfile"
    # Again: the configured Dockerfile is still the project's, nothing else moves.
    again = planned(root)
    assert statuses(again)["Dockerfile"] == "adopt"
    assert statuses(again)["pyproject.toml"] == "unchanged"


def test_a_dockerfile_elsewhere_is_found_and_its_buildkit_syntax_named(tmp_path: Path) -> None:
    root = shop(tmp_path)
    write(
        root,
        "docker/Dockerfile",
        "FROM python:3.12-slim\nRUN --mount=type=cache,target=/root/.cache pip install .\n"
        'CMD ["gunicorn", "-c", "gunicorn.conf.py", "shop.main:app"]\n',
    )
    plan = planned(root)
    seen = statuses(plan)
    assert seen["docker/Dockerfile"] == "adopt"
    assert "Dockerfile" not in seen
    assert seen["gunicorn.conf.py"] == "create"  # the kept Dockerfile runs it
    assert seen[".dockerignore"] == "skip"  # its build context is the project's to filter
    assert block(plan)["image"] == {"dockerfile": "docker/Dockerfile", "context": "."}
    assert any(
        note.startswith("note: docker/Dockerfile:2: RUN --mount is BuildKit syntax")
        for note in plan.notes
    )


def test_several_dockerfiles_need_a_word_from_the_user(tmp_path: Path) -> None:
    root = shop(tmp_path)
    write(root, "Dockerfile.dev", OWN_DOCKERFILE)
    write(root, "docker/api.Dockerfile", OWN_DOCKERFILE)
    with pytest.raises(UsageError, match=r"several Dockerfiles \(Dockerfile.dev, docker/api"):
        planned(root)
    assert statuses(planned(root, "docker/api.Dockerfile"))["docker/api.Dockerfile"] == "adopt"
    write(root, "Dockerfile.prod", OWN_DOCKERFILE)  # the production one wins
    assert statuses(planned(root))["Dockerfile.prod"] == "adopt"
    with pytest.raises(UsageError, match="--dockerfile nope: no such file"):
        planned(root, "nope")


def test_inits_own_dockerfile_edited_is_still_a_conflict(tmp_path: Path) -> None:
    root = shop(tmp_path)
    write(root, "Dockerfile", INIT_FIRST_LINE + "\nFROM python:3.12-slim\n")
    seen = statuses(planned(root))
    assert seen["Dockerfile"] == "conflict"
    assert seen["gunicorn.conf.py"] == "create"


def test_the_projects_compose_is_kept_with_a_line_on_app_image(tmp_path: Path) -> None:
    root = shop(tmp_path)
    write(root, "docker-compose.yml", "services:\n  app:\n    build: .\n")
    plan = planned(root)
    seen = statuses(plan)
    assert seen["docker-compose.yml"] == "adopt"
    assert "compose.yml" not in seen
    assert seen["nginx.conf"] == "skip"  # shipline's compose file alone mounts it
    deploy = block(plan)["deploy"]
    assert isinstance(deploy, dict)
    assert deploy["compose-file"] == "docker-compose.yml"
    notes = [n for n in plan.notes if "APP_IMAGE" in n]
    assert notes == [
        "note: docker-compose.yml has no ${APP_IMAGE}: `invoke deploy` sets it per slot; "
        "give the app service `image: ${APP_IMAGE:-app:dev}` before deploying"
    ]
    write(root, "docker-compose.yml", "services:\n  app:\n    image: ${APP_IMAGE}\n")
    assert not [n for n in planned(root).notes if "note:" in n]
    write(
        root,
        "docker-compose.yml",
        "# ours\nservices:\n\n  web:\n    image: ${APP_IMAGE}\n    ports:\n      - 80:80\n"
        "  db:\n    image: postgres\nvolumes:\n  data:\n",
    )
    assert [n for n in planned(root).notes if "note:" in n] == [
        "note: docker-compose.yml has no `app` service (it has web, db): set "
        "[tool.shipline.deploy] services to the ones `invoke deploy` runs in slots"
    ]


def test_the_projects_nginx_conf_and_ci_workflow_are_kept(tmp_path: Path) -> None:
    root = shop(tmp_path)
    write(root, "nginx.conf", "events {}\n")
    write(root, ".github/workflows/ci.yml", "name: ours\non: push\n")
    seen = statuses(planned(root))
    assert seen["nginx.conf"] == "adopt"
    assert seen[".github/workflows/shipline-ci.yml"] == "create"
    assert seen[".github/workflows/cd.yml"] == "create"
    assert ".github/workflows/ci.yml" not in seen


SRC_PROPOSAL = """\
# Added by `shipline init --adopt`: the project's name and metadata for shipline's
# sessions, image and deploy; dependencies stay in the files named below.
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "web-shop"
version = "0.0.0"
requires-python = ">=3.12"
dynamic = ["dependencies", "optional-dependencies"]

[tool.setuptools.dynamic]
dependencies = { file = ["requirements.txt"] }
optional-dependencies.dev = { file = ["requirements-dev.txt", "requirements-test.txt"] }

[tool.setuptools.packages.find]
where = ["src"]
include = ["web_shop", "web_shop.*"]
"""


def requirements_project(root: Path, package_dir: str = "src/web_shop") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write(root, "requirements.txt", "fastapi>=0.110  # the API\n")
    write(root, "requirements-dev.txt", "pytest>=8\nhttpx\n")
    write(root, "requirements-test.txt", "# tests\npytest-cov\n")
    write(root, ".python-version", "3.12.4\n")
    write(root, f"{package_dir}/__init__.py", "")
    write(root, f"{package_dir}/main.py", MAIN)
    return root


def test_the_proposal_for_a_requirements_project(tmp_path: Path) -> None:
    root = requirements_project(tmp_path / "web-shop")
    assert proposal.missing(root)
    proposed = proposal.propose(root, {})
    assert proposed.text == SRC_PROPOSAL
    assert proposed.summary == (
        "a setuptools build; dependencies from requirements.txt; "
        "a dev extra from requirements-dev.txt, requirements-test.txt"
    )
    data = tomllib.loads(proposal.merged(root / "pyproject.toml", proposed))
    cfg = config.parse(data, root)
    assert cfg.extras == ("dev",)  # the dynamic dev extra is what sessions install


def test_flat_and_module_layouts_are_listed_explicitly(tmp_path: Path) -> None:
    flat = requirements_project(tmp_path / "flat", "app")
    write(flat, "migrations/env.py", "")
    assert '[tool.setuptools.packages.find]\ninclude = ["app", "app.*"]\n' in (
        proposal.propose(flat, {}).text
    )
    single = tmp_path / "service"  # a module is found by the project's (directory's) name
    write(single, "service.py", "from flask import Flask\n\napp = Flask(__name__)\n")
    text = proposal.propose(single, {}).text
    assert '[tool.setuptools]\npy-modules = ["service"]\n' in text
    assert "dependencies = []  # none found" in text


def test_merging_keeps_the_files_own_tables_and_line_endings(tmp_path: Path) -> None:
    root = requirements_project(tmp_path / "web-shop")
    mine = '[tool.ruff]\r\nline-length = 100\r\n\r\n[tool.pytest.ini_options]\r\naddopts = "-q"'
    (root / "pyproject.toml").write_bytes(mine.encode())
    data = config.read_pyproject(root / "pyproject.toml")
    assert proposal.missing(root)
    merged = proposal.merged(root / "pyproject.toml", proposal.propose(root, data))
    assert merged.startswith(mine + "\r\n\r\n# Added by")
    assert "\n" not in merged.replace("\r\n", "")
    parsed = tomllib.loads(merged)
    assert parsed["tool"]["ruff"] == {"line-length": 100}
    assert parsed["project"]["name"] == "web-shop"


def test_a_table_defined_twice_is_one_line_to_do_by_hand(tmp_path: Path) -> None:
    root = requirements_project(tmp_path / "web-shop")
    write(root, "pyproject.toml", "[tool.setuptools.dynamic]\nversion = {attr = 'x'}\n")
    data = config.read_pyproject(root / "pyproject.toml")
    proposed = proposal.propose(root, data)
    assert "[tool.setuptools.packages.find]" not in proposed.text  # theirs configures it
    with pytest.raises(ConfigError, match=r"cannot be appended .*add them by hand"):
        proposal.merged(root / "pyproject.toml", proposed)


def test_a_setup_py_project_keeps_building_with_setup_py(tmp_path: Path) -> None:
    root = requirements_project(tmp_path / "checkout")
    write(
        root,
        "setup.py",
        """\
        from setuptools import find_packages, setup

        setup(
            name="web-shop",
            version="1.4.0",
            packages=find_packages("src"),
            package_dir={"": "src"},
            install_requires=["fastapi"],
            entry_points={"console_scripts": ["shop = web_shop.main:run"]},
        )
        """,
    )
    write(root, "pyproject.toml", '[build-system]\nrequires = ["setuptools", "wheel"]\n')
    data = config.read_pyproject(root / "pyproject.toml")
    proposed = proposal.propose(root, data)
    parsed = tomllib.loads(proposal.merged(root / "pyproject.toml", proposed))
    assert parsed["project"] == {
        "name": "web-shop",
        "requires-python": ">=3.12",
        # version, install_requires and entry_points stay setup.py's; dev tools come from files.
        "dynamic": [
            "version",
            "dependencies",
            "optional-dependencies",
            "entry-points",
            "gui-scripts",
            "scripts",
        ],
    }
    assert parsed["tool"]["setuptools"] == {
        "dynamic": {
            "optional-dependencies": {
                "dev": {"file": ["requirements-dev.txt", "requirements-test.txt"]}
            }
        }
    }
    assert parsed["build-system"] == {"requires": ["setuptools", "wheel"]}
    assert proposed.summary.startswith("the project keeps building with setup.py")


def test_pip_syntax_in_a_requirements_file_is_named_with_its_line(tmp_path: Path) -> None:
    root = requirements_project(tmp_path / "web-shop")
    write(root, "requirements-dev.txt", "-r requirements.txt\npytest\n")
    with pytest.raises(ConfigError, match=r"requirements-dev.txt:1: '-r requirements.txt'"):
        proposal.propose(root, {})


def test_another_build_backend_is_left_to_the_user(tmp_path: Path) -> None:
    root = requirements_project(tmp_path / "web-shop")
    data = {"build-system": {"build-backend": "hatchling.build"}}
    with pytest.raises(ConfigError, match=r"uses hatchling\.build"):
        proposal.propose(root, data)


def shipline(*argv: str) -> int:
    try:
        program.run(["shipline", *argv], exit=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_init_proposes_then_adopts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = requirements_project(tmp_path / "web-shop")
    write(root, "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    monkeypatch.chdir(root)
    before = (root / "pyproject.toml").read_bytes(), (root / "pyproject.toml").stat().st_mtime_ns

    assert shipline("init") == 2
    out, err = capsys.readouterr()
    assert out == SRC_PROPOSAL
    assert err.count("\n") == 1
    assert err.startswith("shipline: error: no [project] table in pyproject.toml")
    assert "rerun init with --adopt" in err

    assert shipline("init", "--adopt", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "adding [project] to pyproject.toml (--adopt)" in out
    assert "dry run; nothing written" in out
    after = (root / "pyproject.toml").read_bytes(), (root / "pyproject.toml").stat().st_mtime_ns
    assert after == before
    assert not (root / "Dockerfile").exists()

    write(root, "noxfile.py", "# mine\n")  # a conflict: the [project] tables wait with the rest
    assert shipline("init", "--adopt") == 2
    assert (root / "pyproject.toml").read_bytes() == before[0]
    (root / "noxfile.py").unlink()

    assert shipline("init", "--adopt") == 0
    text = (root / "pyproject.toml").read_text()
    assert text.startswith("[tool.ruff]\nline-length = 100\n\n# Added by")
    assert "[tool.shipline]" in text
    assert (root / "Dockerfile").is_file()
    assert config.load(root).extras == ("dev",)


def test_a_setup_cfg_projects_fields_stay_dynamic(tmp_path: Path) -> None:
    root = requirements_project(tmp_path / "checkout")
    write(
        root,
        "setup.cfg",
        """\
        [metadata]
        name = web-shop
        version = attr: web_shop.__version__

        [options]
        packages = find:
        install_requires =
            fastapi
        """,
    )
    parsed = tomllib.loads(proposal.propose(root, {}).text)
    assert parsed["project"]["name"] == "web-shop"
    assert parsed["project"]["dynamic"] == ["version", "dependencies", "optional-dependencies"]
    assert "packages" not in parsed["tool"]["setuptools"]  # setup.cfg finds its own


def test_inits_own_workflow_edited_is_a_conflict_not_a_second_workflow(tmp_path: Path) -> None:
    root = shop(tmp_path)
    write(root, ".github/workflows/ci.yml", "# shipline CI: edited\nname: CI\n")
    seen = statuses(planned(root))
    assert seen[".github/workflows/ci.yml"] == "conflict"
    assert ".github/workflows/shipline-ci.yml" not in seen
