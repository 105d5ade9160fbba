"""`enabled` and `advisory` per check: read from each check's table, and what they do."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from pathlib import Path

import nox.registry
import pytest

import shipline.nox
from shipline import catalogue, config, gates, summary
from shipline.errors import ConfigError


def make(tmp_path: Path, toml: str = "") -> config.Config:
    (tmp_path / "src" / "app").mkdir(parents=True, exist_ok=True)
    return config.parse(tomllib.loads('[project]\nname = "app"\n' + toml), tmp_path)


def test_every_check_is_enabled_and_enforcing_by_default(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    for name in catalogue.NAMES:
        gate = gates.of(cfg, name)
        assert (gate.enabled, gate.advisory) == (True, False), name


def test_each_check_reads_its_own_table(tmp_path: Path) -> None:
    cfg = make(
        tmp_path,
        "[tool.shipline.lint]\nadvisory = true\n"
        "[tool.shipline.type]\nenabled = false\n"
        "[tool.shipline.security]\nadvisory = true\nenabled = true\n"
        "[tool.shipline.tiers.e2e]\nenabled = false\n"
        "[tool.shipline.tiers.integration]\nadvisory = true\n",
    )
    assert gates.of(cfg, "lint") == gates.Gate("lint", "tool.shipline.lint", True, True)
    assert gates.of(cfg, "type") == gates.Gate("type", "tool.shipline.type", False, False)
    assert gates.of(cfg, "security").advisory
    assert gates.of(cfg, "e2e") == gates.Gate("e2e", "tool.shipline.tiers.e2e", False, False)
    assert gates.of(cfg, "integration").advisory
    assert not gates.of(cfg, "unit").advisory


def test_the_security_tier_has_no_switches_of_its_own(tmp_path: Path) -> None:
    # Its tests run inside the security check, which [tool.shipline.security] switches.
    with pytest.raises(ConfigError, match=r"tiers\.security\.advisory: unknown key"):
        make(tmp_path, "[tool.shipline.tiers.security]\nadvisory = true\n")


def test_switches_are_booleans(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make(tmp_path, '[tool.shipline.type]\nadvisory = "yes"\n')
    assert str(caught.value) == 'tool.shipline.type.advisory: expected true or false, got "yes"'


def test_the_lines_say_what_happened_and_how_to_change_it() -> None:
    gate = gates.Gate("type", "tool.shipline.type", True, True)
    assert gate.advisory_line("mypy found type errors") == (
        "advisory: type failed: mypy found type errors (not failing the build; "
        "set advisory = false to enforce in [tool.shipline.type])"
    )
    off = gates.Gate("security", "tool.shipline.security", False, False)
    assert off.disabled_line() == (
        "security: disabled in config ([tool.shipline.security] enabled = false); nothing run"
    )


def failing(fails: set[str], ran: list[str]) -> Callable[[str], None]:
    def run(step: str) -> None:
        ran.append(step)
        if step in fails:
            raise RuntimeError(f"{step} failed")

    return run


def test_enforcing_stops_at_the_first_failure() -> None:
    ran: list[str] = []
    gate = gates.Gate("lint", "tool.shipline.lint", True, False)
    with pytest.raises(RuntimeError, match="check failed"):
        gates.run_steps(gate, ["check", "format"], failing({"check"}, ran))
    assert ran == ["check"]


def test_advisory_runs_every_step_and_returns_the_causes() -> None:
    ran: list[str] = []
    gate = gates.Gate("lint", "tool.shipline.lint", True, True)
    steps = ["check", "format", "isort"]
    causes = gates.run_steps(gate, steps, failing({"check", "isort"}, ran))
    assert ran == steps
    assert causes == ("check failed", "isort failed")
    assert gates.run_steps(gate, steps, failing(set(), [])) == ()


def test_advisory_does_not_swallow_an_interrupt() -> None:
    def interrupted(step: str) -> None:
        raise KeyboardInterrupt

    gate = gates.Gate("lint", "tool.shipline.lint", True, True)
    with pytest.raises(KeyboardInterrupt):
        gates.run_steps(gate, ["check"], interrupted)


def test_the_summary_marks_advisory_and_disabled_checks(tmp_path: Path) -> None:
    cfg = make(
        tmp_path,
        "[tool.shipline.type]\nadvisory = true\n[tool.shipline.security]\nenabled = false\n",
    )
    today = dt.date(2026, 12, 3)
    advisory = summary.markdown(catalogue.get("type"), cfg, "mypy found type errors", today)
    assert advisory.startswith("### ⚠️ shipline `type` (advisory)\n\n")
    assert "Advisory, not failing the build: mypy found type errors" in advisory
    assert summary.markdown(catalogue.get("type"), cfg, None, today).startswith(
        "### ✅ shipline `type` (advisory)\n\nPassed."
    )
    disabled = summary.markdown(catalogue.get("security"), cfg, None, today)
    assert disabled == (
        "### ⏭️ shipline `security`\n\n"
        "Disabled in config (`[tool.shipline.security]` `enabled = false`).\n\n"
    )
    enforcing = summary.markdown(catalogue.get("lint"), cfg, "ruff check found lint errors", today)
    assert enforcing.startswith("### ❌ shipline `lint`\n\nFailed: ruff check found lint errors")


@pytest.fixture
def registry() -> object:
    saved = dict(nox.registry._REGISTRY)
    nox.registry._REGISTRY.clear()
    yield nox.registry._REGISTRY
    nox.registry._REGISTRY.clear()
    nox.registry._REGISTRY.update(saved)


def test_a_disabled_check_stays_registered_without_an_environment(
    registry: dict[str, object], tmp_path: Path
) -> None:
    # Kept registered, so `nox -s type` in an existing workflow passes instead of
    # failing with "session not found"; the backend "none" makes no virtualenv.
    make(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\n[tool.shipline.type]\nenabled = false\n'
    )
    shipline.nox.register(root=tmp_path)
    assert tuple(registry) == catalogue.NAMES
    disabled, enabled = registry["type"], registry["lint"]
    assert disabled.__doc__ == f"disabled: {catalogue.get('type').description}"  # type: ignore[attr-defined]
    assert disabled.venv_backend == "none"  # type: ignore[attr-defined]
    assert enabled.venv_backend != "none"  # type: ignore[attr-defined]
