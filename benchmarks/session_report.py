"""What the session benchmark reports: one case's result, and its tables.

Apart from the measuring (bench_sessions.py) so each file stays readable.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CaseResult:
    case: str
    description: str
    metric: str
    """`overhead_s` (first minus second median) or `speedup` (second over first median)."""
    value: float
    paired: float
    """The same comparison made within each round, then the median taken: less noisy."""
    cpu: float
    """The same comparison of median CPU seconds (user + system, all processes)."""
    target: str
    met: bool
    variants: list[dict[str, Any]]
    warmup_phases: dict[str, list[dict[str, Any]]]
    notes: list[str] = field(default_factory=list)


def rows(results: Sequence[CaseResult]) -> list[list[str]]:
    table = []
    for result in results:
        if result.metric == "overhead_s":
            verdict = (
                f"{result.value:+.3f} s overhead "
                f"(paired {result.paired:+.3f} s; CPU {result.cpu:+.3f} s)"
            )
        else:
            verdict = (
                f"{result.value:.2f}x faster with uv "
                f"(paired {result.paired:.2f}x; CPU {result.cpu:.2f}x)"
            )
        for index, variant in enumerate(result.variants):
            first = index == 0
            table.append(
                [
                    result.case if first else "",
                    variant["label"],
                    f"{variant['median_s']:.3f}",
                    f"{variant['min_s']:.3f}",
                    f"{variant['max_s']:.3f}",
                    f"{variant['cpu_median_s']:.3f}",
                    verdict if first else "",
                    result.target if first else "",
                    ("yes" if result.met else "NO") if first else "",
                ]
            )
    return table


HEADERS = [
    "case", "variant", "median s", "min s", "max s", "CPU median s", "overhead / ratio", "target",
    "met",
]  # fmt: skip


def print_table(results: Sequence[CaseResult]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [HEADERS, *rows(results)]) for i in range(len(HEADERS))]
        for row in [HEADERS, *rows(results)]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        return
    table = Table(title="shipline session benchmark (medians of interleaved rounds)")
    for header in HEADERS:
        table.add_column(header, justify="right" if header.endswith(" s") else "left")
    for row in rows(results):
        table.add_row(*row)
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def markdown_table(results: Sequence[CaseResult]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    return "\n".join(lines) + "\n"


def phase_report(results: Sequence[CaseResult]) -> str:
    out = []
    for result in results:
        for label, phases in result.warmup_phases.items():
            out.append(f"{result.case} warm-up, {label}:")
            out += [f"  {p['seconds']:7.3f}s  {p['phase'][:110]}" for p in phases]
    return "\n".join(out)
