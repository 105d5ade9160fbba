from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shipline.errors import ConfigError
from shipline.images.tags import (
    DEFAULT_RULES,
    Flavor,
    GitContext,
    TagRuleError,
    compute_tags,
    context_from_env,
    image_refs,
    parse_flavor,
    parse_rules,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "metadata-action-tags.json"
CASES: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
NOW = datetime(2020, 1, 10, 0, 30, tzinfo=UTC)
SHA = "abc1234f0e1d2c3b4a5968778695a4b3c2d1e0f9"


def tags_for(lines: list[str], ref: str, **context: Any) -> list[str]:
    ctx = GitContext(
        ref=ref,
        sha=context.pop("sha", SHA),
        event_name=context.pop("event_name", "push"),
        default_branch=context.pop("default_branch", "main"),
        **context,
    )
    return compute_tags(parse_rules(lines), Flavor(), ctx)


# --- conformance with metadata-action -----------------------------------------------------


def test_fixture_keeps_every_conformance_case() -> None:
    assert len(CASES) == 83
    assert len({case["id"] for case in CASES}) == 83


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_tags_match_metadata_action(case: dict[str, Any]) -> None:
    ctx = context_from_env(case["env"], case["default_branch"], NOW)
    tags = compute_tags(parse_rules(case["tags"]), parse_flavor(case["flavor"]), ctx)
    assert tags == case["expected_tags"]
    # With no images metadata-action lists the bare tags, which image_refs mirrors.
    assert image_refs(case["images"], tags) == case["expected_all_tags"]


def test_no_rules_means_the_action_defaults() -> None:
    ctx = GitContext(ref="refs/tags/v1.1.1", sha=SHA, event_name="push", default_branch="main")
    default_lines = ["type=schedule", "type=ref,event=branch", "type=ref,event=tag"]
    expected = compute_tags(parse_rules([*default_lines, "type=ref,event=pr"]), Flavor(), ctx)
    assert compute_tags(None, Flavor(), ctx) == expected
    assert compute_tags([], Flavor(), ctx) == expected


# --- shipline's default scheme: release tags (v1.2.3, 1.2, 1, stable), develop builds ---

COMMIT_DATE = datetime(2024, 1, 9, 14, 30, 22, tzinfo=UTC)


def default_tags(ref: str, event_name: str = "push") -> list[str]:
    return tags_for(list(DEFAULT_RULES), ref, event_name=event_name, date=COMMIT_DATE)


def test_default_rules_tag_develop_with_date_and_sha() -> None:
    stamp = COMMIT_DATE.strftime("%Y%m%d-%H%M%S")
    assert default_tags("refs/heads/develop") == ["develop", f"dev-{stamp}", f"dev-{SHA[:7]}"]


def test_default_rules_tag_a_release_with_every_version_level() -> None:
    # metadata-action always lists latest last, so stable comes before it.
    assert default_tags("refs/tags/v1.2.3") == ["v1.2.3", "1.2.3", "1.2", "1", "stable", "latest"]


def test_default_rules_give_a_prerelease_only_its_own_version() -> None:
    assert default_tags("refs/tags/v2.0.0-rc.1") == ["v2.0.0-rc.1", "2.0.0-rc.1"]


@pytest.mark.parametrize(
    ("ref", "event_name"),
    [
        ("refs/heads/feature/login", "push"),
        ("refs/pull/7/merge", "pull_request"),
        ("refs/tags/nightly-build", "push"),
    ],
)
def test_default_rules_publish_nothing_elsewhere(ref: str, event_name: str) -> None:
    assert default_tags(ref, event_name) == []


def test_default_rules_give_the_default_branch_an_immutable_tag() -> None:
    assert default_tags("refs/heads/main") == ["main", f"sha-{SHA[:7]}"]


def test_default_rules_parse_with_their_branch_guards() -> None:
    rules = parse_rules(DEFAULT_RULES)
    assert len(rules) == len(DEFAULT_RULES)
    assert {rule.type for rule in rules} == {"semver", "raw", "sha", "ref"}


# --- templates, versions, regexes ----------------------------------------------------------


def test_date_formats_like_strftime_in_the_requested_zone() -> None:
    zone = "Asia/Tokyo"
    rule = f"type=raw,value={{{{date 'YYYYMMDD-HHmmss' tz='{zone}'}}}}"
    expected = COMMIT_DATE.astimezone(ZoneInfo(zone)).strftime("%Y%m%d-%H%M%S")
    assert tags_for([rule], "refs/heads/x", date=COMMIT_DATE) == [expected]


def test_date_iso_week_agrees_with_isocalendar_across_year_ends() -> None:
    for offset in range(-10, 10):
        moment = datetime(2020, 12, 31, 12, tzinfo=UTC) + timedelta(days=offset * 37)
        year, week, day = moment.isocalendar()
        rule = "type=raw,value={{date 'GGGG-WW-E'}}"
        assert tags_for([rule], "refs/heads/x", date=moment) == [f"{year}-{week:02d}-{day}"]


def test_date_keeps_bracketed_text_literal() -> None:
    rule = "type=raw,value={{date '[build]YYYY'}}"
    assert tags_for([rule], "refs/heads/x", date=COMMIT_DATE) == [f"build{COMMIT_DATE.year}"]


def test_double_stache_output_is_html_escaped_as_handlebars_does() -> None:
    lines = ["type=raw,value={{branch}}", "type=raw,value=x{{{branch}}}"]
    assert tags_for(lines, "refs/heads/a&b") == ["a-amp-b", "xa-b"]


def test_semver_drops_build_metadata_from_version() -> None:
    lines = ["type=semver,pattern={{version}}", "type=semver,pattern={{raw}}"]
    assert tags_for(lines, "refs/tags/v1.2.3+build.5") == ["1.2.3", "v1.2.3-build.5", "latest"]


def test_pep440_local_segment_renders_as_renovate_pep440_does() -> None:
    # @renovate/pep440 joins local segments with commas; sanitising turns them into dashes.
    lines = ["type=pep440,pattern={{version}}"]
    assert tags_for(lines, "refs/tags/1.0+Ubuntu.1") == ["1.0-ubuntu-1", "latest"]


def test_match_named_group_and_flags() -> None:
    lines = ["type=match,pattern=/^V(?<ver>\\d+)\\k<ver>$/i,group=1"]
    assert tags_for(lines, "refs/tags/v77") == ["7", "latest"]


def test_is_branch_extension_checks_the_branch() -> None:
    lines = ["type=raw,value=on,enable={{is_branch 'develop' 'next'}}"]
    assert tags_for(lines, "refs/heads/next") == ["on"]
    assert tags_for(lines, "refs/heads/main") == []
    assert tags_for(lines, "refs/tags/next") == []


# --- bad input -------------------------------------------------------------------------------


def test_unknown_type_message_lists_the_valid_types() -> None:
    line = "type=semvar,pattern={{version}}"
    with pytest.raises(TagRuleError) as raised:
        parse_rules([line])
    assert str(raised.value) == (
        f'unknown tag rule type "semvar" in "{line}"; '
        "expected one of: schedule, semver, pep440, match, edge, ref, raw, sha"
    )


@pytest.mark.parametrize(
    "line",
    [
        "type=semvar,pattern={{version}}",
        "type=semver",
        "type=pep440,pattern=",
        "type=match,group=1",
        "type=ref",
        "type=ref,event=",
        "type=ref,event=push",
        "type=raw,priority=abc,foo",
        "type=raw",
        "type=sha,format=medium",
        "type=match,pattern=v(",
        "type=match,pattern=v(.*),group=abc",
        "type=match,pattern=/v(.*)/q",
        "type=semver,pattern={{version}},match=v1",
        "type=raw,value={{#if branch}}x{{/if}}",
        "type=raw,value={{branch",
        "type=raw,value={{date}}",
        "type=raw,value={{date 'YYYY' zone='UTC'}}",
        "type=raw,value={{is_branch}}",
        "type=raw,value=x,enable=yes",
        'type=raw,value=a"b',
    ],
)
def test_bad_rule_is_named_in_the_error(line: str) -> None:
    with pytest.raises(TagRuleError, match=re.escape(f'"{line}"')) as raised:
        parse_rules(["type=raw,value=fine", line])
    assert isinstance(raised.value, ConfigError)
    assert raised.value.exit_code == 2


def test_enable_that_renders_neither_true_nor_false_fails_when_computed() -> None:
    line = "type=raw,value=x,enable={{branch}}"
    with pytest.raises(TagRuleError, match=re.escape(f'"{line}"')):
        tags_for([line], "refs/heads/dev")


@pytest.mark.parametrize(
    "lines",
    [["latest=maybe"], ["prefix"], ["labelPrefix=x"], ["suffix=-x,onlatest=yes"]],
)
def test_bad_flavor_is_named_in_the_error(lines: list[str]) -> None:
    with pytest.raises(TagRuleError, match=re.escape(f'"{lines[0]}"')):
        parse_flavor(lines)


def test_blank_and_comment_lines_are_skipped() -> None:
    assert parse_rules(["", "  # note", "type=raw,value=a"]) == parse_rules(["type=raw,value=a"])
    assert parse_flavor(["# note", " "]) == Flavor()


# --- images ---------------------------------------------------------------------------------


def test_image_refs_single_line_of_names_and_disabled_images() -> None:
    assert image_refs(["Org/App,ghcr.io/Org/App"], ["1.0"]) == [
        "org/app:1.0",
        "ghcr.io/org/app:1.0",
    ]
    assert image_refs(["name=org/app,enable=false"], ["1.0"]) == ["1.0"]


def test_image_refs_rejects_unknown_attributes() -> None:
    with pytest.raises(TagRuleError, match="org/app,tag=x"):
        image_refs(["org/app,tag=x", "other/app"], ["1.0"])


# --- context ------------------------------------------------------------------------------


def test_context_from_env_reads_the_github_variables() -> None:
    env = {
        "GITHUB_REF": "refs/pull/15/merge",
        "GITHUB_SHA": SHA,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REPOSITORY": "owner/app",
        "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": "feature",
    }
    ctx = context_from_env(env, "main", NOW)
    assert (ctx.ref, ctx.sha, ctx.event_name, ctx.repository) == (
        env["GITHUB_REF"],
        env["GITHUB_SHA"],
        env["GITHUB_EVENT_NAME"],
        env["GITHUB_REPOSITORY"],
    )
    assert (ctx.base_ref, ctx.head_ref, ctx.default_branch) == ("main", "feature", "main")
    assert ctx.date == NOW


def test_context_from_env_with_nothing_set() -> None:
    ctx = context_from_env({}, "main", NOW)
    assert (ctx.ref, ctx.sha, ctx.event_name) == ("", "", "")


def test_source_date_epoch_overrides_now() -> None:
    epoch = 1704810622
    ctx = context_from_env({"SOURCE_DATE_EPOCH": str(epoch)}, "main", NOW)
    assert ctx.date == datetime.fromtimestamp(epoch, tz=UTC)
    rules = parse_rules(["type=raw,value={{date 'YYYYMMDD-HHmmss'}}"])
    stamp = datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y%m%d-%H%M%S")
    assert compute_tags(rules, Flavor(), ctx) == [stamp]


def test_source_date_epoch_must_be_whole_seconds() -> None:
    with pytest.raises(TagRuleError, match="SOURCE_DATE_EPOCH"):
        context_from_env({"SOURCE_DATE_EPOCH": "yesterday"}, "main", NOW)


def test_now_is_normalised_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    aware = context_from_env({}, "main", datetime(2024, 1, 9, 16, 30, tzinfo=plus_two))
    naive = context_from_env({}, "main", datetime(2024, 1, 9, 14, 30))
    assert aware.date == naive.date == datetime(2024, 1, 9, 14, 30, tzinfo=UTC)
    assert aware.date.utcoffset() == timedelta()


def test_short_sha_length_variable() -> None:
    env = {"GITHUB_SHA": SHA, "DOCKER_METADATA_SHORT_SHA_LENGTH": "12"}
    ctx = context_from_env(env, "main", NOW)
    assert compute_tags(parse_rules(["type=sha"]), Flavor(), ctx) == [f"sha-{SHA[:12]}"]


def test_payload_gives_pull_request_target_ref_head_sha_and_commit_date() -> None:
    head = "f" * 40
    env = {
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": SHA,
        "GITHUB_EVENT_NAME": "pull_request_target",
        "DOCKER_METADATA_PR_HEAD_SHA": "true",
    }
    payload = {
        "number": 42,
        "pull_request": {"head": {"sha": head}},
        "commits": [{"id": head, "timestamp": "2024-01-09T15:30:22+01:00"}],
    }
    ctx = context_from_env(env, "main", NOW, payload=payload)
    assert (ctx.ref, ctx.sha) == ("refs/pull/42/merge", head)
    assert ctx.commit_date == COMMIT_DATE
