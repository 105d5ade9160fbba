"""The main job: the three-layer pipeline (checks and unit tests, deploy, live tests) on
the example service, on this machine.

Checks gate a build; the image goes to a registry; a rolling deploy over SSH puts
it on a host; smoke checks and live integration tests run against the deployed
URL; then a second release is deployed while a load generator counts every
failed request. Every stage is the command a developer or CI runs (`nox -s ...`,
`invoke ...`) in a fresh copy of the example, so the demo proves the wiring, not
a shortcut around it. The registry and the SSH host are throwaway ones on
loopback (`sandbox`); the host's Docker Engine is this machine's.

Usage: python -m demo [EXAMPLE_DIR] [--work DIR] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from support import registry as registry_support
from support import sshhost
from support.load import Load
from support.run import OUTER_RUN_VARIABLES
from support.sandbox import BASE_IMAGE, PROXY_IMAGE, free_port, remove_images
from support.sandbox import remove_app as remove_containers

from shipline import audit, config, tiers
from shipline.errors import ShiplineError

RELEASES = ("1.0.0", "1.1.0")
CHECKS = ("lint", "type", "security", "smoke", "unit")
STAGES = (
    "prepare",
    *CHECKS,
    f"build {RELEASES[0]}",
    f"push {RELEASES[0]}",
    f"deploy {RELEASES[0]}",
    "smoke checks",
    "live integration tests",
    f"release {RELEASES[1]}",
    f"build {RELEASES[1]}",
    f"push {RELEASES[1]}",
    f"deploy {RELEASES[1]} under load",
)
"""The demo's stages in order; the summary table has one row for each."""
APP = "shipline-demo"
VOLUME = "service-data"
"""The example's data volume (compose.yml names it after the app `invoke init` saw)."""


class StageFailed(Exception):
    pass


@dataclass
class Stage:
    name: str
    result: str = "skipped"
    """passed, failed, warning or skipped."""
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Demo:
    example: Path
    work: Path
    console: Console
    stages: list[Stage] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)

    @property
    def project(self) -> Path:
        return self.work / "service"

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    def run(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> str:
        """Run a stage's command in the project; its output goes to logs/<name>.log."""
        log = self.logs / f"{name.replace(' ', '-')}.log"
        with log.open("w") as handle:
            handle.write(f"$ {' '.join(argv)}\n")
            handle.flush()
            done = subprocess.run(
                argv,
                cwd=self.project,
                env={**self.env, **(env or {})},
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=False,
            )
        output = log.read_text(errors="replace")
        if done.returncode != 0:
            raise StageFailed(f"exit {done.returncode}; log: {log}", output)
        return output


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=shipline demo", "-c", "user.email=demo@localhost", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def copy_example(example: Path, project: Path) -> None:
    """A clean checkout of the example: its files, none of its caches or local databases."""
    shutil.copytree(
        example,
        project,
        ignore=shutil.ignore_patterns(
            ".nox",
            ".venv",
            "reports",
            "__pycache__",
            ".mypy_cache",
            ".ruff_cache",
            ".pytest_cache",
            ".coverage*",
            "*.db",
        ),
    )


def sandbox_config(
    pyproject: Path, registry: registry_support.Registry, deploy_path: Path, ports: tuple[int, int]
) -> dict[str, Any]:
    """The example's configuration pointed at the sandbox, as a user points theirs at servers."""
    data = tomllib.loads(pyproject.read_text())
    tool = data.setdefault("tool", {}).setdefault("shipline", {})
    image = tool.setdefault("image", {})
    image["name"] = f"{registry.host}/demo/service"
    image["username"] = registry.username
    image.setdefault("build-args", {})["BASE_IMAGE"] = BASE_IMAGE
    base_port, proxy_port = ports
    deploy = tool.setdefault("deploy", {})
    deploy.update(
        {
            "app": APP,
            "path": str(deploy_path),
            "env-file": "deploy.env",
            "base-port": base_port,
            "proxy-port": proxy_port,
            "proxy-image": PROXY_IMAGE,
            "url": f"http://{{host}}:{proxy_port}",
            "health-timeout": 90,
            "drain-seconds": 2,
            "min-free-mb": 200,
        }
    )
    pyproject.write_text(tomli_w.dumps(data))
    return data


def free_port_pair() -> int:
    """A port p with p+1 also free: the blue and green slots of the one app service."""
    for _ in range(50):
        port = free_port()
        if port < 65535:
            with contextlib.suppress(OSError):
                with socket.socket() as a, socket.socket() as b:
                    a.bind(("127.0.0.1", port))
                    b.bind(("127.0.0.1", port + 1))
                return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


def audit_unreachable(project: Path) -> bool:
    """True when the security session failed only because pip-audit reached no service."""
    cfg = config.load(project)
    report = project / tiers.SecurityReports.of(cfg.reports()).pip_audit
    try:
        verdict = audit.judge_file(report, cfg.security.audit_ignore, dt.date.today())
    except ShiplineError:
        return False
    return bool(verdict.skipped) and not verdict.findings and not verdict.expired


def remove_app(app: str) -> None:
    """The demo's containers (both slots and the proxy) and its data volume."""
    remove_containers(app)
    subprocess.run(["docker", "volume", "rm", "-f", VOLUME], capture_output=True, check=False)


def preflight() -> str | None:
    """What is missing for the demo, said before anything starts."""
    if shutil.which("docker") is None:
        return "docker not found; run scripts/provision (it installs docker.io)"
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return "the Docker engine is not running; run scripts/provision (it starts dockerd)"
    for image in (BASE_IMAGE, PROXY_IMAGE):
        inspect = ["docker", "image", "inspect", image]
        if subprocess.run(inspect, capture_output=True, check=False).returncode != 0:
            return f"image {image} not found; run scripts/provision (it builds it)"
    for binary in ("docker-registry", "htpasswd", "ssh-keygen", "git"):
        if shutil.which(binary) is None:
            return f"{binary} not found; run scripts/provision"
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        return "sshd not found; run scripts/provision (it installs openssh-server)"
    return None


class Pipeline:
    """The stages in order; the first failure skips the rest (the quality gate)."""

    def __init__(self, demo: Demo, progress: Progress) -> None:
        self.demo = demo
        self.progress = progress
        self.failed = False

    def stage(self, name: str, work: Callable[[Stage], None]) -> None:
        stage = Stage(name)
        self.demo.stages.append(stage)
        if self.failed:
            return
        task = self.progress.add_task(name, total=None)
        start = time.perf_counter()
        try:
            work(stage)
            if stage.result == "skipped":
                stage.result = "passed"
        except StageFailed as exc:
            stage.result = "failed"
            reason = str(exc.args[0])
            stage.detail = f"{stage.detail}; {reason}" if stage.detail else reason
            self.failed = True
            output = exc.args[1] if len(exc.args) > 1 else ""
            tail = "\n".join(str(output).splitlines()[-40:])
            if tail:
                self.progress.console.print(f"[red]{name} failed; the end of its log:")
                self.progress.console.print(tail, markup=False, highlight=False)
        finally:
            stage.seconds = time.perf_counter() - start
            self.progress.remove_task(task)
            colour = {"passed": "green", "warning": "yellow"}.get(stage.result, "red")
            self.progress.console.print(
                f"[{colour}]{stage.result:>7}[/] {name} ({stage.seconds:.1f}s)"
                + (f": {escape(stage.detail)}" if stage.detail else "")
            )


@dataclass
class Sandbox:
    registry: registry_support.Registry
    host: sshhost.SSHHost
    token: str
    url: str
    registry_env: dict[str, str]
    """The registry password, for the stages that push or pull (never on a command line)."""


class Stages:
    """The demo's stages as methods, in STAGES order, over the state they share.

    `prepare` starts the sandbox and every later stage reads it from here; cleanup goes
    on the caller's exit stack, so a failure anywhere still removes what was started.
    """

    def __init__(self, demo: Demo, stack: contextlib.ExitStack) -> None:
        self.demo = demo
        self.stack = stack
        self.python = sys.executable
        self.invoke = [self.python, "-m", "invoke"]
        self.deploy_path = demo.work / "host" / "srv" / "service"
        self.ports = (free_port_pair(), free_port())
        """The app's base port (blue; green is the next) and the proxy's port."""
        self._sandbox: Sandbox | None = None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            raise StageFailed("the sandbox is not prepared")
        return self._sandbox

    def in_order(self) -> list[tuple[str, Callable[[Stage], None]]]:
        """Each stage's name (STAGES) and its work."""
        first, second = RELEASES
        return [
            ("prepare", self.prepare),
            *((name, functools.partial(self.check, name)) for name in CHECKS),
            (f"build {first}", functools.partial(self.build, first)),
            (f"push {first}", functools.partial(self.push, first)),
            (f"deploy {first}", self.first_deploy),
            ("smoke checks", self.smoke),
            ("live integration tests", self.live_tests),
            (f"release {second}", functools.partial(self.release, second)),
            (f"build {second}", functools.partial(self.build, second)),
            (f"push {second}", functools.partial(self.push, second)),
            (f"deploy {second} under load", self.deploy_under_load),
        ]

    def prepare(self, stage: Stage) -> None:
        """Start the registry and the SSH host; copy the example, point it at them, commit."""
        demo, stack = self.demo, self.stack
        registry = stack.enter_context(registry_support.registry(username="demo"))
        host = stack.enter_context(sshhost.ssh_host())
        token = secrets.token_urlsafe(24)
        copy_example(demo.example, demo.project)
        cfg = sandbox_config(
            demo.project / "pyproject.toml", registry, self.deploy_path, self.ports
        )
        env_file = demo.project / "deploy.env"
        env_file.write_text(f"API_TOKEN={token}\nDATABASE_URL=sqlite:////app/data/service.db\n")
        env_file.chmod(0o600)
        _git(demo.project, "init", "-q", "-b", "main")
        _git(demo.project, "add", "-A")
        _git(demo.project, "commit", "-q", "-m", "The example service")
        _git(demo.project, "tag", f"v{RELEASES[0]}")
        token_env = cfg["tool"]["shipline"]["image"].get("token-env", "GITHUB_TOKEN")
        stack.callback(remove_app, APP)
        stack.callback(remove_images, f"{registry.host}/demo/service")
        url = f"http://127.0.0.1:{self.ports[1]}"
        self._sandbox = Sandbox(registry, host, token, url, {token_env: registry.password})
        stage.detail = f"registry {registry.host}, SSH host {host.spec}, work {demo.work}"

    def check(self, name: str, stage: Stage) -> None:
        """`nox -s NAME`; pip-audit finding no service is a warning, not a failure."""
        try:
            self.demo.run(name, [self.python, "-m", "nox", "-s", name])
        except StageFailed:
            if name == "security" and audit_unreachable(self.demo.project):
                stage.result = "warning"
                stage.detail = (
                    "bandit and the security tests passed; not audited: "
                    "pip-audit could not reach its vulnerability service"
                )
            else:
                raise

    def release(self, version: str, stage: Stage) -> None:
        """A new commit with release notes, tagged as a developer tags a release."""
        project = self.demo.project
        notes = project / "CHANGELOG.md"
        notes.write_text(f"# {version}\n\nThe second release of the demo.\n")
        _git(project, "add", "-A")
        _git(project, "commit", "-q", "-m", f"Release {version}")
        _git(project, "tag", f"v{version}")
        stage.detail = f"a new commit, tagged v{version}"

    def build(self, version: str, stage: Stage) -> None:
        ref = ["--ref", f"refs/tags/v{version}", "--event", "push"]
        out = self.demo.run(f"build {version}", [*self.invoke, "build", *ref, "--json"])
        built = json.loads(out.strip().splitlines()[-1])
        stage.detail = (
            f"{built['size'] / 1e6:.0f} MB, {built['cached_steps']} of {built['steps']} "
            f"steps cached ({built['builder']} builder)"
        )

    def push(self, version: str, stage: Stage) -> None:
        ref = ["--ref", f"refs/tags/v{version}", "--event", "push"]
        argv = [*self.invoke, "push", *ref, "--json"]
        out = self.demo.run(f"push {version}", argv, self.sandbox.registry_env)
        pushed = json.loads(out.strip().splitlines()[-1])
        tags = ", ".join(t.rsplit(":", 1)[1] for t in pushed["pushed"])
        stage.detail = f"tags {tags}; {pushed['digest'][:19]}"

    def deploy_argv(self, version: str) -> list[str]:
        host = self.sandbox.host
        return [
            *self.invoke,
            "deploy",
            "--host",
            host.spec,
            "--version",
            version,
            "--known-hosts",
            str(host.known_hosts),
            "--key",
            str(host.key),
        ]

    def first_deploy(self, stage: Stage) -> None:
        box = self.sandbox
        version = RELEASES[0]
        self.demo.run(f"deploy {version}", self.deploy_argv(version), box.registry_env)
        stage.detail = f"rolling deploy over SSH to {box.host.spec}; live at {box.url}"

    def smoke(self, stage: Stage) -> None:
        argv = [*self.invoke, "smoke", "--url", self.sandbox.url, "--version", RELEASES[0]]
        self.demo.run("smoke checks", argv)
        stage.detail = f"/health, /items refuses without a token, version {RELEASES[0]}"

    def live_tests(self, stage: Stage) -> None:
        box = self.sandbox
        out = self.demo.run(
            "live integration tests",
            [self.python, "-m", "nox", "-s", "e2e", "--", "--live=on"],
            {"SERVICE_URL": box.url, "API_TOKEN": box.token},
        )
        stage.detail = f"{_pytest_counts(out)} against {box.url}"

    def deploy_under_load(self, stage: Stage) -> None:
        """The second release, while a load generator counts every failed request."""
        box = self.sandbox
        version = RELEASES[1]
        with Load(f"{box.url}/health", threads=2) as load:
            time.sleep(1.0)  # traffic flowing before the deploy starts
            try:
                argv = self.deploy_argv(version)
                self.demo.run(f"deploy {version} under load", argv, box.registry_env)
            finally:
                time.sleep(1.0)
        self.demo.load = {
            "sent": load.sent,
            "failed": load.failed,
            "versions": dict(load.versions),
            "failures": list(load.failures),
        }
        served = ", ".join(f"{v}: {n}" for v, n in sorted(load.versions.items()))
        stage.detail = f"{load.sent} requests sent, {load.failed} failed ({served})"
        if load.failed:
            raise StageFailed(f"{load.failed} of {load.sent} requests failed: {load.failures[:3]}")
        if set(load.versions) != set(RELEASES):
            raise StageFailed(f"versions served under load: {served}")


def run_demo(demo: Demo, keep: bool) -> None:
    """Every stage in order under one exit stack: the sandbox stops, the app and its images
    go, whatever stage fails (or stay up with `keep`, after a full pass)."""
    demo.logs.mkdir(parents=True, exist_ok=True)
    demo.env = {k: v for k, v in os.environ.items() if k not in OUTER_RUN_VARIABLES}
    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(
            Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                TimeElapsedColumn(),
                console=demo.console,
                transient=True,
            )
        )
        pipe = Pipeline(demo, progress)
        stages = Stages(demo, stack)
        for name, work in stages.in_order():
            pipe.stage(name, work)
        if keep and not pipe.failed:
            stack.pop_all()
            demo.console.print(
                f"[bold]--keep: {APP} stays up at {stages.sandbox.url} (the registry and sshd stop)"
            )


def _pytest_counts(output: str) -> str:
    for line in reversed(output.splitlines()):
        if " passed" in line or " failed" in line:
            return line.strip("= ").split(" in ")[0]
    return "no test summary"


def summary_table(stages: list[Stage]) -> Table:
    table = Table(title="shipline demo: the three-layer pipeline on examples/service")
    for column in ("stage", "result", "duration", "detail"):
        table.add_column(column, overflow="fold")
    colours = {"passed": "green", "warning": "yellow", "failed": "red", "skipped": "dim"}
    for stage in stages:
        table.add_row(
            stage.name,
            f"[{colours[stage.result]}]{stage.result}",
            f"{stage.seconds:.1f}s" if stage.result != "skipped" else "",
            escape(stage.detail),
        )
    return table


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("example", nargs="?", default="examples/service", type=Path)
    parser.add_argument("--work", type=Path, help="Working directory (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="Leave the deployed service running")
    args = parser.parse_args(argv)
    console = console or Console()
    example = args.example.resolve()
    if not (example / "pyproject.toml").is_file():
        console.print(f"shipline demo: error: no example project at {example}")
        return 2
    missing = preflight()
    if missing:
        console.print(f"shipline demo: error: {missing}")
        return 2
    work = (args.work or Path(tempfile.mkdtemp(prefix="shipline-demo-"))).resolve()
    if (work / "service").exists():
        console.print(f"shipline demo: error: {work / 'service'} exists; pass an empty --work")
        return 2
    work.mkdir(parents=True, exist_ok=True)
    demo = Demo(example, work, console)
    console.rule("[bold]shipline demo")
    started = time.perf_counter()
    try:
        run_demo(demo, args.keep)
    except (StageFailed, RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        demo.stages.append(Stage("(setup)", "failed", 0.0, str(exc)))
    total = time.perf_counter() - started
    console.print(summary_table(demo.stages))
    (work / "summary.json").write_text(
        json.dumps(
            {"stages": [asdict(s) for s in demo.stages], "load": demo.load, "seconds": total},
            indent=2,
        )
    )
    failed = [s.name for s in demo.stages if s.result == "failed"]
    if failed:
        console.print(f"[red]shipline demo failed at: {', '.join(failed)}; logs in {demo.logs}")
        return 1
    load = demo.load
    console.print(
        f"[green]shipline demo passed in {total:.0f}s: {len(demo.stages)} stages; "
        f"release {RELEASES[1]} deployed under load, {load.get('sent', 0)} requests sent, "
        f"{load.get('failed', 0)} failed."
    )
    return 0
