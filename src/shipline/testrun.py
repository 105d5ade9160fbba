"""Two choices in a tier's pytest command line: its coverage gate and its xdist workers.

The gate: a project's own `--cov-fail-under` in `addopts` (or coverage's
`fail_under`, which pytest-cov applies too) would gate every tier, so a smoke
tier that covers little failed on the unit tier's number. Each tier run gets
its own `--cov-fail-under` after the project's addopts (the later flag wins):
the tier's gate, or 0 on a tier without one.

The workers: every xdist worker imports the app and collects the whole suite
before it runs a test, so `-n auto` on a tier of a few files costs more than
it can share (a one-test smoke tier: 5.0 s with `-n auto` against 1.9 s with
`-n 0` on two loaded cores, see benchmarks/README.md). With `workers = "auto"` a tier with fewer
than `SMALL_TIER_FILES` test files runs without xdist; the count is of files,
read from disk, so deciding costs no collection.

The shard: `--shard K/N` after `--` runs the K-th of N groups of the tier's
tests, split by pytest-split from the durations committed in `.durations/`,
and `--store-durations` refreshes that file. Both are shipline's words, taken
out of the arguments here, so pytest never sees a flag it would misread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipline.config import Config, Tier
from shipline.config.projectgate import find as project_gate
from shipline.errors import UsageError

SHARD_FLAG = "--shard"
STORE_FLAG = "--store-durations"

SMALL_TIER_FILES = 8
"""Below this many test files a tier runs without xdist when `workers = "auto"`."""


def gate_args(config: Config, tier: Tier) -> tuple[str, ...]:
    """`--cov-fail-under` for the tier whenever coverage is measured or the project gates it."""
    measured = config.package is not None or project_gate(config.root, config.raw_pyproject)
    if not measured:
        return ()
    gate = tier.coverage_fail_under
    return (f"--cov-fail-under={0 if gate is None else gate:g}",)


def _test_files(config: Config) -> Iterator[Path]:
    seen: set[Path] = set()
    for base in config.tests.paths:
        directory = config.root / base
        if not directory.is_dir():
            continue
        for pattern in ("test_*.py", "*_test.py"):
            for path in directory.rglob(pattern):
                if path not in seen and ".nox" not in path.parts:
                    seen.add(path)
                    yield path


def _marked(path: Path, marker: str) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(rf"\bmark\.{re.escape(marker)}\b", text) is not None


def tier_files(config: Config, tier: Tier) -> int:
    """How many test files hold tests of the tier: under its paths, marked for it, or
    (the default tier) under no other tier's paths. An over-count errs towards xdist."""
    own = [config.root / p for p in tier.paths]
    others = [
        config.root / p for t in config.tiers.values() if t.name != tier.name for p in t.paths
    ]
    default = tier.name == config.tests.default_tier

    def counts(path: Path) -> bool:
        if any(path.is_relative_to(p) for p in own):
            return True
        if default and not any(path.is_relative_to(p) for p in others):
            return True
        return _marked(path, tier.marker)

    return sum(1 for path in _test_files(config) if counts(path))


def workers(config: Config, tier: Tier) -> str:
    """pytest-xdist's `-n` for the tier ("0": no xdist): as configured, unless "auto"."""
    configured = config.tests.workers
    if configured != "auto":
        return configured
    return "0" if tier_files(config, tier) < SMALL_TIER_FILES else "auto"


@dataclass(frozen=True)
class Shard:
    """One of N groups of a tier's tests (`--shard K/N`, K counted from 1)."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` with 1 <= K <= N; anything else is a one-line usage error."""
        index, slash, total = text.partition("/")
        if slash and index.isdigit() and total.isdigit() and 1 <= int(index) <= int(total):
            return cls(int(index), int(total))
        raise UsageError(
            f"{SHARD_FLAG} {text}: expected K/N with 1 <= K <= N (e.g. {SHARD_FLAG} 2/4)"
        )


@dataclass(frozen=True)
class TierArgs:
    """A tier session's arguments after `--`: shipline's own, and the rest for pytest."""

    shard: Shard | None = None
    store_durations: bool = False
    pytest: tuple[str, ...] = ()


def tier_args(posargs: Sequence[str]) -> TierArgs:
    """Take `--shard K/N` (or `--shard=K/N`) and `--store-durations` out of the arguments."""
    shard: Shard | None = None
    store = False
    rest: list[str] = []
    args = iter(posargs)
    for arg in args:
        if arg == SHARD_FLAG:
            value = next(args, None)
            if value is None:
                raise UsageError(f"{SHARD_FLAG}: expected K/N after it (e.g. {SHARD_FLAG} 2/4)")
            shard = Shard.parse(value)
        elif arg.startswith(f"{SHARD_FLAG}="):
            shard = Shard.parse(arg.partition("=")[2])
        elif arg == STORE_FLAG:
            store = True
        else:
            rest.append(arg)
    if shard is not None and store:
        raise UsageError(f"{STORE_FLAG} times the whole tier in one run; drop {SHARD_FLAG} {shard}")
    return TierArgs(shard=shard, store_durations=store, pytest=tuple(rest))
