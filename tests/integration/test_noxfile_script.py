"""`uvx nox` in a project with no environment of its own: nox's script mode reads the
noxfile's PEP 723 block and installs shipline (here from a wheel of this checkout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support.run import run
from support.sample import make_project

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent


def test_nox_without_shipline_installs_it_from_the_script_block(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [str(BIN / "uv"), "build", "--wheel", "-q", "-o", str(wheels), str(ROOT)], check=True
    )
    bare = tmp_path / "nox-only"
    subprocess.run([str(BIN / "uv"), "venv", "-q", str(bare)], check=True)
    subprocess.run(
        [str(BIN / "uv"), "pip", "install", "-q", "--python", str(bare / "bin/python"), "nox"],
        check=True,
    )
    app = make_project(tmp_path / "app")
    shutil.copy(ROOT / "examples" / "service" / "noxfile.py", app / "noxfile.py")
    env = {"PIP_FIND_LINKS": str(wheels), "UV_FIND_LINKS": str(wheels)}
    listing = run([str(bare / "bin" / "nox"), "-l"], cwd=app, env=env)
    assert listing.code == 0, listing
    selected = [line.split()[1] for line in listing.output.splitlines() if line.startswith("* ")]
    assert selected == ["lint", "type", "smoke", "unit"]
    assert (app / ".nox" / "_nox_script_mode").is_dir()
