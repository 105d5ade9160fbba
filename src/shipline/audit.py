"""pip-audit's JSON report judged against the configured ignores.

pip-audit exits 0 and prints "No known vulnerabilities found" when it could not
reach its service and skipped every dependency; reading the report ourselves is
what turns that into a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from shipline.config import AuditIgnore
from shipline.errors import ShiplineError


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]
    description: str

    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


@dataclass(frozen=True)
class Skipped:
    package: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]
    """Vulnerabilities not covered by a valid ignore."""
    ignored: tuple[tuple[Finding, AuditIgnore], ...]
    expired: tuple[AuditIgnore, ...]
    skipped: tuple[Skipped, ...]
    """Dependencies pip-audit could not check (service unreachable, not on the index)."""
    audited: int

    @property
    def ok(self) -> bool:
        return not (self.findings or self.expired or self.skipped)

    def problems(self) -> list[str]:
        """One line per reason to fail, most fundamental first."""
        lines = [expired_message(ignore) for ignore in self.expired]
        if self.skipped:
            first = self.skipped[0]
            total = self.audited + len(self.skipped)
            lines.append(
                f"pip-audit could not audit {len(self.skipped)} of {total} dependencies "
                f"(is the vulnerability service reachable?): {first.package}: {first.reason}"
            )
        for finding in self.findings:
            fix = f"; fixed in {', '.join(finding.fix_versions)}" if finding.fix_versions else ""
            lines.append(f"{finding.package} {finding.version}: {finding.id}{fix}")
        return lines


def expired(ignores: Iterable[AuditIgnore], today: dt.date) -> tuple[AuditIgnore, ...]:
    return tuple(i for i in ignores if i.until is not None and i.until < today)


def expired_message(ignore: AuditIgnore) -> str:
    return (
        f"pip-audit ignore {ignore.id} expired on {ignore.until} ({ignore.reason}); "
        "re-assess it, then move `until` forward or remove the ignore"
    )


def parse_report(data: object) -> tuple[list[Finding], list[Skipped], int]:
    """Findings, skipped dependencies and the number audited, from pip-audit's JSON format."""
    dependencies = data.get("dependencies") if isinstance(data, Mapping) else None
    if not isinstance(dependencies, list):
        raise ShiplineError("pip-audit report has no 'dependencies' list; is it pip-audit JSON?")
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    audited = 0
    for dep in dependencies:
        name = str(dep.get("name", "?"))
        if "skip_reason" in dep:
            skipped.append(Skipped(name, str(dep["skip_reason"])))
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            findings.append(
                Finding(
                    package=name,
                    version=str(dep.get("version", "?")),
                    id=str(vuln["id"]),
                    aliases=tuple(str(a) for a in vuln.get("aliases", [])),
                    fix_versions=tuple(str(v) for v in vuln.get("fix_versions", [])),
                    description=str(vuln.get("description", "")),
                )
            )
    return findings, skipped, audited


def judge(data: object, ignores: Iterable[AuditIgnore], today: dt.date) -> Verdict:
    findings, skipped, audited = parse_report(data)
    ignores = tuple(ignores)
    lapsed = expired(ignores, today)
    valid = {i.id: i for i in ignores if i not in lapsed}
    open_findings: list[Finding] = []
    ignored: list[tuple[Finding, AuditIgnore]] = []
    for finding in findings:
        match = next((valid[i] for i in finding.ids() if i in valid), None)
        if match is None:
            open_findings.append(finding)
        else:
            ignored.append((finding, match))
    return Verdict(tuple(open_findings), tuple(ignored), lapsed, tuple(skipped), audited)


def judge_file(path: Path, ignores: Iterable[AuditIgnore], today: dt.date) -> Verdict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ShiplineError(
            f"pip-audit wrote no report to {path}; it failed before auditing "
            "(see its output above: is the vulnerability service reachable?)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ShiplineError(f"pip-audit report {path} is not JSON: {exc}") from None
    return judge(data, ignores, today)


def installed_requirements() -> list[str]:
    """`name==version` for every distribution in this environment that came from an index.

    Editable and local installs (the project itself, shipline from a checkout) are
    left out: no vulnerability service knows them, and pip-audit would skip them.
    """
    from importlib import metadata

    pins: dict[str, str] = {}
    for dist in metadata.distributions():
        direct = dist.read_text("direct_url.json")
        if direct:
            info = json.loads(direct)
            if info.get("dir_info", {}).get("editable") or str(info.get("url", "")).startswith(
                "file:"
            ):
                continue
        name = dist.metadata["Name"]
        if name:
            pins[name.lower()] = f"{name}=={dist.version}"
    return [pins[key] for key in sorted(pins)]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "freeze":
        print("usage: python -m shipline.audit freeze OUTPUT", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{line}\n" for line in installed_requirements()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
