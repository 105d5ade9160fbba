"""The build and push actions, run step by step against a real engine and registry."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest
from support import registry as registry_support
from support.composite import make_runner_python, run_action
from support.sample import add_image, git, make_project

ACTIONS = Path(__file__).parents[2] / "actions"


@pytest.fixture(scope="module")
def python_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_python(tmp_path_factory.mktemp("runner") / "python")


def test_build_then_push_actions(
    tmp_path: Path, python_bin: Path, registry: registry_support.Registry
) -> None:
    name = f"{registry.host}/acme/action-{secrets.token_hex(3)}"
    project = add_image(make_project(tmp_path / "app"), name)
    sha = git(project, "rev-parse", "HEAD")
    try:
        built = run_action(
            ACTIONS / "build/action.yml", {"python-version": "3.11"}, project, python_bin
        )
        assert built.code == 0, built
        assert "shipline: invoke build" in built.log
        assert built.outputs["version"] == "main"
        assert built.outputs["tags"].splitlines() == [f"{name}:main", f"{name}:sha-{sha[:7]}"]
        assert built.outputs["image-id"].startswith("sha256:")

        env = {"GITHUB_ACTOR": registry.username, "GITHUB_TOKEN": registry.password}
        pushed = run_action(
            ACTIONS / "push/action.yml", {"python-version": "3.11"}, project, python_bin, env=env
        )
        assert pushed.code == 0, pushed
        repository = name.split("/", 1)[1]
        assert pushed.outputs["digest"] == registry.manifest_digest(repository, "main")
        assert registry.password not in pushed.log

        refused = run_action(
            ACTIONS / "push/action.yml",
            {"python-version": "3.11", "args": "--ref refs/heads/feature/x"},
            project,
            python_bin,
            env=env,
        )
        assert refused.code == 2
        assert "nothing to push" in refused.log
    finally:
        subprocess.run(
            ["docker", "rmi", "-f", f"{name}:main", f"{name}:sha-{sha[:7]}"],
            capture_output=True,
            check=False,
        )
