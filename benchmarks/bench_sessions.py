"""Benchmark shipline's Nox sessions against running the same tools directly.

Builds a sample project (5 modules of code, 20 test modules, 200 tests) in a
temporary directory and measures, interleaving the variants within each round
so machine noise hits both alike:

1. ``warm-lint``: ``nox -R -s lint`` against the ruff commands nox prints, run
   directly from ``.nox/lint/bin``. Reported: overhead = median(nox) - median(direct).
2. ``warm-unit``: ``nox -R -s unit`` against the exact pytest command line nox
   prints, run directly with ``.nox/unit/bin/pytest`` and the session's environment
   (``SHIPLINE_ACTIVE=1``, ``VIRTUAL_ENV``, ``PATH``). Reported: overhead.
3. ``cold-unit``: ``nox -s unit`` from no ``.nox`` directory with the default
   ``uv|virtualenv`` backend against ``nox --force-venv-backend virtualenv -s unit``
   (virtualenv + pip). Download caches are warm: each variant runs once, untimed,
   first. Reported: ratio = median(virtualenv) / median(uv).

Run it with the interpreter that has shipline and nox installed::

    .venv/bin/python benchmarks/bench_sessions.py --json reports/bench.json

Each case also reports the comparison made within each round (nox minus direct, or
virtualenv over uv, per round) and the median of those, and the same comparison of
CPU time (user + system of every process the command started): on a busy machine
both are steadier than comparing the two wall-time medians. ``--quick`` is a fast
sanity run (2 warm rounds, 1 cold round).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The sample project builds on the tests' one (tests/support/sample.py).
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from session_report import CaseResult, markdown_table, phase_report, print_table  # noqa: E402
from session_sample import make_project  # noqa: E402

OVERHEAD_TARGET_S = 1.0
"""Warm cases: nox may add at most this many seconds to the tools' own time."""
SPEEDUP_TARGET = 3.0
"""Cold case: the uv backend must be at least this many times faster than virtualenv."""

ANSI = re.compile(r"\x1b\[[0-9;]*m")
NOX_PREFIX = "nox > "


class BenchmarkError(Exception):
    """The benchmark cannot go on; the message says why."""


# --------------------------------------------------------------------------- #
# Running and timing commands
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Command:
    """One way of doing the work: command lines run in turn, their environment, a setup step."""

    label: str
    argvs: tuple[tuple[str, ...], ...]
    env: Mapping[str, str]
    prepare: Callable[[], None] | None = None
    """Untimed, before every run (e.g. deleting `.nox` for a cold run)."""
    expect: str | None = None
    """Text the output must contain, to prove the run did what the case claims."""

    def shown(self) -> str:
        return " && ".join(shlex.join(argv) for argv in self.argvs)


@dataclass
class Samples:
    label: str
    command: str
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "command": self.command,
            "median_s": round(self.median, 4),
            "min_s": round(min(self.seconds), 4),
            "max_s": round(max(self.seconds), 4),
            "samples_s": [round(s, 4) for s in self.seconds],
            "cpu_median_s": round(self.cpu_median, 4),
            "cpu_samples_s": [round(s, 4) for s in self.cpu_seconds],
        }


def _output_tail(result: subprocess.CompletedProcess[str], lines: int = 25) -> str:
    text = ANSI.sub("", (result.stdout or "") + (result.stderr or ""))
    return "\n".join(text.rstrip().splitlines()[-lines:])


def children_cpu() -> float:
    """User + system CPU seconds of all finished child processes (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: Command, cwd: Path) -> tuple[float, float]:
    """Run the command lines once: wall and CPU seconds. A failure aborts the benchmark.

    The CPU time (of the command and every process under it) barely moves when other
    work competes for the cores, so it shows the real extra work when wall time is noisy.
    """
    if command.prepare is not None:
        command.prepare()
    env = dict(command.env)
    results: list[subprocess.CompletedProcess[str]] = []
    cpu_start = children_cpu()
    start = time.perf_counter()
    for argv in command.argvs:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        results.append(result)
        if result.returncode != 0:
            break
    elapsed = time.perf_counter() - start
    cpu = children_cpu() - cpu_start
    for argv, result in zip(command.argvs, results, strict=False):
        if result.returncode != 0:
            raise BenchmarkError(
                f"{command.label}: `{shlex.join(argv)}` exited with status {result.returncode} "
                f"in {cwd}; the benchmark only measures passing runs. Last output:\n"
                f"{_output_tail(result)}"
            )
    output = "".join(ANSI.sub("", r.stdout + r.stderr) for r in results)
    if command.expect is not None and command.expect not in output:
        raise BenchmarkError(
            f"{command.label}: `{command.shown()}` passed but its output lacks "
            f"{command.expect!r}, so it did not do what this case measures. Last output:\n"
            f"{_output_tail(results[-1])}"
        )
    return elapsed, cpu


def profiled_run(command: Command, cwd: Path) -> tuple[float, list[str], list[dict[str, Any]]]:
    """An untimed warm-up run of nox that timestamps its log lines to split it into phases.

    Returns the wall time, nox's log lines, and one phase per log line: the time from
    that line to the next (the first phase, `nox start-up`, runs up to the first line).
    """
    if command.prepare is not None:
        command.prepare()
    (argv,) = command.argvs
    start = time.perf_counter()
    stamped: list[tuple[float, str]] = []
    output: list[str] = []
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(command.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = ANSI.sub("", raw.rstrip("\n"))
            output.append(line)
            if line.startswith(NOX_PREFIX):
                stamped.append((time.perf_counter() - start, line[len(NOX_PREFIX) :]))
        status = proc.wait()
    elapsed = time.perf_counter() - start
    if status != 0:
        tail = "\n".join(output[-25:])
        raise BenchmarkError(
            f"{command.label} (warm-up): `{command.shown()}` exited with status {status} "
            f"in {cwd}. Last output:\n{tail}"
        )
    marks = [(0.0, "nox start-up (imports, noxfile, config)"), *stamped, (elapsed, "exit")]
    phases = [
        {"phase": what, "seconds": round(marks[i + 1][0] - at, 4)}
        for i, (at, what) in enumerate(marks[:-1])
    ]
    return elapsed, [what for _, what in stamped], phases


def measure(commands: Sequence[Command], cwd: Path, rounds: int) -> list[Samples]:
    """Run every command once per round, alternating their order between rounds."""
    samples = [Samples(c.label, c.shown()) for c in commands]
    pairs = list(zip(commands, samples, strict=True))
    for index in range(rounds):
        order = pairs if index % 2 == 0 else pairs[::-1]
        for command, sample in order:
            wall, cpu = timed_run(command, cwd)
            sample.seconds.append(wall)
            sample.cpu_seconds.append(cpu)
        times = ", ".join(f"{s.label} {s.seconds[-1]:.2f}s" for s in samples)
        print(f"  round {index + 1}/{rounds}: {times}", flush=True)
    return samples


# --------------------------------------------------------------------------- #
# The cases
# --------------------------------------------------------------------------- #


def nox_argv() -> tuple[str, ...]:
    found = shutil.which("nox", path=str(Path(sys.executable).parent))
    return (found,) if found else (sys.executable, "-m", "nox")


def pycache_dir(root: Path) -> Path:
    return root / ".pycache"


def session_pycache(root: Path) -> Path:
    """Where, under PYTHONPYCACHEPREFIX, the bytecode of the session venvs' files goes."""
    return pycache_dir(root) / root.relative_to(root.anchor) / ".nox"


def base_env(root: Path, bytecode: str) -> dict[str, str]:
    """The environment of every measured command, whatever the variant.

    `bytecode="inherit"` keeps this shell's PYTHONDONTWRITEBYTECODE as it is. `"write"`
    drops it and sends every .pyc to a cache in the sample project (PYTHONPYCACHEPREFIX),
    so that Python caches bytecode as on a usual developer machine without writing
    outside the sample project. A cold run deletes the part for `.nox` with `.nox`; nox's
    own bytecode stays cached. Caveat: with a prefix Python ignores `__pycache__`, so the
    bytecode pip compiles at install time goes unused and pip's venv compiles again.
    """
    env = dict(os.environ)
    env["NO_COLOR"] = "1"  # plain logs to parse; the same for every variant
    env.pop("FORCE_COLOR", None)
    if bytecode == "write":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache_dir(root))
    return env


def session_env(root: Path, session: str, base: Mapping[str, str]) -> dict[str, str]:
    """The environment nox gives a session's commands: its venv first on PATH, and shipline's."""
    venv = root / ".nox" / session
    env = dict(base)
    for name in ("PYTHONHOME", "CONDA_PREFIX"):
        env.pop(name, None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["SHIPLINE_ACTIVE"] = "1"
    return env


def printed_commands(lines: Sequence[str], tools: Sequence[str]) -> list[tuple[str, ...]]:
    """The tool commands nox logged (`nox > ruff check src ...`), split back into argv."""
    found = []
    for line in lines:
        argv = tuple(shlex.split(line)) if line.split(" ", 1)[0] in tools else ()
        if argv:
            found.append(argv)
    return found


def expected_commands(root: Path, session: str) -> list[tuple[str, ...]]:
    """What shipline's catalogue says the session runs, to cross-check nox's log."""
    from shipline import catalogue, config

    cfg = config.load(root)
    ctx = catalogue.Invocation(environ=dict(os.environ))
    return [step.argv for step in catalogue.get(session).steps(cfg, ctx)]


def direct_commands(
    root: Path, session: str, lines: Sequence[str], tools: Sequence[str]
) -> list[tuple[str, ...]]:
    printed = printed_commands(lines, tools)
    expected = expected_commands(root, session)
    if printed != expected:
        raise BenchmarkError(
            f"nox -s {session} ran {printed}, but shipline's catalogue says {expected}"
        )
    bindir = root / ".nox" / session / "bin"
    return [(str(bindir / argv[0]), *argv[1:]) for argv in printed]


def warm_case(
    root: Path,
    session: str,
    tools: Sequence[str],
    rounds: int,
    description: str,
    base: Mapping[str, str],
) -> CaseResult:
    nox = Command(f"nox -R -s {session}", ((*nox_argv(), "-R", "-s", session),), base)
    _, lines, phases = profiled_run(nox, root)
    argvs = direct_commands(root, session, lines, tools)
    direct = Command(f"direct {session} tools", tuple(argvs), session_env(root, session, base))
    # One untimed direct run too, so both variants start with warm file caches.
    direct_time, _ = timed_run(direct, root)
    print(f"  warm-up done (direct {direct_time:.2f}s); commands: {direct.shown()}", flush=True)
    nox_samples, direct_samples = measure([nox, direct], root, rounds)
    overhead = nox_samples.median - direct_samples.median
    paired = statistics.median(
        n - d for n, d in zip(nox_samples.seconds, direct_samples.seconds, strict=True)
    )
    return CaseResult(
        case=f"warm-{session}",
        description=description,
        metric="overhead_s",
        value=round(overhead, 4),
        paired=round(paired, 4),
        cpu=round(nox_samples.cpu_median - direct_samples.cpu_median, 4),
        target=f"< {OVERHEAD_TARGET_S:g} s",
        met=overhead < OVERHEAD_TARGET_S,
        variants=[nox_samples.summary(), direct_samples.summary()],
        warmup_phases={nox.label: phases},
        notes=[
            "direct commands are the ones nox printed, cross-checked against "
            "shipline.catalogue, run from the session's venv with its environment"
        ],
    )


def cold_case(root: Path, rounds: int, base: Mapping[str, str]) -> CaseResult:
    def wipe() -> None:
        shutil.rmtree(root / ".nox", ignore_errors=True)
        shutil.rmtree(session_pycache(root), ignore_errors=True)

    uv = Command(
        "nox -s unit (uv)",
        ((*nox_argv(), "-s", "unit"),),
        base,
        prepare=wipe,
        expect="Creating virtual environment (uv)",
    )
    pip = Command(
        "nox -s unit (virtualenv+pip)",
        ((*nox_argv(), "--force-venv-backend", "virtualenv", "-s", "unit"),),
        base,
        prepare=wipe,
        expect="Creating virtual environment (virtualenv)",
    )
    phases: dict[str, list[dict[str, Any]]] = {}
    for command in (uv, pip):
        seconds, lines, phases[command.label] = profiled_run(command, root)
        if command.expect and not any(command.expect in line for line in lines):
            raise BenchmarkError(f"{command.label}: nox never logged {command.expect!r}: {lines}")
        print(f"  warm-up (untimed, fills download caches) {command.label}: {seconds:.2f}s")
    uv_samples, pip_samples = measure([uv, pip], root, rounds)
    speedup = pip_samples.median / uv_samples.median
    paired = statistics.median(
        p / u for p, u in zip(pip_samples.seconds, uv_samples.seconds, strict=True)
    )
    uv_setup, pip_setup = setup_seconds(phases[uv.label]), setup_seconds(phases[pip.label])
    uv_tests, pip_tests = pytest_seconds(phases[uv.label]), pytest_seconds(phases[pip.label])
    return CaseResult(
        case="cold-unit",
        description="`nox -s unit` from no .nox: uv backend vs virtualenv + pip",
        metric="speedup",
        value=round(speedup, 3),
        paired=round(paired, 3),
        cpu=round(pip_samples.cpu_median / uv_samples.cpu_median, 3),
        target=f">= {SPEEDUP_TARGET:g}x",
        met=speedup >= SPEEDUP_TARGET,
        variants=[uv_samples.summary(), pip_samples.summary()],
        warmup_phases=phases,
        notes=[
            ".nox is deleted (untimed) before every run",
            "download/wheel caches are warm: one untimed run of each backend came first",
            f"in those profiled warm-up runs, venv creation + installs took {uv_setup:.2f} s "
            f"with uv and {pip_setup:.2f} s with virtualenv+pip "
            f"({pip_setup / uv_setup:.1f}x), and the pytest step {uv_tests:.2f} s and "
            f"{pip_tests:.2f} s",
        ],
    )


def setup_seconds(phases: Sequence[Mapping[str, Any]]) -> float:
    """Time nox spent creating the venv and installing, from a profiled run's phases."""
    return sum(
        float(p["seconds"])
        for p in phases
        if p["phase"].startswith("Creating virtual environment") or " install " in p["phase"]
    )


def pytest_seconds(phases: Sequence[Mapping[str, Any]]) -> float:
    return sum(float(p["seconds"]) for p in phases if p["phase"].startswith("pytest "))


# --------------------------------------------------------------------------- #
# Reporting
# --------------------------------------------------------------------------- #


def _version(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except OSError:
        return "unknown"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else "unknown"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    venv_bin = Path(sys.executable).parent
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu,
        "nproc": affinity or os.cpu_count(),
        "python": platform.python_version(),
        "nox": _version([*nox_argv(), "--version"]),
        "uv": _version([str(venv_bin / "uv"), "--version"]),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --------------------------------------------------------------------------- #
# Main
# --------------------------------------------------------------------------- #


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--warm-rounds", type=int, default=7, help="rounds of the warm cases")
    parser.add_argument("--cold-rounds", type=int, default=3, help="rounds of the cold case")
    parser.add_argument(
        "--quick", action="store_true", help="sanity run: 2 warm rounds and 1 cold round"
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=("lint", "unit", "cold"),
        default=["lint", "unit", "cold"],
        help="which cases to run (default: all)",
    )
    parser.add_argument(
        "--workers", default="auto", help='the sample\'s tests.workers: "auto" or a number'
    )
    parser.add_argument("--dist", default="loadfile", help="the sample's tests.dist")
    parser.add_argument(
        "--bytecode",
        choices=("inherit", "write"),
        default="inherit",
        help="inherit: keep this shell's PYTHONDONTWRITEBYTECODE (default); write: let Python "
        "cache bytecode, in a PYTHONPYCACHEPREFIX inside the sample project",
    )
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the results table as Markdown here")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="build the sample project here and keep it (default: a temp dir)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.warm_rounds, args.cold_rounds = 2, 1
    if args.warm_rounds < 1 or args.cold_rounds < 1:
        parser.error("rounds must be 1 or more")
    if args.workers != "auto" and not args.workers.isdigit():
        parser.error('--workers: expected "auto" or a number')
    return args


def run(args: argparse.Namespace, root: Path) -> tuple[dict[str, Any], list[CaseResult]]:
    info = machine()
    tests = make_project(root, args.workers, args.dist)
    base = base_env(root, args.bytecode)
    print(f"sample project: {root} ({tests} tests, workers={args.workers}, dist={args.dist})")
    print(
        f"bytecode: {args.bytecode} "
        f"(PYTHONDONTWRITEBYTECODE={info['PYTHONDONTWRITEBYTECODE']!r} in this shell)"
    )
    results: list[CaseResult] = []
    if "lint" in args.cases:
        print(f"warm lint: {args.warm_rounds} rounds", flush=True)
        results.append(
            warm_case(
                root, "lint", ("ruff",), args.warm_rounds,
                "`nox -R -s lint` vs the same `ruff check` and `ruff format --check` run directly",
                base,
            )
        )  # fmt: skip
        info["ruff"] = _version([str(root / ".nox/lint/bin/ruff"), "--version"])
    if "unit" in args.cases:
        print(f"warm unit: {args.warm_rounds} rounds", flush=True)
        results.append(
            warm_case(
                root, "unit", ("pytest",), args.warm_rounds,
                "`nox -R -s unit` vs the same pytest command line run with .nox/unit/bin/pytest",
                base,
            )
        )  # fmt: skip
        info["pytest"] = _version([str(root / ".nox/unit/bin/pytest"), "--version"])
    if "cold" in args.cases:
        print(f"cold unit: {args.cold_rounds} rounds after one untimed warm-up of each", flush=True)
        results.append(cold_case(root, args.cold_rounds, base))
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report = {
        "machine": info,
        "settings": {
            "warm_rounds": args.warm_rounds,
            "cold_rounds": args.cold_rounds,
            "tests": tests,
            "workers": args.workers,
            "dist": args.dist,
            "bytecode": args.bytecode,
            "quick": args.quick,
        },
        "results": [asdict(r) for r in results],
    }
    return report, results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import shipline.nox  # noqa: F401  # the sample's noxfile needs it
    except ImportError as exc:
        print(f"bench_sessions: error: run this with shipline's dev venv python: {exc}")
        return 2
    try:
        if args.workdir is not None:
            args.workdir.mkdir(parents=True, exist_ok=True)
            report, results = run(args, args.workdir.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="shipline-bench-") as tmp:
                report, results = run(args, Path(tmp).resolve())
    except BenchmarkError as exc:
        print(f"bench_sessions: error: {exc}", file=sys.stderr)
        return 1
    print()
    print(phase_report(results))
    print()
    print_table(results)
    for result in results:
        status = "met" if result.met else "NOT met"
        print(
            f"{result.case}: target {result.target} {status} "
            f"({result.metric} = {result.value}; per-round median {result.paired}; "
            f"by CPU time {result.cpu})"
        )
        for note in result.notes:
            print(f"  - {note}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"results written to {args.json}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown_table(results))
        print(f"table written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
