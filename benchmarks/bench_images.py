"""Benchmark `invoke build`: cold build, code-only rebuild, and the image's size.

Usage: python benchmarks/bench_images.py [--rounds N] [--json PATH]

Builds the same sample project the image tests use (tests/support/sample.py: a
two-stage Dockerfile on the local base image, dependencies installed before the
code is copied). Each round: remove the sample's images and their layers (the
base image stays; pip's downloads inside the build are not cached: the
Dockerfile uses --no-cache-dir), build cold, change one source line, rebuild.
Medians are over the rounds; the rebuild/cold ratio is taken per round.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.sample import add_image, git, make_project  # noqa: E402
from support.sandbox import BASE_IMAGE  # noqa: E402

NAME = "shipline-bench/sample-app"


def sh(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


def build(project: Path) -> dict[str, object]:
    start = time.perf_counter()
    out = sh(sys.executable, "-m", "invoke", "build", "--json", cwd=project)
    wall = time.perf_counter() - start
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def clean() -> None:
    refs = sh("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", NAME).split()
    if refs:
        sh("docker", "rmi", "-f", *refs)
    sh("docker", "image", "prune", "-f")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sh("docker", "image", "inspect", BASE_IMAGE)
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        project = add_image(make_project(Path(tmp) / "app"), NAME)
        core = project / "src" / "sample_app" / "core.py"
        for round_ in range(args.rounds):
            clean()
            cold = build(project)
            core.write_text(core.read_text() + f"\n# change {round_}\n")
            git(project, "commit", "-qam", f"change {round_}")
            warm = build(project)
            rows.append(
                {
                    "cold_s": float(cold["wall"]),  # type: ignore[arg-type]
                    "rebuild_s": float(warm["wall"]),  # type: ignore[arg-type]
                    "ratio": float(warm["wall"]) / float(cold["wall"]),  # type: ignore[arg-type]
                    "size_mb": int(warm["size"]) / 1e6,  # type: ignore[call-overload]
                    "cached_steps": float(warm["cached_steps"]),  # type: ignore[arg-type]
                }
            )
            print(
                f"round {round_ + 1}: cold {rows[-1]['cold_s']:.2f}s, "
                f"code-only rebuild {rows[-1]['rebuild_s']:.2f}s, "
                f"{rows[-1]['size_mb']:.1f} MB",
                flush=True,
            )
        clean()
    base_mb = int(sh("docker", "image", "inspect", "-f", "{{.Size}}", BASE_IMAGE)) / 1e6
    summary = {
        "cold_median_s": statistics.median(r["cold_s"] for r in rows),
        "rebuild_median_s": statistics.median(r["rebuild_s"] for r in rows),
        "rebuild_over_cold_median": statistics.median(r["ratio"] for r in rows),
        "image_mb": rows[-1]["size_mb"],
        "base_image_mb": base_mb,
        "rounds": rows,
        "machine": {"python": platform.python_version(), "cores": __import__("os").cpu_count()},
    }
    print(
        f"cold build median {summary['cold_median_s']:.2f}s; code-only rebuild median "
        f"{summary['rebuild_median_s']:.2f}s ({summary['rebuild_over_cold_median']:.2f} of cold, "
        f"per round); image {summary['image_mb']:.1f} MB on a {base_mb:.1f} MB base "
        f"(target <= 150 MB: {'met' if summary['image_mb'] <= 150 else 'NOT met'})"
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
