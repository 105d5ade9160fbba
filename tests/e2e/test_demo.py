"""The main job, end to end: the demo runs the three-layer pipeline (checks and unit
tests, deploy, live integration tests) on the example service.

Real everything: nox sessions in a fresh copy of the example, the Docker Engine,
a registry, an SSH host and nginx; the second release is deployed under load.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from support.run import run

from demo import pipeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "service"
STAGES = list(pipeline.STAGES)


def demo(example: Path, work: Path) -> tuple[int, str, dict[str, object]]:
    result = run(
        [sys.executable, "-m", "demo", str(example), "--work", str(work)],
        cwd=ROOT,
        env={"COLUMNS": "160"},
        timeout=900,
    )
    summary = json.loads((work / "summary.json").read_text())
    return result.code, result.output, summary


def leftover_containers() -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "name=shipline-demo"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def test_the_demo_checks_builds_pushes_deploys_and_ships_a_second_release_under_load(
    tmp_path: Path,
) -> None:
    code, output, summary = demo(EXAMPLE, tmp_path / "work")
    assert code == 0, output[-6000:]
    stages = summary["stages"]
    assert isinstance(stages, list)
    assert [s["name"] for s in stages] == STAGES
    for stage in stages:
        # pip-audit cannot reach its service from a machine without internet:
        # the demo says "not audited" (a warning), never "passed".
        allowed = {"passed", "warning"} if stage["name"] == "security" else {"passed"}
        assert stage["result"] in allowed, stage
    load = summary["load"]
    assert isinstance(load, dict)
    assert load["failed"] == 0, load["failures"]
    assert load["sent"] >= 50
    assert set(load["versions"]) == {"1.0.0", "1.1.0"}
    live = next(s for s in stages if s["name"] == "live integration tests")
    assert " passed" in live["detail"]
    assert "failed" not in live["detail"]
    # The summary table and the load figures are what a user reads at the end.
    assert "requests sent" in output
    assert f"{load['sent']} requests sent, 0 failed" in output
    assert "shipline demo passed" in output
    assert leftover_containers() == []


def test_a_failing_check_stops_the_pipeline_before_anything_is_built(tmp_path: Path) -> None:
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns(".nox", "reports", "*.db"))
    app = example / "src" / "service" / "app.py"
    app.write_text(app.read_text() + "\nimport shlex  # unused and out of place: ruff fails\n")
    code, output, summary = demo(example, tmp_path / "work")
    assert code == 1, output[-4000:]
    results = {s["name"]: s["result"] for s in summary["stages"]}
    assert results["lint"] == "failed"
    assert all(results[name] == "skipped" for name in STAGES[STAGES.index("type") :])
    assert "shipline demo failed at: lint" in output
    # The end of ruff's log is shown, naming the file and the problem.
    assert "--> src/service/app.py" in output
    assert "F401" in output
    assert not (tmp_path / "work" / "logs" / "build-1.0.0.log").exists()
    assert leftover_containers() == []
