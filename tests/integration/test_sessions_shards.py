"""A tier split into shards by real nox, pytest-split and coverage, on a sample suite.

30 unit tests sleep their recorded durations (0.01-0.20 s); run whole once, then in
2, 3 and 4 shards: every test runs exactly once across the shards, the shards are
balanced by the durations file, and the coverage session's combined figure is the
whole run's, gated as the whole run is.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from defusedxml import ElementTree
from support.run import Result, nox
from support.sample import add_timed_tests, make_project

from shipline import reports


def cases(junit: Path) -> list[str]:
    """The test ids a JUnit report holds, as pytest-split's node ids, duplicates kept."""
    root = ElementTree.parse(junit).getroot()
    ids = []
    for case in root.iter("testcase"):
        module = case.get("classname", "").replace(".", "/")
        ids.append(f"{module}.py::{case.get('name')}")
    return ids


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    """The sample project after one whole (unsharded) unit run, its reports kept aside."""
    project = make_project(tmp_path_factory.mktemp("shards") / "app")
    durations = add_timed_tests(project)
    whole = nox(project, "-s", "unit")
    assert whole.code == 0, whole
    shutil.copytree(project / "reports" / "unit", project / "whole")
    return project, durations


def run_shards(project: Path, total: int) -> list[Result]:
    shutil.rmtree(project / "reports" / "unit", ignore_errors=True)
    return [
        nox(project, "-R", "-s", "unit", "--", "--shard", f"{index}/{total}")
        for index in range(1, total + 1)
    ]


@pytest.mark.parametrize("total", [2, 3, 4])
def test_shards_run_every_test_once_balanced_and_combine_to_the_whole(
    sample: tuple[Path, dict[str, float]], total: int
) -> None:
    project, durations = sample
    for result in run_shards(project, total):
        assert result.code == 0, result
        assert "--cov-fail-under=0" in result.output  # a shard is a part: not gated
    whole = cases(project / "whole" / "junit.xml")
    shards = [
        cases(project / "reports" / "unit" / f"shard-{k}-of-{total}" / "junit.xml")
        for k in range(1, total + 1)
    ]
    union = [case for shard in shards for case in shard]
    assert sorted(union) == sorted(whole)  # once each: no test lost, none run twice
    assert len(set(union)) == len(union) == 32

    # Balanced by the recorded durations (a test with no record counts as their mean).
    mean = sum(durations.values()) / len(durations)
    loads = [sum(durations.get(case, mean) for case in shard) for shard in shards]
    assert max(loads) <= 1.2 * sum(loads) / total, loads

    combined = nox(project, "-R", "-s", "coverage", "--", "unit")
    assert combined.code == 0, combined
    total_percent = reports.coverage_percent(project / "reports" / "unit" / "coverage.xml")
    whole_percent = reports.coverage_percent(project / "whole" / "coverage.xml")
    assert total_percent is not None
    assert whole_percent is not None
    assert round(total_percent, 2) == round(whole_percent, 2) == 93.43
    shard_percents = [
        reports.coverage_percent(
            project / "reports" / "unit" / f"shard-{k}-of-{total}" / "coverage.xml"
        )
        for k in range(1, total + 1)
    ]
    assert all(p is not None and p < whole_percent for p in shard_percents)


def test_the_gate_applies_to_the_total_and_a_missing_shard_fails(
    sample: tuple[Path, dict[str, float]],
) -> None:
    project, _ = sample
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(original.replace("coverage-fail-under = 80", "coverage-fail-under = 95"))
    try:
        for result in run_shards(project, 2):
            assert result.code == 0, result  # each shard passes: no gate on a part
        gated = nox(project, "-R", "-s", "coverage", "--", "unit")
        assert gated.code == 1, gated
        assert "coverage 93.4% of the 2 unit shards combined is under the 95% gate" in (
            gated.output
        )
    finally:
        pyproject.write_text(original)
    shutil.rmtree(project / "reports" / "unit" / "shard-2-of-2")
    missing = nox(project, "-R", "-s", "coverage", "--", "unit")
    assert missing.code == 1, missing
    assert "shard 2 of 2 has no coverage data" in missing.output


def test_a_bad_shard_is_one_line_and_exit_2(sample: tuple[Path, dict[str, float]]) -> None:
    project, _ = sample
    result = nox(project, "-R", "-s", "unit", "--", "--shard", "5/4")
    assert result.code == 2, result
    assert result.output.strip() == (
        "shipline: error: --shard 5/4: expected K/N with 1 <= K <= N (e.g. --shard 2/4)"
    )


def test_store_durations_refreshes_the_file(sample: tuple[Path, dict[str, float]]) -> None:
    project, durations = sample
    path = project / ".durations" / "unit.json"
    path.unlink()
    result = nox(project, "-R", "-s", "unit", "--", "--store-durations")
    assert result.code == 0, result
    stored = json.loads(path.read_text())
    assert set(durations) <= set(stored)
    assert len(stored) == 32  # the tier's tests only: the two in tests/test_core.py too
    for node, seconds in durations.items():
        assert stored[node] >= seconds  # each test sleeps its recorded duration
