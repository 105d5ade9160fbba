"""The gate's decision, case by case: data in (what GitHub reports), verdict out."""

from __future__ import annotations

import pytest

from shipline.checkgate import (
    Check,
    Observed,
    Rules,
    Suite,
    check_runs,
    decide,
    excluded,
    report,
    statuses,
    suites,
    summary_markdown,
)

DELIVERY = ("gate", "build*", "push*", "deploy*", "release*", "publish*", "live*")
RULES = Rules(exclude=DELIVERY, timeout=600, settle=30)


def run(
    name: str, state: str = "completed", conclusion: str | None = "success", **kw: object
) -> Check:
    return Check(name, state, conclusion if state == "completed" else None, **kw)  # type: ignore[arg-type]


def status(name: str, state: str) -> Check:
    return Check(name, state, state, kind="status")


def verdict_of(
    *checks: Check, elapsed: float = 0, rules: Rules = RULES, suites_: tuple[Suite, ...] = ()
):  # type: ignore[no-untyped-def]
    return decide(Observed(checks, suites_), rules, elapsed)


@pytest.mark.parametrize("conclusion", ["success", "neutral", "skipped"])
def test_passing_conclusions_pass(conclusion: str) -> None:
    verdict = verdict_of(run("lint"), run("unit", conclusion=conclusion))
    assert (verdict.state, verdict.reason) == ("pass", "passed")


@pytest.mark.parametrize(
    "conclusion",
    ["failure", "cancelled", "timed_out", "action_required", "stale", "startup_failure"],
)
def test_failing_conclusions_fail_by_name(conclusion: str) -> None:
    verdict = verdict_of(run("lint"), run("unit", conclusion=conclusion))
    assert verdict.state == "fail"
    assert [c.name for c in verdict.failed] == ["unit"]


def test_an_unknown_conclusion_is_not_a_pass() -> None:
    assert verdict_of(run("lint", conclusion="mystery")).state == "fail"


@pytest.mark.parametrize("state", ["queued", "in_progress", "waiting", "requested", "pending"])
def test_unfinished_check_runs_are_waited_on(state: str) -> None:
    verdict = verdict_of(run("lint"), run("unit", state=state))
    assert (verdict.state, verdict.pending) == ("wait", ("unit",))


def test_a_skipped_check_is_never_waited_on() -> None:
    """A workflow skipped by path filters reports `skipped` and nothing more."""
    assert verdict_of(run("docs", conclusion="skipped")).state == "pass"


@pytest.mark.parametrize(
    ("state", "expected"),
    [("success", "pass"), ("failure", "fail"), ("error", "fail"), ("pending", "wait")],
)
def test_statuses(state: str, expected: str) -> None:
    assert verdict_of(run("lint"), status("ci/legacy", state)).state == expected


def test_a_failure_fails_at_once_even_with_checks_still_running() -> None:
    verdict = verdict_of(run("lint", conclusion="failure"), run("unit", state="queued"))
    assert verdict.state == "fail"
    assert not verdict.timed_out
    lines, summary = report(verdict, "a" * 40, 600)
    assert lines == ["FAILED lint: failure"]
    assert summary == f"gate: 1 of 2 quality checks failed for {'a' * 12}: lint"


def test_every_failure_is_named_one_line_each() -> None:
    verdict = verdict_of(
        run("lint", conclusion="failure", link="https://github.com/o/r/runs/1"),
        run("unit", conclusion="timed_out"),
        run("e2e", conclusion="cancelled"),
        status("ci/legacy", "error"),
        run("type"),
    )
    lines, summary = report(verdict, "abc", 600)
    assert lines == [
        "FAILED lint: failure https://github.com/o/r/runs/1",
        "FAILED unit: timed_out",
        "FAILED e2e: cancelled",
        "FAILED ci/legacy: error",
    ]
    assert summary == "gate: 4 of 5 quality checks failed for abc: lint, unit, e2e, ci/legacy"


def test_a_check_that_never_starts_fails_at_the_timeout_by_name() -> None:
    stuck = (run("lint"), run("integration", state="queued"))
    assert verdict_of(*stuck, elapsed=599).state == "wait"
    verdict = verdict_of(*stuck, elapsed=600)
    assert (verdict.state, verdict.timed_out, verdict.pending) == ("fail", True, ("integration",))
    lines, summary = report(verdict, "abc", 600)
    assert lines == ["TIMED OUT integration: not finished after 600s"]
    assert summary == "gate: timed out after 600s waiting for abc: integration"


def test_a_required_check_that_never_appears_is_waited_on_then_fails() -> None:
    rules = Rules(exclude=DELIVERY, require=("e2e*",), timeout=60)
    assert verdict_of(run("lint"), rules=rules).pending == ("e2e* (required, not reported)",)
    verdict = verdict_of(run("lint"), rules=rules, elapsed=61)
    assert verdict.state == "fail"
    assert verdict_of(run("lint"), run("e2e (chrome)"), rules=rules).state == "pass"


@pytest.mark.parametrize(
    "name",
    ["gate", "build and push", "Deploy", "deploy (staging)", "release", "live integration tests"],
)
def test_delivery_jobs_are_left_out(name: str) -> None:
    verdict = verdict_of(run("lint"), run(name, state="queued"))
    assert verdict.state == "pass"
    assert [c.name for c in verdict.checks] == ["lint"]


def test_the_gates_own_workflow_run_is_left_out_whatever_its_job_names() -> None:
    rules = Rules(exclude=(), own_run="42")
    own = run("sign", state="queued", details="https://github.com/o/r/actions/runs/42/job/7")
    other = run("lint", details="https://github.com/o/r/actions/runs/41/job/6")
    assert excluded(own, rules)
    assert not excluded(other, rules)
    assert verdict_of(own, other, rules=rules).state == "pass"


def test_nothing_to_wait_for_settles_first_then_passes() -> None:
    alone = run("gate", state="in_progress")
    early = verdict_of(alone, elapsed=5)
    assert (early.state, early.reason) == ("wait", "settling")
    late = verdict_of(alone, elapsed=30)
    assert (late.state, late.reason) == ("pass", "nothing to wait for")
    assert (
        report(late, "abc", 600)[1]
        == "gate: no quality checks reported for abc; nothing to wait for"
    )


def test_a_workflow_still_running_holds_the_gate_until_its_later_jobs_report() -> None:
    """Jobs that `need` others get check runs only when they start: lint passing in a
    suite still in progress does not mean CI passed."""
    suite = (Suite(5, "github-actions", "in_progress", 1),)
    verdict = verdict_of(run("lint", suite=5), suites_=suite)
    assert verdict.state == "wait"
    assert verdict.pending == ("github-actions check suite 5 (jobs still to start)",)
    done = (Suite(5, "github-actions", "completed", 1),)
    assert verdict_of(run("lint", suite=5), suites_=done).state == "pass"


def test_empty_suites_and_delivery_suites_are_not_waited_on() -> None:
    """An installed app that never runs leaves an empty suite queued forever; a CD run
    (this one, or another of the same commit) is delivery."""
    observed = (run("lint", suite=5), run("deploy", state="queued", suite=9))
    found = (Suite(7, "travis-ci", "queued", 0), Suite(9, "github-actions", "in_progress", 2))
    assert verdict_of(*observed, suites_=found).state == "pass"


def test_a_suite_with_a_pending_run_is_named_by_the_run_only() -> None:
    found = (Suite(5, "github-actions", "in_progress", 2),)
    verdict = verdict_of(run("lint", suite=5), run("unit", state="queued", suite=5), suites_=found)
    assert verdict.pending == ("unit",)


def test_the_summary_table_has_a_row_per_check() -> None:
    verdict = verdict_of(
        run("lint", link="https://github.com/o/r/runs/1"), run("a|b", state="queued")
    )
    text = summary_markdown(verdict, "abc")
    assert "| check | state | conclusion | link |" in text
    assert "| lint | completed | success | [details](https://github.com/o/r/runs/1) |" in text
    assert "| a\\|b | queued |  |  |" in text


def test_parsing_githubs_shapes() -> None:
    runs = check_runs(
        [
            {
                "name": "lint",
                "status": "completed",
                "conclusion": "neutral",
                "html_url": "https://github.com/o/r/runs/4",
                "details_url": "https://github.com/o/r/actions/runs/3/job/4",
                "check_suite": {"id": 5},
            }
        ]
    )
    assert runs == [
        Check(
            "lint",
            "completed",
            "neutral",
            "https://github.com/o/r/runs/4",
            "https://github.com/o/r/actions/runs/3/job/4",
            5,
        )
    ]
    found = statuses([{"context": "ci/x", "state": "pending", "target_url": None}])
    assert found == [Check("ci/x", "pending", "pending", "", kind="status")]
    assert suites(
        [{"id": 5, "status": "queued", "latest_check_runs_count": 0, "app": {"slug": "x"}}]
    ) == [Suite(5, "x", "queued", 0)]
