"""The noxfile init writes: a PEP 723 block for `uvx nox`, and the nox shipline needs,
from the one source (pyproject's nox dependency)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from nox._version import _parse_needs_version
from packaging.requirements import Requirement

from shipline import noxversion, project, scaffold
from shipline.errors import UsageError

ROOT = Path(__file__).parents[2]


def nox_dependency() -> Requirement:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (nox,) = [Requirement(d) for d in dependencies if Requirement(d).name == "nox"]
    return nox


def rendered_noxfile() -> str:
    values = scaffold.context(project.read(ROOT / "examples" / "service"), None)
    return scaffold.environment().get_template("noxfile.py").render(values)


def test_the_needed_nox_comes_from_pyproject() -> None:
    assert noxversion.needs() == str(nox_dependency().specifier)
    assert _parse_needs_version(rendered_noxfile()) == noxversion.needs()


def test_the_noxfile_names_shipline_and_nox_for_script_mode() -> None:
    text = rendered_noxfile()
    block = text.split("# ///\n")[0].removeprefix("# /// script\n")
    script = tomllib.loads("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    assert script["dependencies"] == [f"nox{noxversion.needs()}", "shipline"]
    assert (ROOT / "examples" / "service" / "noxfile.py").read_text() == text


def test_an_older_nox_is_one_line() -> None:
    noxversion.check("2099.1.1")
    with pytest.raises(UsageError) as caught:
        noxversion.check("2024.4.15")
    assert str(caught.value) == (
        f"shipline needs nox{noxversion.needs()}, this is nox 2024.4.15; upgrade it "
        f'(pip install -U "nox[uv]{noxversion.needs()}") or run `uvx nox`'
    )
