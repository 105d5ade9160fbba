from __future__ import annotations

import datetime as dt
import json
import shutil
import tomllib
from pathlib import Path

import pytest

from shipline import catalogue, config, summary

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pip-audit"
TODAY = dt.date(2026, 11, 21)

BANDIT = {
    "results": [
        {
            "test_id": "B602",
            "issue_severity": "HIGH",
            "issue_confidence": "HIGH",
            "filename": "src/app/run.py",
            "line_number": 7,
            "issue_text": "subprocess call with shell=True identified, security issue.",
        }
    ]
}


@pytest.fixture
def cfg(tmp_path: Path) -> config.Config:
    (tmp_path / "src" / "app").mkdir(parents=True)
    data = tomllib.loads(
        '[project]\nname = "app"\n[tool.shipline.security]\n'
        'audit-ignore = [{ id = "CVE-2020-14343", reason = "no untrusted YAML",'
        " until = 2027-01-01 }]\n"
    )
    return config.parse(data, tmp_path)


def write(cfg: config.Config, *parts: str, text: str) -> None:
    path = cfg.root / cfg.reports(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_tier_summary_has_counts_coverage_gate_and_slowest(cfg: config.Config) -> None:
    write(
        cfg,
        "unit",
        "junit.xml",
        text='<testsuites><testsuite tests="3" failures="1" errors="0" skipped="1" time="1.5">'
        '<testcase classname="tests.test_a" name="test_slow" time="1.2"/>'
        '<testcase classname="tests.test_a" name="test_fast" time="0.1"/>'
        "</testsuite></testsuites>",
    )
    write(cfg, "unit", "coverage.xml", text='<coverage lines-valid="4" lines-covered="3"/>')
    text = summary.markdown(catalogue.get("unit"), cfg, "1 of 3 unit tests failed", TODAY)
    assert text.splitlines()[:3] == [
        "### ❌ shipline `unit`",
        "",
        "Failed: 1 of 3 unit tests failed",
    ]
    assert "| unit | 1 | 1 | 0 | 1 | 1.5 | 75.0% (gate 80%) |" in text
    assert "- `tests.test_a::test_slow`: 1.20s" in text


def test_tier_without_reports_says_so(cfg: config.Config) -> None:
    text = summary.markdown(catalogue.get("smoke"), cfg, None, TODAY)
    assert "### ✅ shipline `smoke`" in text
    assert "No test report for tier `smoke`." in text


def test_security_summary_tables_bandit_and_audit(cfg: config.Config) -> None:
    write(cfg, "security", "bandit.json", text=json.dumps(BANDIT))
    shutil.copy(FIXTURES / "vulnerable.json", cfg.root / cfg.reports("security", "pip-audit.json"))
    text = summary.markdown(catalogue.get("security"), cfg, "bandit found issues", TODAY)
    assert (
        "| B602 | high | high | `src/app/run.py:7` | subprocess call with shell=True "
        "identified, security issue. |"
    ) in text
    assert "pip-audit: 3 dependencies audited." in text
    assert "| requests | 2.25.1 | PYSEC-2023-74 | 2.31.0 |" in text
    assert "| pyyaml |" not in text  # ignored, with its reason shown instead
    assert "- ignored PYSEC-2021-142 (pyyaml): no untrusted YAML" in text


def test_security_summary_when_the_audit_did_not_run(cfg: config.Config) -> None:
    text = summary.markdown(catalogue.get("security"), cfg, "x", TODAY)
    assert "bandit: no findings." in text
    assert "pip-audit: pip-audit wrote no report" in text


def test_lint_summary_is_just_the_result(cfg: config.Config) -> None:
    assert summary.markdown(catalogue.get("lint"), cfg, None, TODAY) == (
        "### ✅ shipline `lint`\n\nPassed.\n\n"
    )


def test_ci_outputs_read_the_reports(cfg: config.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipline import actions, ci

    by_name = {a.name: a for a in actions.check_actions()}
    write(cfg, "unit", "coverage.xml", text='<coverage lines-valid="8" lines-covered="6"/>')
    outputs = ci.outputs(by_name["test"], "unit", cfg)
    assert outputs["coverage-percent"] == "75.00"
    assert outputs["junit"] == str(cfg.root / "reports/unit/junit.xml")
    monkeypatch.delenv("SHIPLINE_SARIF", raising=False)
    assert ci.outputs(by_name["lint"], "lint", cfg) == {}
    monkeypatch.setenv("SHIPLINE_SARIF", "true")
    assert ci.outputs(by_name["security"], "security", cfg) == {
        "sarif": str(cfg.root / "reports/security/bandit.sarif")
    }
