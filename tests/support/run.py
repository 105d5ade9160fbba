"""Running real nox (and other commands) against sample projects."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

OUTER_RUN_VARIABLES = (
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_REF",
    "GITHUB_SHA",
    "GITHUB_REPOSITORY",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "SHIPLINE_ACTIVE",
    "SHIPLINE_LIVE",
    "PYTEST_ADDOPTS",
    "PYTEST_XDIST_WORKER",
    "COV_CORE_SOURCE",
    "COV_CORE_CONFIG",
    "COV_CORE_DATAFILE",
    "VIRTUAL_ENV",
)
"""Variables of a surrounding run (CI, a test session) that would change what a command
run inside it does: the demo's stages leave them out, and so do the tests' commands."""
SCRUBBED = (*OUTER_RUN_VARIABLES, "NOX_DEFAULT_VENV_BACKEND")
"""What the tests' commands leave out: the above, and nox's backend choice (the tests pin
theirs; the demo keeps a developer's)."""


@dataclass(frozen=True)
class Result:
    code: int
    output: str

    def __str__(self) -> str:
        return f"exit {self.code}\n{self.output}"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(extra or {})
    return env


def run(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600
) -> Result:
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout)


def nox(project: Path, *args: str, env: Mapping[str, str] | None = None) -> Result:
    """Real nox, from the environment running the tests, in the project's directory."""
    return run([sys.executable, "-m", "nox", *args], cwd=project, env=env)
