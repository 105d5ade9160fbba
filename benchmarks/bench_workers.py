"""Benchmark `workers = "auto"` on a one-test tier: shipline's choice against `-n auto`.

Usage: python benchmarks/bench_workers.py [--rounds N] [--json PATH]

The sample project of the session tests (tests/support/sample.py) with
`workers = "auto"`: its smoke tier is one file with one test, so shipline runs it
without xdist. The other variant is the same session told `-n auto` after `--`
(pytest takes the later flag), which is what `workers = "auto"` meant before.
Both are `nox -R -s smoke`: the environment exists, so only the session and the
test run are timed. The variants alternate, and swap order each round, so
background load falls on both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.run import clean_env  # noqa: E402
from support.sample import make_project  # noqa: E402

VARIANTS = {"shipline's choice (-n 0)": (), "-n auto": ("--", "-n", "auto")}


def session(project: Path, *extra: str) -> float:
    argv = [sys.executable, "-m", "nox", "-R", "-s", "smoke", *extra]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=project, env=clean_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed:\n{done.stdout[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "app", workers='"auto"')
        first = subprocess.run(
            [sys.executable, "-m", "nox", "-s", "smoke"],
            cwd=project,
            env=clean_env(),
            capture_output=True,
            check=False,
        )
        if first.returncode != 0:
            raise SystemExit("bench: the untimed first run failed")
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for round_ in range(args.rounds):
            order = list(VARIANTS) if round_ % 2 == 0 else list(reversed(VARIANTS))
            for name in order:
                times[name].append(session(project, *VARIANTS[name]))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name}: median {medians[name]:.2f} s ({shown})")
    if args.json:
        args.json.write_text(json.dumps({"rounds": args.rounds, "seconds": times}, indent=2))


if __name__ == "__main__":
    main()
