"""A tier's coverage gate flag and its xdist workers."""

from __future__ import annotations

import tomllib
from pathlib import Path

from shipline import config, testrun

BASE = '[project]\nname = "app"\n'


def make(tmp_path: Path, toml: str = "", tests: dict[str, str] | None = None) -> config.Config:
    (tmp_path / "src" / "app").mkdir(parents=True, exist_ok=True)
    for name, text in (tests or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return config.parse(tomllib.loads(BASE + toml), tmp_path)


def test_each_tier_gets_its_gate_or_zero_over_the_projects_addopts(tmp_path: Path) -> None:
    cfg = make(tmp_path, '[tool.pytest.ini_options]\naddopts = "--cov=app --cov-fail-under=85"\n')
    assert testrun.gate_args(cfg, cfg.tier("unit")) == ("--cov-fail-under=85",)
    assert testrun.gate_args(cfg, cfg.tier("smoke")) == ("--cov-fail-under=0",)


def test_no_gate_flag_when_nothing_measures_coverage(tmp_path: Path) -> None:
    cfg = config.parse({}, tmp_path)
    assert cfg.package is None
    assert testrun.gate_args(cfg, cfg.tier("unit")) == ()


def test_auto_workers_follow_the_tiers_test_files(tmp_path: Path) -> None:
    unit = {f"tests/test_m{i}.py": "def test_x(): pass\n" for i in range(testrun.SMALL_TIER_FILES)}
    tests = {
        **unit,
        "tests/smoke/test_smoke.py": "def test_up(): pass\n",
        "tests/test_sec.py": "import pytest\n\n@pytest.mark.security\ndef test_s(): pass\n",
    }
    cfg = make(tmp_path, tests=tests)
    assert testrun.tier_files(cfg, cfg.tier("smoke")) == 1
    assert testrun.tier_files(cfg, cfg.tier("security")) == 1
    assert testrun.tier_files(cfg, cfg.tier("unit")) == testrun.SMALL_TIER_FILES + 1
    assert testrun.workers(cfg, cfg.tier("smoke")) == "0"
    assert testrun.workers(cfg, cfg.tier("unit")) == "auto"
    fixed = make(tmp_path, "[tool.shipline.tests]\nworkers = 3\n", tests)
    assert testrun.workers(fixed, fixed.tier("smoke")) == "3"
