"""Whether a check gates the build: enabled or not, advisory or enforcing.

A project adopting shipline may never have run mypy or bandit, or may have a
flaky tier it is still fixing; without these it gets red sessions with no way
out but editing generated files. The switches are read from the check's own
table (`enabled`, `advisory`; declared once in `shipline.config.options`), and
this module says what they mean: the messages the sessions print and the step
loop that keeps going, and passes, when the check is advisory. No nox here, so
all of it is tested as data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from shipline.config import Config, LintConfig, SecurityConfig, TypeConfig
from shipline.tiers import SESSION_TIERS

Step = TypeVar("Step")

ENFORCE = "set advisory = false to enforce"


@dataclass(frozen=True)
class Gate:
    check: str
    table: str
    """The table the switches were read from, as the user writes it."""
    enabled: bool
    advisory: bool

    def disabled_line(self) -> str:
        """What a disabled session prints, its one line of output."""
        return f"{self.check}: disabled in config ([{self.table}] enabled = false); nothing run"

    def advisory_line(self, cause: str) -> str:
        """What an advisory session prints for each failure it lets pass."""
        return (
            f"advisory: {self.check} failed: {cause} "
            f"(not failing the build; {ENFORCE} in [{self.table}])"
        )


def of(config: Config, check: str) -> Gate:
    """The gate of a catalogue check, from its table (a tier session's from its tier's)."""
    if check in SESSION_TIERS:
        tier = config.tier(check)
        return Gate(check, f"tool.shipline.tiers.{check}", tier.enabled, tier.advisory)
    if check == "coverage":  # gates a tier's total with that tier's own gate: no switches
        return Gate(check, "tool.shipline.tests", enabled=True, advisory=False)
    sections: dict[str, LintConfig | TypeConfig | SecurityConfig] = {
        "lint": config.lint,
        "type": config.type,
        "security": config.security,
    }
    section = sections[check]
    return Gate(check, f"tool.shipline.{check}", section.enabled, section.advisory)


def run_steps(gate: Gate, steps: Sequence[Step], run: Callable[[Step], None]) -> tuple[str, ...]:
    """Run the steps; enforcing, the first failure propagates and ends the session.

    Advisory, every step runs (a lint failure must not hide the format check's),
    and each failure's cause is returned instead of raised. Only `Exception`s are
    caught: nox ends a session by raising one, an interrupt must still stop it.
    """
    causes: list[str] = []
    for step in steps:
        if not gate.advisory:
            run(step)
            continue
        try:
            run(step)
        except Exception as exc:  # advisory: any failure is reported, not raised
            causes.append(str(exc) or type(exc).__name__)
    return tuple(causes)
