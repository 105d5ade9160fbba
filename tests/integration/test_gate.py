"""`shipline gate` end to end, over real HTTP, against a local stand-in for GitHub's API.

The server (`support.github_api`) answers with bodies shaped like the examples of
GitHub's REST API docs, "List check runs for a Git reference", "Get the combined
status for a specific reference" and "List check suites for a Git reference", on
127.0.0.1: nothing leaves the machine. Each test runs the real command as a
subprocess with GITHUB_API_URL pointing at it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.composite import make_runner_python, run_action
from support.github_api import (
    REPO,
    SHA,
    TOKEN,
    FakeGitHub,
    Fault,
    State,
    check_run,
    reset_in,
    status,
    suite,
)
from support.run import Result, run

from shipline import checkgate, gatewait

SHIPLINE = str(Path(sys.executable).parent / "shipline")
ACTIONS = Path(__file__).parents[2] / "actions"

PASSING = State(
    check_runs=(
        check_run(1, "lint", "completed", "success"),
        check_run(2, "type", "completed", "success"),
        check_run(3, "unit", "completed", "success"),
        check_run(4, "database", "completed", "skipped"),  # path filters: never waited on
        check_run(5, "docs", "completed", "neutral"),
        check_run(9, "gate", "in_progress", suite=9),  # the gate itself
        check_run(10, "deploy", "queued", suite=9),  # a delivery job
    ),
    statuses=(status("ci/legacy", "success"),),
    suites=(suite(5, "completed", 5), suite(9, "in_progress", 2), suite(7, "queued", 0)),
)


def project(tmp_path: Path, gate: str = "", settle: float = 0.5) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "0"\n\n'
        f"[tool.shipline.gate]\ninterval = 0.2\nsettle = {settle}\n{gate}"
    )
    return tmp_path


def gate(
    api: FakeGitHub, cwd: Path, timeout: str = "20", env: dict[str, str] | None = None
) -> Result:
    variables = {
        "GITHUB_API_URL": api.url,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SHA": SHA,
        "GITHUB_JOB": "gate",
        "GITHUB_RUN_ID": "900",
        "NO_PROXY": "127.0.0.1",
        **(env or {}),
    }
    result = run([SHIPLINE, "gate", "--timeout", timeout], cwd=cwd, env=variables, timeout=120)
    assert TOKEN not in result.output
    return result


def later(first: State, then: State, at_poll: int) -> Callable[[int], State]:
    return lambda poll: first if poll < at_poll else then


def test_waits_through_pages_rate_limits_and_etags_then_passes(tmp_path: Path) -> None:
    running = State(
        check_runs=(
            *PASSING.check_runs[:1],
            check_run(2, "type", "in_progress"),
            *PASSING.check_runs[2:],
        ),
        statuses=(status("ci/legacy", "pending"),),
        suites=PASSING.suites,
    )
    faults = (
        Fault("check-runs", 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_in(1)}),
        Fault("check-suites", 429, {"Retry-After": "1"}),
        Fault("/status", 502),
    )
    with FakeGitHub(later(running, PASSING, 4), faults=faults) as api:
        result = gate(api, project(tmp_path))
    assert result.code == 0, result
    lines = result.output.splitlines()
    assert lines[0] == f"shipline: gate: {REPO}@{SHA[:12]}: waiting on its quality checks"
    assert "shipline: gate: 4 of 6 quality checks passed; waiting for type, ci/legacy" in lines
    assert lines[-1] == f"shipline: gate: all 6 quality checks passed for {SHA[:12]}"
    pages = {
        s.path.split("&page=")[-1] for s in api.requests_to("check-runs") if "&page=" in s.path
    }
    assert pages == {"2", "3", "4"}  # seven runs, two a page: Link rel="next" followed
    first_pages = [s for s in api.seen if s.path.endswith("/check-runs?per_page=100")]
    repeats = [s for s in first_pages if s.code != 403][1:]
    assert repeats
    assert all("if-none-match" in s.headers for s in repeats)
    assert any(s.code == 304 for s in api.seen)
    first = api.seen[0].headers
    assert first["accept"] == "application/vnd.github+json"
    assert first["x-github-api-version"] == "2022-11-28"


def test_a_failed_check_fails_the_gate_by_name(tmp_path: Path) -> None:
    failing = State(
        check_runs=(
            *PASSING.check_runs,
            check_run(6, "security", "completed", "failure"),
            check_run(7, "e2e", "completed", "cancelled"),
        ),
        statuses=(status("ci/legacy", "error"),),
    )
    summary = tmp_path / "summary.md"
    with FakeGitHub(lambda _: failing) as api:
        result = gate(api, project(tmp_path), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 1, result
    table = summary.read_text()
    assert "| check | state | conclusion | link |" in table
    assert f"| security | completed | failure | [details](https://github.com/{REPO}/runs/6) |" in (
        table
    )
    assert "| deploy |" not in table  # a delivery job is not a quality check
    lines = result.output.splitlines()
    assert f"shipline: gate: FAILED security: failure https://github.com/{REPO}/runs/6" in lines
    assert f"shipline: gate: FAILED e2e: cancelled https://github.com/{REPO}/runs/7" in lines
    assert "shipline: gate: FAILED ci/legacy: error https://ci.example.com/1000/output" in lines
    assert lines[-1] == (
        f"shipline: error: gate: 3 of 8 quality checks failed for {SHA[:12]}: "
        "security, e2e, ci/legacy"
    )


def test_a_check_that_stays_queued_times_out_by_name(tmp_path: Path) -> None:
    stuck = State(check_runs=(*PASSING.check_runs, check_run(8, "integration", "queued")))
    with FakeGitHub(lambda _: stuck) as api:
        started = time.monotonic()
        result = gate(api, project(tmp_path, 'require = ["e2e"]\n'), timeout="1.5")
    assert result.code == 1, result
    assert time.monotonic() - started < 30
    lines = result.output.splitlines()
    assert "shipline: gate: TIMED OUT integration: not finished after 1.5s" in lines
    assert (
        "shipline: gate: TIMED OUT e2e (required, not reported): not finished after 1.5s" in lines
    )
    assert lines[-1] == (
        f"shipline: error: gate: timed out after 1.5s waiting for {SHA[:12]}: "
        "integration, e2e (required, not reported)"
    )


def test_with_nothing_but_itself_it_passes_after_the_settle_time(tmp_path: Path) -> None:
    alone = State(check_runs=(check_run(9, "gate", "in_progress", suite=9),))
    with FakeGitHub(lambda _: alone) as api:
        result = gate(api, project(tmp_path, settle=3))
    assert result.code == 0, result
    assert api.polls >= 2  # it waited for checks to register before passing
    assert (
        "shipline: gate: no quality checks reported yet; waiting up to 3s for them to register"
        in result.output
    )
    assert result.output.splitlines()[-1] == (
        f"shipline: gate: no quality checks reported for {SHA[:12]}; nothing to wait for"
    )


def test_a_rate_limit_past_the_timeout_fails_with_one_line(tmp_path: Path) -> None:
    fault = Fault(
        "check-runs", 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_in(3600)}
    )
    with FakeGitHub(lambda _: PASSING, faults=(fault,)) as api:
        result = gate(api, project(tmp_path), timeout="5")
    assert result.code == 1, result
    assert result.output.splitlines()[-1].startswith(
        f"shipline: error: GitHub API rate limit: /repos/{REPO}/commits/{SHA}/check-runs"
    )
    assert "past the gate's timeout" in result.output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GITHUB_TOKEN": "ghs_wrong_token_value"}, "GitHub rejected the token (401)"),
        ({"GITHUB_REPOSITORY": "octocat/Nope"}, "GitHub found no /repos/octocat/Nope/commits/"),
    ],
)
def test_refusals_are_one_line(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    with FakeGitHub(lambda _: PASSING) as api:
        result = gate(api, project(tmp_path), env=env)
    assert result.code == 1, result
    assert result.output.splitlines()[-1].startswith(f"shipline: error: {expected}")
    assert "ghs_wrong_token_value" not in result.output


def test_a_forbidden_answer_names_the_permissions(tmp_path: Path) -> None:
    with FakeGitHub(lambda _: PASSING, faults=(Fault("check-runs", 403),)) as api:
        result = gate(api, project(tmp_path))
    assert result.code == 1, result
    assert "lacks checks: read or statuses: read" in result.output.splitlines()[-1]


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        ("GITHUB_TOKEN", "GITHUB_TOKEN is not set"),
        ("GITHUB_REPOSITORY", "no repository to gate; pass --repo OWNER/NAME"),
        ("GITHUB_SHA", "no commit to gate; pass --sha COMMIT or set GITHUB_SHA"),
    ],
)
def test_missing_context_is_a_usage_error(tmp_path: Path, drop: str, expected: str) -> None:
    with FakeGitHub(lambda _: PASSING) as api:
        result = gate(api, project(tmp_path), env={drop: ""})
    assert result.code == 2, result
    assert result.output.strip().startswith(f"shipline: error: {expected}")
    assert api.seen == []


@pytest.fixture(scope="module")
def python_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_python(tmp_path_factory.mktemp("runner") / "python")


def test_the_gate_action_waits_and_writes_its_summary(tmp_path: Path, python_bin: Path) -> None:
    """actions/gate as the runner runs it: the token reaches the task through the step's env."""
    root = project(tmp_path)
    (root / "tasks.py").write_text("from shipline.tasks.all_tasks import *  # noqa: F403\n")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = {
        "GITHUB_API_URL": "",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SHA": SHA,
        "GITHUB_JOB": "gate",
        "NO_PROXY": "127.0.0.1",
    }
    with FakeGitHub(lambda _: PASSING) as api:
        done = run_action(
            ACTIONS / "gate/action.yml",
            {"python-version": here, "args": "--timeout 30"},
            root,
            python_bin,
            env={**env, "GITHUB_API_URL": api.url},
        )
    assert done.code == 0, done
    assert "shipline: invoke gate --timeout 30" in done.log
    assert f"shipline: gate: all 6 quality checks passed for {SHA[:12]}" in done.log
    assert "| lint | completed | success |" in done.summary
    assert TOKEN not in done.log


def test_the_poll_backs_off_while_nothing_changes_and_resets_when_something_does() -> None:
    """In process, on a fake clock: the loop's pauses, and a 304 for every unchanged page."""
    running = State(
        check_runs=(check_run(1, "lint", "in_progress"), check_run(2, "type", "in_progress"))
    )
    half = State(check_runs=(check_run(1, "lint", "completed", "success"), running.check_runs[1]))
    done = State(check_runs=(half.check_runs[0], check_run(2, "type", "completed", "success")))
    now = [0.0]
    pauses: list[float] = []
    said: list[str] = []

    def sleep(seconds: float) -> None:
        pauses.append(round(seconds, 3))
        now[0] += seconds

    def scenario(poll: int) -> State:
        return running if poll < 5 else half if poll < 8 else done

    with FakeGitHub(scenario) as api:
        commit = gatewait.Target(api=api.url, token=TOKEN, repo=REPO, sha=SHA)
        rules = checkgate.Rules(timeout=600, settle=0)
        poll = gatewait.Poll(interval=1.0, say=said.append, sleep=sleep, clock=lambda: now[0])
        verdict = gatewait.wait(commit, rules, poll)
    assert verdict.state == "pass"
    assert pauses == [1.0, 1.5, 2.25, 3.375, 1.0, 1.5, 2.25]
    assert said == [
        "shipline: gate: 0 of 2 quality checks passed; waiting for lint, type",
        "shipline: gate: 1 of 2 quality checks passed; waiting for type",
    ]
    unchanged = [s for s in api.seen if s.path.endswith("/check-runs?per_page=100")]
    assert [s.code for s in unchanged] == [200, 304, 304, 304, 200, 304, 304, 200]
