"""What the gate reads around it: the commit, the repository, the token, rate-limit headers."""

from __future__ import annotations

import pytest

from shipline import config
from shipline.errors import UsageError
from shipline.gatewait import interval, rules, target
from shipline.githubapi import SECONDARY_LIMIT_WAIT, rate_limit_wait, refusal

ENV = {"GITHUB_TOKEN": "t0k", "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "a" * 40}


def gate_config(**changes: object) -> config.QualityGateConfig:
    values: dict[str, object] = dict(
        exclude=("gate",), require=(), timeout=60.0, interval=5.0, settle=30.0
    )
    values.update(changes)
    return config.QualityGateConfig(**values)  # type: ignore[arg-type]


def test_the_target_comes_from_the_actions_variables_or_the_flags() -> None:
    found = target(ENV, sha=None, repo=None)
    assert (found.api, found.repo, found.sha) == ("https://api.github.com", "o/r", "a" * 40)
    flagged = target({**ENV, "GITHUB_API_URL": "http://127.0.0.1:1"}, sha="b" * 7, repo="x/y")
    assert (flagged.api, flagged.repo, flagged.sha) == ("http://127.0.0.1:1", "x/y", "bbbbbbb")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GITHUB_TOKEN": ""}, "GITHUB_TOKEN is not set"),
        ({"GITHUB_TOKEN": "ghs_abc def"}, "GITHUB_TOKEN is not a token"),
        ({"GITHUB_TOKEN": "ghs_abc\x00"}, "GITHUB_TOKEN is not a token"),
        ({"GITHUB_REPOSITORY": "nope"}, "no repository to gate ('nope')"),
        ({"GITHUB_SHA": ""}, "no commit to gate; pass --sha"),
        ({"GITHUB_SHA": "../etc"}, "no commit to gate ('../etc')"),
        ({"GITHUB_API_URL": "ftp://x"}, "GITHUB_API_URL 'ftp://x'"),
    ],
)
def test_missing_or_bad_context_is_a_usage_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        target({**ENV, **env}, sha=None, repo=None)


def test_rules_leave_out_the_gates_own_job_and_run() -> None:
    found = rules(gate_config(), {"GITHUB_JOB": "wait-for-ci", "GITHUB_RUN_ID": "42"}, timeout="10")
    assert found.exclude == ("gate", "wait-for-ci")
    assert (found.own_run, found.timeout, found.settle) == ("42", 10.0, 10.0)
    assert rules(gate_config(), {}, timeout=None).timeout == 60.0


def test_interval_and_timeout_flags_are_checked() -> None:
    assert interval(gate_config(), None) == 5.0
    assert interval(gate_config(), "0.5") == 0.5
    with pytest.raises(
        UsageError, match="--interval '0': expected a number of seconds more than 0"
    ):
        interval(gate_config(), "0")
    for bad in ("soon", "-1", "1e9", "nan", "99999999"):
        with pytest.raises(UsageError, match="--timeout"):
            rules(gate_config(), {}, timeout=bad)


@pytest.mark.parametrize(
    ("code", "headers", "expected"),
    [
        (403, {"retry-after": "7"}, 7.0),
        (429, {"retry-after": "3"}, 3.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010"}, 11.0),
        (403, {"x-ratelimit-remaining": "0"}, SECONDARY_LIMIT_WAIT),
        (429, {}, SECONDARY_LIMIT_WAIT),
        (403, {"x-ratelimit-remaining": "12"}, None),  # a permission refusal
        (500, {"retry-after": "3"}, None),
        (200, {}, None),
    ],
)
def test_rate_limit_waits(code: int, headers: dict[str, str], expected: float | None) -> None:
    assert rate_limit_wait(code, headers, now=1000.0) == expected


def test_a_secondary_limit_with_no_headers_waits_a_minute() -> None:
    text = '{"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}'
    assert rate_limit_wait(403, {}, 0.0, text=text) == SECONDARY_LIMIT_WAIT
    assert rate_limit_wait(403, {}, 0.0, text='{"message": "Resource not accessible"}') is None


def test_refusals_say_what_to_fix() -> None:
    assert "checks: read" in refusal(403, "/p", "")
    assert "GITHUB_TOKEN" in refusal(401, "/p", "")
    assert "GITHUB_REPOSITORY" in refusal(404, "/p", "")
    assert refusal(418, "/p", "teapot\nmore") == "GitHub answered /p with HTTP 418: teapot"


def test_the_gate_table_reads_its_keys_and_rejects_unknown_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = {
        "project": {"name": "svc"},
        "tool": {"shipline": {"gate": {"require": ["e2e"], "timeout": 90}}},
    }
    cfg = config.parse(data, tmp_path)
    assert cfg.gate.require == ("e2e",)
    assert cfg.gate.timeout == 90.0
    assert "deploy*" in cfg.gate.exclude
    from shipline.errors import ConfigError

    bad = {"tool": {"shipline": {"gate": {"timout": 90}}}}
    with pytest.raises(
        ConfigError, match=r"tool\.shipline\.gate\.timout: unknown key; did you mean 'timeout'"
    ):
        config.parse(bad, tmp_path)
