"""The test action's `shard` input and the coverage action, run step by step: two shards,
then their total, as the generated ci.yml's jobs run them."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.composite import make_runner_python, run_action
from support.sample import add_timed_tests, make_project

from shipline import reports

ACTIONS = Path(__file__).parents[2] / "actions"


@pytest.fixture(scope="module")
def python_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_python(tmp_path_factory.mktemp("runner") / "python")


def test_two_shards_then_the_coverage_action_gates_their_total(
    tmp_path: Path, python_bin: Path
) -> None:
    root = make_project(tmp_path / "app")
    add_timed_tests(root, count=6, uncovered=0)
    for index in (1, 2):
        shard = run_action(
            ACTIONS / "test" / "action.yml",
            {"python-version": "3.11", "shard": f"{index}/2"},
            root,
            python_bin,
        )
        assert shard.code == 0, shard
        assert f"shipline: nox -s unit -- --shard {index}/2" in shard.log
        assert shard.outputs["junit"] == str(root / f"reports/unit/shard-{index}-of-2/junit.xml")
        assert f"| unit shard {index}/2 |" in shard.summary
        assert "(part: the total is gated)" in shard.summary
    total = run_action(
        ACTIONS / "coverage" / "action.yml", {"python-version": "3.11"}, root, python_bin
    )
    assert total.code == 0, total
    assert "shipline: nox -s coverage -- unit" in total.log
    assert total.outputs["coverage"] == str(root / "reports/unit/coverage.xml")
    assert float(total.outputs["coverage-percent"]) == pytest.approx(
        reports.coverage_percent(root / "reports/unit/coverage.xml")
    )
    assert "| unit shard 1/2 |" in total.summary
    assert "| unit shard 2/2 |" in total.summary
    assert "| **unit total** | 8 | 0 | 0 | 0 |" in total.summary
    assert "(gate 80%)" in total.summary


def test_a_bad_shard_input_fails_before_any_session(tmp_path: Path, python_bin: Path) -> None:
    root = make_project(tmp_path / "app")
    result = run_action(
        ACTIONS / "test" / "action.yml",
        {"python-version": "3.11", "shard": "5/4"},
        root,
        python_bin,
    )
    assert result.code == 2, result
    assert "::error title=shipline test::--shard 5/4: expected K/N" in result.log
    assert "shipline: nox -s" not in result.log
