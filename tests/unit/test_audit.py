from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from shipline import audit
from shipline.config import AuditIgnore
from shipline.errors import ShiplineError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pip-audit"
TODAY = dt.date(2026, 11, 21)


def load(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((FIXTURES / name).read_text())
    return data


def test_recorded_findings_are_reported_with_their_fix() -> None:
    verdict = audit.judge(load("vulnerable.json"), (), TODAY)
    assert not verdict.ok
    assert verdict.audited == 3
    assert [(f.package, f.id) for f in verdict.findings] == [
        ("requests", "PYSEC-2023-74"),
        ("pyyaml", "PYSEC-2021-142"),
    ]
    assert verdict.problems() == [
        "requests 2.25.1: PYSEC-2023-74; fixed in 2.31.0",
        "pyyaml 5.3.1: PYSEC-2021-142; fixed in 5.4",
    ]


def test_an_ignore_matches_by_alias_until_it_expires() -> None:
    ignore = AuditIgnore("CVE-2023-32681", "no proxies in prod", dt.date(2027, 1, 31))
    verdict = audit.judge(load("vulnerable.json"), [ignore], TODAY)
    assert [f.id for f in verdict.findings] == ["PYSEC-2021-142"]
    assert [(f.id, i.id) for f, i in verdict.ignored] == [("PYSEC-2023-74", "CVE-2023-32681")]

    later = audit.judge(load("vulnerable.json"), [ignore], dt.date(2027, 2, 1))
    assert [f.id for f in later.findings] == ["PYSEC-2023-74", "PYSEC-2021-142"]
    assert later.problems()[0] == (
        "pip-audit ignore CVE-2023-32681 expired on 2027-01-31 (no proxies in prod); "
        "re-assess it, then move `until` forward or remove the ignore"
    )


def test_ignoring_everything_passes() -> None:
    ignores = [
        AuditIgnore("PYSEC-2023-74", "r", None),
        AuditIgnore("GHSA-8q59-q68h-6hv4", "r", dt.date(2026, 11, 21)),
    ]
    verdict = audit.judge(load("vulnerable.json"), ignores, TODAY)
    assert verdict.ok
    assert verdict.problems() == []


def test_unreachable_service_is_a_failure_not_a_pass() -> None:
    # Recorded from a real run here: pip-audit exits 0 and says "No known
    # vulnerabilities found" while skipping every dependency.
    verdict = audit.judge(load("unreachable.json"), (), TODAY)
    assert not verdict.ok
    assert verdict.audited == 0
    assert verdict.problems() == [
        "pip-audit could not audit 2 of 2 dependencies (is the vulnerability service "
        "reachable?): requests: Dependency not found on PyPI and could not be audited: "
        "requests (2.25.1)"
    ]


def test_missing_or_broken_report(tmp_path: Path) -> None:
    with pytest.raises(ShiplineError, match="pip-audit wrote no report"):
        audit.judge_file(tmp_path / "none.json", (), TODAY)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ShiplineError, match="is not JSON"):
        audit.judge_file(tmp_path / "bad.json", (), TODAY)
    (tmp_path / "other.json").write_text("[]")
    with pytest.raises(ShiplineError, match="no 'dependencies' list"):
        audit.judge_file(tmp_path / "other.json", (), TODAY)


def test_freeze_lists_index_installs_only(tmp_path: Path) -> None:
    pins = audit.installed_requirements()
    names = {p.split("==")[0].lower() for p in pins}
    assert "pytest" in names
    assert "shipline" not in names  # installed editable from this checkout
    assert all("==" in p for p in pins)
    out = tmp_path / "sub" / "req.txt"
    assert audit.main(["freeze", str(out)]) == 0
    assert out.read_text().splitlines() == pins
    assert audit.main(["thaw"]) == 2
