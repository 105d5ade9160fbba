"""What sessions install the project from (uv.lock, requirement files), and the project's
own coverage gate, through real nox on sample projects."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.run import nox
from support.sample import make_project, write
from uv import find_uv_bin

LOCKED_TEST = """\
import importlib.metadata


def test_the_locked_idna_is_installed() -> None:
    assert importlib.metadata.version("idna") == "3.6"
"""


def depend_on_idna(project: Path, *more: str) -> None:
    pyproject = project / "pyproject.toml"
    deps = ", ".join(f'"{d}"' for d in ("idna>=3", *more))
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = []", f"dependencies = [{deps}]")
    )


def installed(project: Path, session: str, name: str) -> str:
    python = project / ".nox" / session / "bin" / "python"
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def locked_project(root: Path) -> Path:
    """A project whose uv.lock pins idna 3.6 while pyproject allows any idna>=3."""
    project = make_project(root)
    depend_on_idna(project)
    write(project, "tests/test_locked.py", LOCKED_TEST)
    subprocess.run(
        [find_uv_bin(), "lock", "--upgrade-package", "idna==3.6"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    return project


def test_the_session_installs_what_uv_lock_locks(tmp_path: Path) -> None:
    project = locked_project(tmp_path / "app")
    result = nox(project, "-s", "unit")
    assert result.code == 0, result
    assert "installing the versions uv.lock locks (uv export --locked)" in result.output
    assert "3 passed" in result.output, result
    assert installed(project, "unit", "idna") == "3.6"


def test_a_lock_out_of_date_with_pyproject_fails_with_one_line(tmp_path: Path) -> None:
    project = locked_project(tmp_path / "app")
    pyproject = project / "pyproject.toml"  # pyproject changes, the lock does not
    pyproject.write_text(pyproject.read_text().replace('["idna>=3"]', '["idna>=3", "six"]'))
    result = nox(project, "-s", "unit")
    assert result.code != 0, result
    assert (
        "Session unit aborted: uv.lock is out of date with pyproject.toml; run `uv lock`"
    ) in result.output, result
    assert "pytest --tier" not in result.output


def test_lock_off_resolves_afresh(tmp_path: Path) -> None:
    project = locked_project(tmp_path / "app")
    (project / "tests" / "test_locked.py").unlink()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.shipline]\nlock = "off"\n')
    result = nox(project, "-s", "unit")
    assert result.code == 0, result
    assert 'lock = "off": resolving from pyproject.toml' in result.output
    assert installed(project, "unit", "idna") != "3.6"


def test_requirement_files_are_installed_with_r_and_c(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    depend_on_idna(project)
    write(project, "requirements.txt", "idna==3.6\n")
    write(project, "constraints.txt", "iniconfig==2.0.0\n")  # pytest's dependency, held back
    write(project, "tests/test_locked.py", LOCKED_TEST)
    result = nox(project, "-s", "unit")
    assert result.code == 0, result
    assert (
        "installing with the project's requirement files: -r requirements.txt -c constraints.txt"
    ) in result.output
    assert installed(project, "unit", "idna") == "3.6"
    assert installed(project, "unit", "iniconfig") == "2.0.0"


EXTRA = (
    '"""Extra."""\n\n\ndef used(x: int) -> int:\n'
    + "".join(f"    x = x + {i}\n" for i in range(20))
    + "    return x\n\n\ndef unused(x: int) -> int:\n"
    + "".join(f"    x = x - {i}\n" for i in range(5))
    + "    return x\n"
)
"""34 statements with the core, 6 never run: 82% covered."""


def test_the_projects_addopts_gate_gates_unit_only_and_is_named(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app", workers='"auto"')
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace("coverage-fail-under = 80\n", "")
    pyproject.write_text(
        text + '\n[tool.pytest.ini_options]\naddopts = "--cov=sample_app --cov-fail-under=85"\n'
    )
    write(project, "src/sample_app/extra.py", EXTRA)
    write(
        project,
        "tests/test_extra.py",
        "from sample_app.extra import used\n\n\ndef test_used() -> None:\n"
        "    assert used(0) == 190\n",
    )
    smoke = nox(project, "-s", "smoke")
    assert smoke.code == 0, smoke  # the project's 85 does not gate a tier without a gate
    assert "--cov-fail-under=0" in smoke.output
    assert " -n " not in smoke.output  # workers "auto" on a one-file tier: no xdist
    unit = nox(project, "-s", "unit")
    assert unit.code != 0, unit
    assert "Required test coverage of 85% not reached" in unit.output, unit
    assert (
        "Session unit aborted: coverage 82.4% is under the 85% gate (the project's "
        "--cov-fail-under=85 in pyproject.toml [tool.pytest.ini_options] addopts)"
    ) in unit.output, unit
    assert "selected no tests" not in unit.output
