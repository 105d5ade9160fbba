"""The tier names and report paths that the catalogue writes and the readers read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from shipline import tiers


def test_every_tier_but_security_has_a_session() -> None:
    assert tiers.TIERS == ("smoke", "unit", "integration", "database", "e2e", "security")
    assert tiers.TIERS[:-1] == tiers.SESSION_TIERS
    assert tiers.DEFAULT_TIER in tiers.SESSION_TIERS
    assert tiers.OPTIONAL_IF_ABSENT == ("integration", "database", "e2e", "security")


def test_report_paths_under_the_reports_directory() -> None:
    reports = Path("out")
    assert tiers.TierReports.of(reports, "e2e").all() == (
        Path("out/e2e/junit.xml"),
        Path("out/e2e/coverage.xml"),
    )
    security = tiers.SecurityReports.of(reports)
    assert security.pip_audit == Path("out/security/pip-audit.json")
    assert tiers.sarif(reports, "security") == security.bandit_sarif
    assert tiers.sarif(reports, "lint") == tiers.lint_sarif(reports) == Path("out/lint/ruff.sarif")
    assert tiers.sarif(reports, "type") is None


def test_the_module_loads_only_the_standard_library() -> None:
    """The pytest plugin imports it in every test environment, before coverage starts."""
    code = (
        "import json, sys; before = set(sys.modules); import shipline.tiers; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    top = {name.split(".")[0] for name in json.loads(loaded)}
    assert top - set(sys.stdlib_module_names) == {"shipline"}
