"""Sharding as data: `--shard K/N`, the pytest-split flags, the coverage session's steps,
the summary of shards and their total, the action inputs and the sharded CI matrix."""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from pathlib import Path
from typing import Any

import nox
import pytest
import yaml

import shipline.nox
from shipline import actions, catalogue, ci, config, project, scaffold, summary, testrun
from shipline.catalogue import Invocation
from shipline.errors import ConfigError, UsageError

EXAMPLE = Path(__file__).parents[2] / "examples" / "service"
TODAY = dt.date(2026, 12, 3)


def make(tmp_path: Path, toml: str = "") -> config.Config:
    (tmp_path / "src" / "app").mkdir(parents=True, exist_ok=True)
    return config.parse(tomllib.loads('[project]\nname = "app"\n' + toml), tmp_path)


def test_shard_arguments_are_taken_out_of_pytests() -> None:
    args = testrun.tier_args(["-x", "--shard", "2/4", "-k", "fast"])
    assert args == testrun.TierArgs(testrun.Shard(2, 4), False, ("-x", "-k", "fast"))
    assert testrun.tier_args(["--shard=1/1"]).shard == testrun.Shard(1, 1)
    assert testrun.tier_args(["--store-durations"]).store_durations


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard", "5/4"], "--shard 5/4: expected K/N with 1 <= K <= N (e.g. --shard 2/4)"),
        (["--shard", "0/4"], "--shard 0/4: expected K/N"),
        (["--shard=two"], "--shard two: expected K/N"),
        (["--shard"], "--shard: expected K/N after it"),
        (["--shard", "1/2", "--store-durations"], "--store-durations times the whole tier"),
    ],
)
def test_bad_shard_arguments_are_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        testrun.tier_args(argv)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_shard_runs_its_group_ungated_and_keeps_its_data(tmp_path: Path) -> None:
    cfg = make(tmp_path, "[tool.shipline.tests]\nworkers = 0\n")
    (run,) = catalogue.get("unit").steps(cfg, Invocation(posargs=("--shard", "2/3", "-x")))
    assert run.shard == "2/3"
    assert run.env == {"COVERAGE_FILE": "reports/unit/shard-2-of-3/coverage.data"}
    assert "--junitxml=reports/unit/shard-2-of-3/junit.xml" in run.argv
    assert "--cov-report=xml:reports/unit/shard-2-of-3/coverage.xml" in run.argv
    assert "--cov-fail-under=0" in run.argv
    tail = run.argv[run.argv.index("--splits") :]
    assert tail == (
        *("--splits", "3", "--group", "2", "--durations-path", ".durations/unit.json"),
        *("--splitting-algorithm", "least_duration", "-x"),
    )
    (whole,) = catalogue.get("unit").steps(cfg, Invocation())
    assert "--cov-fail-under=80" in whole.argv
    assert "--splits" not in whole.argv
    assert whole.env == {}


def test_store_durations_runs_the_tier_in_one_process(tmp_path: Path) -> None:
    cfg = make(tmp_path, "[tool.shipline.tests]\nworkers = 4\n")
    (run,) = catalogue.get("unit").steps(cfg, Invocation(posargs=("--store-durations",)))
    assert "-n" not in run.argv
    assert run.argv[-3:] == ("--store-durations", "--durations-path", ".durations/unit.json")
    assert run.prepare == (Path(".durations"),)


def test_shards_are_configured_per_tier(tmp_path: Path) -> None:
    cfg = make(
        tmp_path, "[tool.shipline.tests]\nshards = 3\n[tool.shipline.tiers.e2e]\nshards = 1\n"
    )
    assert cfg.tier("unit").shards == 3
    assert cfg.tier("e2e").shards == 1
    with pytest.raises(ConfigError, match="expected a whole number of 1 or more, got 0"):
        make(tmp_path, "[tool.shipline.tiers.unit]\nshards = 0\n")


def shards(cfg: config.Config, total: int, *, skip: int = 0) -> None:
    for index in range(1, total + 1):
        directory = cfg.root / cfg.reports("unit", f"shard-{index}-of-{total}")
        directory.mkdir(parents=True)
        if index != skip:
            (directory / "coverage.data").write_text("")


def test_the_coverage_session_combines_every_shard_and_gates_the_total(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    shards(cfg, 3)
    combine, xml, report = catalogue.get("coverage").steps(cfg, Invocation(posargs=("unit",)))
    assert combine.argv == (
        *("coverage", "combine", "--keep", "-q"),
        *(f"reports/unit/shard-{k}-of-3/coverage.data" for k in (1, 2, 3)),
    )
    assert xml.argv[-2:] == ("-o", "reports/unit/coverage.xml")
    assert report.argv == ("coverage", "report", "--fail-under=80")
    assert {step.env["COVERAGE_FILE"] for step in (combine, xml, report)} == {
        "reports/unit/coverage.data"
    }
    assert (report.kind, report.tier, report.shard) == ("coverage", "unit", "3")
    assert catalogue.tool_requirements(cfg, catalogue.get("coverage")) == ("coverage>=7.4",)


@pytest.mark.parametrize(
    ("setup", "posargs", "message"),
    [
        (lambda cfg: None, (), "no shards of tier 'unit' in reports/unit; run `nox -s unit --"),
        (lambda cfg: shards(cfg, 4, skip=3), (), "shard 3 of 4 has no coverage data"),
        (
            lambda cfg: (shards(cfg, 2), shards(cfg, 3)),
            (),
            "reports/unit holds runs of 2 and 3 shards; remove the stale ones",
        ),
        (lambda cfg: None, ("lint",), "coverage takes one tier after --, got 'lint'"),
    ],
)
def test_the_coverage_session_refuses_what_would_weaken_the_gate(
    tmp_path: Path, setup: Any, posargs: tuple[str, ...], message: str
) -> None:
    cfg = make(tmp_path)
    setup(cfg)
    with pytest.raises(UsageError) as caught:
        catalogue.get("coverage").steps(cfg, Invocation(posargs=posargs))
    assert str(caught.value).startswith(message)


JUNIT = (
    '<testsuites><testsuite tests="{n}" failures="0" errors="0" skipped="0" time="{t}">'
    "</testsuite></testsuites>"
)


def test_the_summary_shows_each_shard_and_the_total(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    for index, (n, t, covered) in enumerate([(5, 1.5, 3), (4, 1.4, 2)], start=1):
        directory = cfg.root / cfg.reports("unit", f"shard-{index}-of-2")
        directory.mkdir(parents=True)
        (directory / "junit.xml").write_text(JUNIT.format(n=n, t=t))
        (directory / "coverage.xml").write_text(
            f'<coverage lines-valid="10" lines-covered="{covered}"/>'
        )
    (cfg.root / cfg.reports("unit", "coverage.xml")).write_text(
        '<coverage lines-valid="10" lines-covered="9"/>'
    )
    text = summary.markdown(catalogue.get("coverage"), cfg, None, TODAY, posargs=("unit",))
    assert text.splitlines()[-4:-1] == [
        "| unit shard 1/2 | 5 | 0 | 0 | 0 | 1.5 | 30.0% |",
        "| unit shard 2/2 | 4 | 0 | 0 | 0 | 1.4 | 20.0% |",
        "| **unit total** | 9 | 0 | 0 | 0 | 2.9 | 90.0% (gate 80%) |",
    ]
    shard = summary.markdown(catalogue.get("unit"), cfg, None, TODAY, posargs=("--shard", "2/2"))
    assert "| unit shard 2/2 | 4 | 0 | 0 | 0 | 1.4 | 20.0% (part: the total is gated) |" in shard


def test_the_actions_take_a_shard_and_a_tier_to_combine() -> None:
    by_name = {a.name: a for a in actions.check_actions()}
    assert ci.session_args(by_name["test"], {"SHIPLINE_SHARD": "2/4", "SHIPLINE_ARGS": "-x"}) == [
        *("--shard", "2/4", "-x")
    ]
    assert ci.session_args(by_name["test"], {"SHIPLINE_SHARD": ""}) == []
    assert ci.session_args(by_name["coverage"], {"SHIPLINE_TIER": "integration"}) == ["integration"]
    with pytest.raises(UsageError, match="--shard 5/4: expected K/N"):
        ci.session_args(by_name["test"], {"SHIPLINE_SHARD": "5/4"})
    assert {i.name for i in by_name["coverage"].inputs} >= {"tier", "args"}


def rendered_ci(tmp_path: Path, extra: str) -> dict[str, Any]:
    root = tmp_path / "service"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".nox", "reports"))
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + extra)
    values = scaffold.context(project.read(root), None)
    text = scaffold.environment().get_template("workflows/ci.yml").render(values)
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_ci_fans_a_sharded_tier_out_and_gates_the_combined_coverage(tmp_path: Path) -> None:
    jobs = rendered_ci(tmp_path, "\n[tool.shipline.tiers.unit]\nshards = 4\n")["jobs"]
    assert jobs["tests"]["strategy"]["matrix"]["tier"] == ["integration", "database"]
    shard_job = jobs["unit-shards"]
    assert shard_job["strategy"]["matrix"]["shard"] == [1, 2, 3, 4]
    test_step, upload = shard_job["steps"][1:]
    assert test_step["with"]["shard"] == "${{ matrix.shard }}/4"
    assert upload["with"]["path"] == "reports/unit/"
    assert upload["with"]["name"] == "reports-unit-shard-${{ matrix.shard }}"
    combine = jobs["unit"]
    assert combine["needs"] == ["unit-shards"]
    download, coverage = combine["steps"][1:3]
    assert download["with"] == {
        "pattern": "reports-unit-shard-*",
        "path": "reports/unit/",
        "merge-multiple": True,
    }
    assert coverage["uses"] == "shipline/shipline/actions/coverage@v1"
    assert coverage["with"]["tier"] == "unit"


def test_ci_without_shards_has_no_shard_jobs(tmp_path: Path) -> None:
    jobs = rendered_ci(tmp_path, "")["jobs"]
    assert set(jobs) == {"lint", "type", "security", "smoke", "tests"}


def test_every_session_is_tagged_and_a_bare_nox_runs_the_fast_set() -> None:
    tags = {check.name: check.tags for check in catalogue.CHECKS}
    assert tags["lint"] == tags["type"] == ("checks", "fast")
    assert tags["security"] == ("checks",)
    assert tags["smoke"] == tags["unit"] == ("tests", "fast")
    assert tags["integration"] == tags["database"] == tags["e2e"] == ("tests",)
    assert tags["coverage"] == ()


@pytest.fixture
def fresh_options() -> Any:
    saved = (dict(nox.registry._REGISTRY), nox.options.sessions)
    nox.registry._REGISTRY.clear()
    nox.options.sessions = None
    yield nox.options
    nox.registry._REGISTRY.clear()
    nox.registry._REGISTRY.update(saved[0])
    nox.options.sessions = saved[1]


def test_register_defaults_to_the_fast_set_unless_the_noxfile_chose(fresh_options: Any) -> None:
    root = Path(__file__).parents[2]
    shipline.nox.register(root=root)
    assert fresh_options.sessions == ["lint", "type", "smoke", "unit"]
    fresh_options.sessions = ["e2e"]
    nox.registry._REGISTRY.clear()
    shipline.nox.register("e2e", "lint", root=root)
    assert fresh_options.sessions == ["e2e"]
