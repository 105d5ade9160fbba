"""Smoke checks against a deployed service: health, auth, version (run after every deploy)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from shipline.config import SmokeConfig


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float


def _attempt(check: Callable[[], tuple[bool, str]], retries: int, pause: float) -> tuple[bool, str]:
    ok, detail = False, ""
    for attempt in range(retries + 1):
        try:
            ok, detail = check()
        except httpx.HTTPError as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        if ok:
            return ok, detail
        if attempt < retries:
            time.sleep(pause * (2**attempt))
    return ok, detail


def run_checks(
    url: str, cfg: SmokeConfig, version: str | None, pause: float = 0.5
) -> list[CheckResult]:
    """Each check with its own timeout and retries; all run, so the table is complete.

    One client for all of them: its connection pool and TLS context are made once (a
    deploy runs these on every host, and a fresh client costs more than the request)."""
    with httpx.Client(timeout=cfg.timeout) as client:
        return _run(client, url.rstrip("/"), cfg=cfg, version=version, pause=pause)


def _run(
    client: httpx.Client, base: str, *, cfg: SmokeConfig, version: str | None, pause: float
) -> list[CheckResult]:
    body: dict[str, Any] = {}
    results: list[CheckResult] = []

    def health() -> tuple[bool, str]:
        response = client.get(base + cfg.health_path)
        if response.status_code != 200:
            return False, f"HTTP {response.status_code}"
        try:
            data = response.json()
        except ValueError:
            return False, "not JSON"
        body.clear()
        body.update(data if isinstance(data, dict) else {})
        if body.get("status") != "ok":
            return False, f"status {body.get('status')!r}"
        components = body.get("components", {})
        down = (
            [k for k, v in components.items() if v is not True]
            if isinstance(components, dict)
            else ["components"]
        )
        if down:
            return False, f"components down: {', '.join(down)}"
        return True, f"status ok; components {', '.join(components) or 'none'} true"

    def unauthorized(path: str) -> Callable[[], tuple[bool, str]]:
        def check() -> tuple[bool, str]:
            code = client.get(base + path).status_code
            return code == 401, f"HTTP {code}" + ("" if code == 401 else ", expected 401")

        return check

    def reports_version() -> tuple[bool, str]:
        if "version" in body:  # the health check's own answer, when it passed
            found = body.get("version")
            if found == version:
                return True, f"reports {found!r}, deployed {version!r}"
        response = client.get(base + cfg.health_path)
        try:
            data = response.json() if response.status_code == 200 else {}
        except ValueError:
            data = {}
        found = data.get("version") if isinstance(data, dict) else None
        return found == version, f"reports {found!r}, deployed {version!r}"

    checks: list[tuple[str, Callable[[], tuple[bool, str]]]] = [(f"GET {cfg.health_path}", health)]
    checks += [(f"GET {path} without a token", unauthorized(path)) for path in cfg.protected_paths]
    if cfg.check_version and version:
        checks.append(("version", reports_version))
    for name, check in checks:
        start = time.perf_counter()
        ok, detail = _attempt(check, cfg.retries, pause)
        results.append(CheckResult(name, ok, detail, time.perf_counter() - start))
    return results


def failures(results: list[CheckResult]) -> str:
    """The failed checks as one clause ("name: detail; ..."), empty when all passed."""
    return "; ".join(f"{r.name}: {r.detail}" for r in results if not r.ok)


def table(url: str, results: list[CheckResult]) -> Any:
    from rich.table import Table

    view = Table(title=f"smoke: {url}")
    for column in ("check", "result", "detail", "seconds"):
        view.add_column(column)
    for r in results:
        view.add_row(r.name, "[green]pass" if r.ok else "[red]FAIL", r.detail, f"{r.seconds:.2f}")
    return view
