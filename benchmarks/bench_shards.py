"""Benchmark sharding the unit tier: one job against 4 shards, and the cost of splitting.

Usage: python benchmarks/bench_shards.py [--rounds N] [--modules M] [--json PATH]

The session benchmark's sample project (benchmarks/session_sample.py) scaled to
200 test modules, 2,000 tests, each given a small cost: an autouse fixture that
sleeps 0.5-10 ms (varied by module, about 5 ms on average), standing in for the
I/O a real unit test waits on. `workers = 0`, so each job is one pytest process
and the figures are sharding's alone, not xdist's.

First, untimed: the environment is made and `nox -s unit -- --store-durations`
records `.durations/unit.json`, as a project commits it. Then each round times
`nox -R -s unit` (the single job) and `nox -R -s unit -- --shard K/4` for
K = 1..4, then `nox -R -s coverage -- unit` (the combining job), the order of
single and shards swapped every round.

The shards run one after another, each timed on its own: in CI each shard is a
job on its own runner, and this machine has 2 cores, so 4 shards side by side
here would measure 4 processes sharing 2 cores, not 4 runners. The makespan
(the CI wall time of the sharded tier) is the longest shard of the round; the
overhead is the shards' sum (the runner time billed) against the single job.
One concurrent run of the 4 shards per round is also timed, for the record.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from session_sample import make_project  # noqa: E402
from support.run import clean_env  # noqa: E402

SHARDS = 4
COST = '''

@pytest.fixture(autouse=True)
def _cost() -> None:
    """What a unit test waits on: a few milliseconds."""
    time.sleep({seconds})
'''


def write_sample(root: Path, modules: int) -> int:
    """The sample, each test module given its per-test cost; returns the test count."""
    count = make_project(root, workers="0", dist="loadfile", modules=modules)
    for k, path in enumerate(sorted((root / "tests").glob("test_generated_*.py"))):
        seconds = 0.0005 + (k * 37 % 20) * 0.0005
        text = path.read_text().replace("import pytest\n", "import time\n\nimport pytest\n", 1)
        path.write_text(text + COST.format(seconds=seconds))
    return count


def nox(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nox", *args],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> None:
    output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, process.args))} failed:\n{output[-3000:]}")


def timed(project: Path, *args: str) -> float:
    start = time.perf_counter()
    finish(nox(project, *args))
    return time.perf_counter() - start


def shard_args(index: int) -> tuple[str, ...]:
    return ("-R", "-s", "unit", "--", "--shard", f"{index}/{SHARDS}")


def side_by_side(project: Path) -> float:
    """The 4 shards started together on this machine: wall time to the last one."""
    start = time.perf_counter()
    processes = [nox(project, *shard_args(k)) for k in range(1, SHARDS + 1)]
    for process in processes:
        finish(process)
    return time.perf_counter() - start


@dataclass(frozen=True)
class Round:
    single: float
    shards: tuple[float, ...]
    combine: float
    side_by_side: float

    @property
    def makespan(self) -> float:
        return max(self.shards)


def one_round(project: Path, round_: int) -> Round:
    first = round_ % 2 == 0
    single = timed(project, "-R", "-s", "unit") if first else 0.0
    shards = tuple(timed(project, *shard_args(k)) for k in range(1, SHARDS + 1))
    combine = timed(project, "-R", "-s", "coverage", "--", "unit")
    if not first:
        single = timed(project, "-R", "-s", "unit")
    return Round(single, shards, combine, side_by_side(project))


def summarize(rounds: list[Round]) -> dict[str, float]:
    """Medians over the rounds; the ratios are taken round by round, then their median."""
    return {
        "single_s": statistics.median(r.single for r in rounds),
        "makespan_s": statistics.median(r.makespan for r in rounds),
        "sum_s": statistics.median(sum(r.shards) for r in rounds),
        "combine_s": statistics.median(r.combine for r in rounds),
        "side_by_side_s": statistics.median(r.side_by_side for r in rounds),
        "makespan_ratio": statistics.median(r.makespan / r.single for r in rounds),
        "overhead_ratio": statistics.median(sum(r.shards) / r.single for r in rounds),
        "with_combine_ratio": statistics.median(
            (r.makespan + r.combine) / r.single for r in rounds
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modules", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "app"
        tests = write_sample(project, args.modules)
        finish(nox(project, "-s", "unit", "--", "--store-durations"))
        for k in range(1, SHARDS + 1):  # untimed: every process's caches warm
            finish(nox(project, *shard_args(k)))
        finish(nox(project, "-s", "coverage", "--", "unit"))
        durations = json.loads((project / ".durations" / "unit.json").read_text())
        rounds = [one_round(project, r) for r in range(args.rounds)]
    figures = summarize(rounds)
    print(f"{tests} tests, {len(durations)} recorded durations, {args.rounds} rounds")
    for key, value in figures.items():
        print(f"{key}: {value:.2f}")
    if args.json:
        result = {
            "tests": tests,
            "shards": SHARDS,
            "cores": os.cpu_count(),
            "rounds": [asdict(r) for r in rounds],
            "medians": figures,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
