from __future__ import annotations

import os

import pytest

from shipline.pytest_plugin import live_decision

PYPROJECT = """
[project]
name = "demo"
[tool.shipline.tests]
env = {{ DEMO_SECRET = "placeholder", DEMO_REAL = "placeholder" }}
{extra}
"""

TESTS = {
    "tests/test_plain.py": "def test_plain():\n    pass\n",
    "tests/test_marked.py": (
        "import pytest\n\n@pytest.mark.smoke\ndef test_smoke():\n    pass\n\n"
        "@pytest.mark.security\ndef test_sec():\n    pass\n"
    ),
    "tests/integration/test_dir.py": "def test_in_dir():\n    pass\n",
    "tests/test_live.py": "import pytest\n\n@pytest.mark.live\ndef test_live():\n    pass\n",
}


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in ("DEMO_SECRET", "DEMO_REAL", "SHIPLINE_LIVE", "GITHUB_ACTIONS", "SHIPLINE_ACTIVE"):
        monkeypatch.delenv(name, raising=False)  # restored after the in-process runs
    pytester.makefile(".toml", pyproject=PYPROJECT.format(extra=""))
    for path, text in TESTS.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return pytester


def test_markers_registered_and_header_says_the_mode(project: pytest.Pytester) -> None:
    result = project.runpytest("--markers")
    for marker in ("smoke", "unit", "integration", "database", "e2e", "security", "live"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{marker}: *"])
    header = project.runpytest("--collect-only", "-q", "--co")
    assert header.ret == 0


def test_unmarked_tests_fall_into_unit_and_directories_give_tiers(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--tier", "unit", "-v")
    result.assert_outcomes(passed=1, skipped=1, deselected=3)  # the live test is unit too
    result.stdout.fnmatch_lines(
        ["*test_live.py::test_live SKIPPED*", "*test_plain.py::test_plain PASSED*"]
    )
    assert project.runpytest("--tier", "integration", "-v").parseoutcomes() == {
        "passed": 1,
        "deselected": 4,
    }


def test_in_a_session_minus_m_selects_the_inferred_tiers(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPLINE_ACTIVE", "1")  # what the nox sessions set
    project.runpytest("-m", "unit").assert_outcomes(passed=1, skipped=1, deselected=3)
    project.runpytest("-m", "smoke or security").assert_outcomes(passed=2, deselected=3)


def test_plain_pytest_keeps_the_projects_own_marker_semantics(project: pytest.Pytester) -> None:
    # A project's own `-m` means what it meant before shipline: only tests that
    # carry the marker themselves; nothing is inferred from directories or defaults.
    project.makepyfile(
        test_models=(
            "import pytest\n\n@pytest.mark.unit\n@pytest.mark.models\ndef test_m():\n    pass\n"
            "\n@pytest.mark.models\ndef test_unmarked_model():\n    pass\n"
        )
    )
    project.makefile(
        ".toml",
        pyproject=PYPROJECT.format(extra="[tool.pytest.ini_options]\nmarkers = ['models: m']"),
    )
    project.runpytest("-m", "unit and models").assert_outcomes(passed=1, deselected=6)
    project.runpytest("-m", "unit").assert_outcomes(passed=1, deselected=6)
    project.runpytest("-m", "integration").assert_outcomes(deselected=7)
    header = project.runpytest("--co")
    header.stdout.fnmatch_lines(["shipline: plain pytest, tiers not inferred*"])


def test_strict_markers_reject_a_typo_in_a_session(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_typo="import pytest\n\n@pytest.mark.intgration\ndef test_x():\n    pass\n"
    )
    result = project.runpytest("--tier", "unit")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*Unknown pytest.mark.intgration - is this a typo?*"])
    monkeypatch.setenv("SHIPLINE_ACTIVE", "1")
    assert project.runpytest().ret == pytest.ExitCode.INTERRUPTED
    # Plain pytest: the project's own strictness (here none: a warning). In a
    # subprocess, so the warning filters of the pytest running this test stay out.
    monkeypatch.delenv("SHIPLINE_ACTIVE")
    plain = project.runpytest_subprocess()
    plain.assert_outcomes(passed=5, skipped=1, warnings=1)


def test_empty_tier_fails_with_a_clear_message(project: pytest.Pytester) -> None:
    result = project.runpytest("--tier", "e2e")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(
        [
            "shipline: tier 'e2e' selected no tests: mark tests @pytest.mark.e2e, put them "
            "under tests/e2e, or declare it optional ([tool.shipline.tiers.e2e] optional = true)"
        ]
    )


def test_optional_empty_tier_passes(project: pytest.Pytester) -> None:
    project.makefile(
        ".toml", pyproject=PYPROJECT.format(extra="[tool.shipline.tiers.e2e]\noptional = true")
    )
    result = project.runpytest("--tier", "e2e")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["shipline: tier 'e2e' has no tests; it is optional*"])


def test_env_defaults_are_placeholders_that_never_override(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_REAL", "real-value")
    project.makeconftest(
        "import os\nSEEN = (os.environ['DEMO_SECRET'], os.environ['DEMO_REAL'])\n"
        "def pytest_report_header():\n    return f'conftest saw {SEEN}'\n"
    )
    result = project.runpytest("--tier", "unit")
    result.stdout.fnmatch_lines(["conftest saw ('placeholder', 'real-value')"])
    assert os.environ["DEMO_REAL"] == "real-value"


def test_live_tests_skip_locally_and_run_when_on(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = project.runpytest("-rs", "tests/test_live.py")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*live tests skipped (auto: local run*", "*live tests off (auto: local run*"]
    )
    project.runpytest("--live=on", "tests/test_live.py").assert_outcomes(passed=1)
    monkeypatch.setenv("SHIPLINE_LIVE", "on")
    project.runpytest("tests/test_live.py").assert_outcomes(passed=1)
    monkeypatch.setenv("SHIPLINE_LIVE", "sometimes")
    bad = project.runpytest_subprocess("tests/test_live.py")
    assert bad.ret == 2
    bad.stderr.fnmatch_lines(["shipline: error: SHIPLINE_LIVE='sometimes': expected one of*"])


def test_config_error_is_one_line_exit_2(project: pytest.Pytester) -> None:
    project.makefile(".toml", pyproject='[tool.shipline.tests]\ncoverage-fail-under = "high"\n')
    result = project.runpytest_subprocess()
    assert result.ret == 2
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    result.stderr.fnmatch_lines(
        [
            "shipline: error: tool.shipline.tests.coverage-fail-under: expected a number "
            'from 0 to 100, got "high"'
        ]
    )


def test_nested_project_uses_its_own_config_not_the_rootdirs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INNER_TOKEN", raising=False)
    pytester.makefile(".toml", pyproject="[tool.pytest.ini_options]\n[tool.shipline]\n")
    inner = pytester.mkdir("inner")
    (inner / "pyproject.toml").write_text(
        '[tool.shipline.tests]\nenv = { INNER_TOKEN = "x" }\n'
        '[tool.shipline.tiers.smoke]\npaths = ["checks"]\n'
    )
    (inner / "checks").mkdir()
    (inner / "checks" / "test_s.py").write_text(
        "import os\n\ndef test_s():\n    assert os.environ['INNER_TOKEN'] == 'x'\n"
    )
    monkeypatch.chdir(inner)
    pytester.runpytest("--tier", "smoke").assert_outcomes(passed=1)


def test_inert_without_a_shipline_table(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject='[project]\nname = "other"\n')
    pytester.makepyfile(test_a="import pytest\n\n@pytest.mark.whatever\ndef test_a():\n    pass\n")
    result = pytester.runpytest("-W", "ignore::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=1)


LIVE_CASES = [
    ("on", {}, True, "on"),
    ("off", {"GITHUB_ACTIONS": "true"}, False, "off"),
    ("auto", {}, False, "auto: local run (use --live=on to run them)"),
    (
        "auto",
        {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"},
        True,
        "auto: push to main",
    ),
    (
        "auto",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REF": "refs/pull/7/merge",
        },
        False,
        "auto: pull_request on refs/pull/7/merge",
    ),
    (
        "auto",
        {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/dev"},
        False,
        "auto: push on refs/heads/dev",
    ),
    (
        "auto",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "schedule",
            "GITHUB_REF": "refs/heads/main",
        },
        True,
        "auto: schedule to main",
    ),
]


@pytest.mark.parametrize(("mode", "env", "runs", "why"), LIVE_CASES)
def test_live_decision(mode: str, env: dict[str, str], runs: bool, why: str) -> None:
    assert live_decision(mode, env, "main") == (runs, why)


def test_plugin_constants_match_the_config_module() -> None:
    # The plugin keeps copies so it can be imported before coverage starts (the tier
    # names it shares through shipline.tiers, which is as light as the plugin).
    from shipline import config, errors, pytest_plugin

    assert pytest_plugin.TIERS == config.TIERS
    assert pytest_plugin.LIVE_MODES == config.LIVE_MODES
    assert pytest_plugin.USAGE_EXIT == errors.USAGE_EXIT
