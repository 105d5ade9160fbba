"""No input reaches a remote shell: hostile values on the deploy path, on a real host.

Every command-line argument and `[tool.shipline]` key a deploy uses (and the
environment variables it reads) is fed values a shell would run: `$(touch CANARY)`,
backticks, `;`, `|`, `&&`, a newline, a tab, `$IFS` in place of a space, plus a path
out of the tree, the empty string and numbers out of range. Each is either refused
with one line naming the flag or key (exit 2, no traceback, nothing done), or carried
inert through a real deploy. The proof is a canary: `touch CANARY` would create the
file on the deploy host (this machine, through a real sshd), and no case may create it.

The cases that end before SSH (nearly all) run a few at a time in a pool, each in a
copy of the project and with a canary of its own, so a canary names its case; the
cases that reach the host run one after the other. At the end the service still
serves v1 and no lock is left behind.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
import shutil
import socket
import sys
import tomllib
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w
from support import registry as registry_support
from support.deploy_images import (
    deploy_images,
    proxy_image,
    remove_app,
    remove_images,
    write_project,
)
from support.run import Result, run
from support.sshhost import SSHHost

from shipline.remote import HostSpec, Remote

TOKEN = "placeholder-api-token-inputs"
WORKERS = 3
"""Refused cases at once: process start is CPU-bound, and three keep two cores busy."""
QUICK = 120.0
"""Seconds a case that never reaches the host may take (it takes about one)."""

CANARY = "CANARY"
"""Stands for the case's canary path in the payloads; replaced before a case runs."""
SHELL = {
    "subst": "$(touch CANARY)",
    "backticks": "`touch CANARY`",
    "semicolon": ";touch CANARY",
    "pipe": "|touch CANARY",
    "and": "&&touch CANARY",
    "newline": "\ntouch CANARY",
    "tab": "\ttouch CANARY",
}
PAYLOADS = {
    **SHELL,
    "traversal": "../../../tmp/x",
    "empty": "",
    "nan": "nan",
    "negative": "-5",
    "huge": "99999999",
}
"""The payloads of the issue, for every command-line argument."""
SPACELESS = {
    "ifs-semicolon": ";touch$IFS" + CANARY,
    "ifs-subst": "$(touch$IFS" + CANARY + ")",
}
"""Shell code without a space or a control character: what a check that only looks
for whitespace lets through."""
STRING_PAYLOADS = {
    **{k: v for k, v in PAYLOADS.items() if k not in ("nan", "negative", "huge")},
    **SPACELESS,
}
"""For string keys: "nan", "-5" and "99999999" appended to a valid value are valid."""


# -- the cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    task: str
    args: tuple[str, ...] = ()
    """After the task; CANARY and SPEC (the host's user@host:port) are filled in."""
    names: str = ""
    """What the one error line must name: the flag, the key or the variable."""
    good_host: bool = True
    """Pass the test host's --host (not when --host itself is the hostile value)."""
    edit: tuple[str, str, str, object] | None = None
    """(table, key, shape, payload): the value written into the case's pyproject copy."""
    env: tuple[tuple[str, str], ...] = ()
    drop_image_name: bool = False
    valid: bool = False
    """A value the flag rightly takes (a tag such as "nan"): it reaches the host."""


def _cli_cases() -> list[Case]:
    flags = [
        ("deploy", "--version", ()),
        ("rollback", "--to", ()),
        ("deploy", "--batch", ("--version=v1",)),
        ("deploy", "--lock-wait", ("--version=v1",)),
        ("rollback", "--lock-wait", ()),
    ]
    cases = [
        Case(
            f"{task} {flag}={pid}",
            task,
            (*extra, f"{flag}={payload}"),
            flag,
            # "nan" and "99999999" are tags Docker allows; none such was pushed
            valid=flag in ("--version", "--to") and pid in ("nan", "huge"),
        )
        for task, flag, extra in flags
        for pid, payload in PAYLOADS.items()
    ]
    hosts = {
        # appended to the real user@host:port, so "nan" and "-5" cannot name another host
        pid: "SPEC" + payload if payload else ""
        for pid, payload in PAYLOADS.items()
    } | {
        "no-port-semicolon": "root@127.0.0.1;touch CANARY",
        "proxycommand": "-oProxyCommand=touch CANARY",
    }
    for task, extra in (("deploy", ("--version=v1",)), ("lock", ("--status",))):
        cases += [
            Case(f"{task} --host={pid}", task, (*extra, f"--host={value}"), "--host", False)
            for pid, value in hosts.items()
        ]
    return cases


STRICT = ("subst", "newline", "ifs-subst", "empty")
"""For keys checked against a narrow pattern, one payload of each kind is enough: shell
code, a control character, shell code without a space, nothing."""
LOOSE = ("subst", "newline", "tab", "empty")
"""For keys that refuse only whitespace and control characters: the `$IFS` payloads and
`..` pass their check, and a real deploy below carries them (ACCEPTED)."""
FILES = ("subst", "newline", "traversal", "empty")
"""For file names read on this machine: the file is missing, so the name is refused."""
STRING_KEYS: list[tuple[str, str, str, tuple[str, ...]]] = [
    # (table, key, shape, payloads): "embed" appends the payload to a valid value, "raw"
    # is the payload alone, "list" is services = ["app<payload>"]
    ("deploy", "path", "embed", (*STRICT, "traversal")),
    ("deploy", "app", "embed", STRICT),
    ("deploy", "services", "list", STRICT),
    ("deploy", "migrations", "embed", STRICT),
    ("deploy", "proxy-image", "embed", STRICT),
    ("deploy", "url", "embed", LOOSE),
    ("deploy", "compose-file", "raw", FILES),
    ("deploy", "env-file", "raw", FILES),
    ("image", "name", "embed", STRICT),
    ("image", "username", "embed", STRICT),
    ("smoke", "health-path", "embed", LOOSE),
]
PORTS: dict[str, object] = {
    "zero": 0,
    "above-65535": 65536,
    "nan": float("nan"),
    "string": "$(touch CANARY)",
}
SECONDS: dict[str, object] = {
    "nan": float("nan"),
    "inf": float("inf"),
    "negative": -1,
}
ACCEPTED = {("url", "ifs-subst"), ("health-path", "ifs-semicolon")}
"""Hostile-looking values these keys rightly take, carried by a real deploy (one each: the
`..` and the other `$IFS` form take the same way)."""
DRY_RUN = {"subst", "nan"}
"""Payloads also run with --dry-run (which reads the same config, then prints the plan)."""


def _config_cases() -> list[Case]:
    cases: list[Case] = []

    def add(table: str, key: str, shape: str, pid: str, payload: object) -> None:
        for dry in (False, True) if pid in DRY_RUN else (False,):
            cases.append(
                Case(
                    f"{table}.{key}={pid}" + (" --dry-run" if dry else ""),
                    "deploy",
                    ("--version=v1", *(("--dry-run",) if dry else ())),
                    f"tool.shipline.{table}.{key}",
                    edit=(table, key, shape, payload),
                )
            )

    for table, key, shape, pids in STRING_KEYS:
        for pid in pids:
            add(table, key, shape, pid, STRING_PAYLOADS[pid])
    for key in ("base-port", "proxy-port"):
        for pid, number in PORTS.items():
            add("deploy", key, "raw", pid, number)
    for pid in ("proxy-is-base", "proxy-in-slots", "slots-past-65535"):
        # slot_ports_check names base-port whichever of the two moved
        cases.append(
            Case(
                f"deploy.ports={pid}",
                "deploy",
                ("--version=v1",),
                "tool.shipline.deploy.base-port",
                edit=("deploy", "ports", "collide", pid),
            )
        )
    for key in ("health-timeout", "drain-seconds", "lock-ttl"):
        for pid, number in SECONDS.items():
            add("deploy", key, "raw", pid, number)
    add("deploy", "lock-ttl", "raw", "string", "$(touch CANARY)")
    return cases


def _env_cases() -> list[Case]:
    # --dry-run only: a name GITHUB_REPOSITORY gives is ghcr.io/<it>, and a deploy that
    # took one would pull from ghcr.io; the check is before the dry-run branch anyway.
    cases = [
        Case(
            f"GITHUB_REPOSITORY=acme/web{pid}",
            "deploy",
            ("--version=v1", "--dry-run"),
            "GITHUB_REPOSITORY",
            env=(("GITHUB_REPOSITORY", "acme/web" + payload),),
            drop_image_name=True,
        )
        for pid, payload in {
            "subst": SHELL["subst"],
            "semicolon": SHELL["semicolon"],
            "newline": SHELL["newline"],
            "ifs-subst": SPACELESS["ifs-subst"],
        }.items()
    ]
    cases.append(
        Case(
            "GITHUB_ACTOR=empty",
            "deploy",
            ("--version=v1",),
            "GITHUB_TOKEN is set but no registry user",
            env=(("GITHUB_ACTOR", ""),),
        )
    )
    return cases


CLI_CASES = [case for case in _cli_cases() if not case.valid]
VALID_CASES = [case for case in _cli_cases() if case.valid]
CONFIG_CASES = _config_cases()
ENV_CASES = _env_cases()
POOLED = {case.id: case for case in (*CLI_CASES, *CONFIG_CASES, *ENV_CASES)}
assert len(POOLED) == len(CLI_CASES) + len(CONFIG_CASES) + len(ENV_CASES), "duplicate ids"


def params(cases: list[Case]) -> list[Any]:
    return [pytest.param(case, id=case.id) for case in cases]


# -- the host, the image, the project deployed once ---------------------------------------


@pytest.fixture(scope="module")
def image(registry: registry_support.Registry) -> str:
    try:
        return deploy_images(
            registry.host, registry.username, registry.password, "acme/inputs", ["v1"]
        )
    except RuntimeError as exc:
        pytest.fail(f"cannot prepare the deploy images (run scripts/provision): {exc}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inputs")


@pytest.fixture(scope="module")
def canaries(workdir: Path) -> Path:
    """Where every case's canary would appear: must stay empty."""
    path = workdir / "canaries"
    path.mkdir()
    return path


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports below the ephemeral range: the
    slots' ports (base-port, base-port + 1) must stay free between deploys, and the
    ephemeral ones go to outgoing connections at any time."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(100):
        first = 10000 + secrets.randbelow(low - count - 10000)
        with contextlib.ExitStack() as stack:
            try:
                for port in range(first, first + count):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
        return first
    raise RuntimeError("no free ports below the ephemeral range")


@pytest.fixture(scope="module")
def project(workdir: Path, image: str) -> Iterator[Path]:
    root = workdir / "web"
    root.mkdir()
    app = f"inputs-{secrets.token_hex(3)}"
    write_project(
        root,
        image=image,
        app=app,
        path=str(root / "srv"),
        proxy_port=free_ports(1),
        base_port=free_ports(2),
        proxy_image=proxy_image(),
        token=TOKEN,
        extra="lock-ttl = 10\n",
    )
    yield root
    remove_images(image)
    remove_app(app)


def creds(registry: registry_support.Registry) -> dict[str, str]:
    return {"GITHUB_ACTOR": registry.username, "GITHUB_TOKEN": registry.password}


def ssh_args(host: SSHHost) -> list[str]:
    return ["--known-hosts", str(host.known_hosts), "--key", str(host.key)]


def invoke(
    cwd: Path,
    host: SSHHost,
    task: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> Result:
    argv = [sys.executable, "-m", "invoke", task, *ssh_args(host), *args]
    return run(argv, cwd=cwd, env=env, timeout=timeout)


def settings(project: Path) -> dict[str, Any]:
    return tomllib.loads((project / "pyproject.toml").read_text())


def serving(project: Path) -> str:
    port = settings(project)["tool"]["shipline"]["deploy"]["proxy-port"]
    return str(httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["version"])


@pytest.fixture(scope="module")
def deployed(project: Path, host: SSHHost, registry: registry_support.Registry) -> Path:
    """v1, deployed for real: the hosts' state (slots, proxy, state.json) exists."""
    result = invoke(
        project, host, "deploy", f"--host={host.spec}", "--version=v1", env=creds(registry)
    )
    assert result.code == 0, result
    assert serving(project) == "v1"
    return project


# -- running a case -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    result: Result
    canary: Path
    cwd: Path


def fill(text: str, canary: Path, host: SSHHost) -> str:
    return text.replace(CANARY, str(canary)).replace("SPEC", host.spec)


def hostile_value(
    key: str, shape: str, payload: object, original: dict[str, Any], canary: Path
) -> object:
    if not isinstance(payload, str):
        return payload
    text = payload.replace(CANARY, str(canary))
    if shape == "raw" or not text:
        return [text] if shape == "list" else text
    if shape == "list":
        return ["app" + text]
    bases = {
        "path": original["deploy"]["path"] + "/",
        "app": original["deploy"]["app"],
        "migrations": "migrate",
        # a registry on a closed loopback port: nothing is pulled from elsewhere, ever
        "proxy-image": "127.0.0.1:1/shipline/nginx:bookworm",
        "url": original["deploy"]["url"] + "/",
        "name": original["image"]["name"],
        "username": "deployer",
        "health-path": "/health/",
    }
    return bases[key] + text


def write_config(root: Path, case: Case, original: dict[str, Any], canary: Path) -> None:
    """The project's pyproject with the case's one change, written to `root`."""
    data = copy.deepcopy(original)
    shipline = data["tool"]["shipline"]
    if case.drop_image_name:
        del shipline["image"]["name"]
    if case.edit is not None:
        table, key, shape, payload = case.edit
        deploy = shipline["deploy"]
        if shape == "collide":
            base = deploy["base-port"]
            if payload == "proxy-is-base":
                deploy["proxy-port"] = base
            elif payload == "proxy-in-slots":
                deploy["proxy-port"] = base + 1
            else:
                deploy["base-port"] = 65535
        else:
            value = hostile_value(key, shape, payload, shipline, canary)
            shipline.setdefault(table, {})[key] = value
    (root / "pyproject.toml").write_text(tomli_w.dumps(data))


def copy_project(project: Path, root: Path) -> None:
    root.mkdir(parents=True)
    for name in ("compose.yml", "prod.env", "tasks.py"):
        shutil.copy(project / name, root / name)


def run_case(
    case: Case,
    number: int,
    project: Path,
    host: SSHHost,
    registry: registry_support.Registry,
    workdir: Path,
    canaries: Path,
) -> Outcome:
    canary = canaries / f"canary-{number:03d}"
    args = [fill(a, canary, host) for a in case.args]
    env = creds(registry) | {k: fill(v, canary, host) for k, v in case.env}
    cwd = project
    if case.edit is not None or case.drop_image_name:
        cwd = workdir / "cases" / f"{number:03d}"
        copy_project(project, cwd)
        write_config(cwd, case, settings(project), canary)
    if case.good_host:
        args.insert(0, f"--host={host.spec}")
    return Outcome(invoke(cwd, host, case.task, *args, env=env, timeout=QUICK), canary, cwd)


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest,
    deployed: Path,
    host: SSHHost,
    registry: registry_support.Registry,
    workdir: Path,
    canaries: Path,
) -> Iterator[dict[str, Future[Outcome]]]:
    """Every selected pooled case, started at once (a few at a time), by id."""
    selected: set[str] = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        if isinstance(case, Case):
            selected.add(case.id)
    ordered = [c for c in POOLED.values() if c.id in selected]
    numbers = {case.id: n for n, case in enumerate(POOLED.values())}
    pool = ThreadPoolExecutor(WORKERS)
    futures = {
        case.id: pool.submit(
            run_case, case, numbers[case.id], deployed, host, registry, workdir, canaries
        )
        for case in ordered
    }
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


# -- what every case must show ------------------------------------------------------------


def no_canary(canaries: Path, *dirs: Path) -> None:
    made = sorted(p.name for p in canaries.iterdir())
    assert not made, f"an injected command ran on the deploy host: {made} in {canaries}"
    for directory in (Path.cwd(), *dirs):
        stray = sorted(p.name for p in directory.glob("canary*"))
        assert not stray, f"canary files in {directory}: {stray}"


@pytest.fixture(autouse=True)
def _no_canary_after_each(canaries: Path, workdir: Path) -> Iterator[None]:
    yield
    no_canary(canaries, workdir, workdir / "web")


def require(condition: bool, message: object) -> None:
    """A precondition: fails the test as such (pytest.fail), so an xfail that expects
    an AssertionError from the check after it cannot pass for the wrong reason."""
    if not condition:
        pytest.fail(str(message), pytrace=False)


def refused(outcome: Outcome, names: str) -> None:
    result = outcome.result
    lines = result.output.splitlines()
    require("Traceback" not in result.output, result)
    require(result.code == 2, result)
    require(bool(lines) and lines[0].startswith("shipline: error: "), result)
    require(names in lines[0], f"the line does not name {names}: {lines[0]}")
    require(not outcome.canary.exists(), f"{outcome.canary} exists")
    assert len(lines) == 1, f"expected one line:\n{result}"


def clean(result: Result) -> None:
    """Succeeded, or failed with a last line that says why (and no traceback)."""
    assert "Traceback" not in result.output, result
    if result.code != 0:
        assert result.code in (1, 2), result
        assert result.output.splitlines()[-1].startswith("shipline: error: "), result


# -- the refused cases --------------------------------------------------------------------


def test_00_a_canary_touched_on_the_host_is_seen_here(host: SSHHost, canaries: Path) -> None:
    """The control: a command run over this sshd creates the canary where the cases
    look for it (the deploy host is this machine, its filesystem this one)."""
    canary = canaries / "control"
    remote = Remote(HostSpec.parse(host.spec), known_hosts=host.known_hosts, key_file=host.key)
    try:
        done = remote.run(["sh", "-c", 'touch "$1"', "sh", str(canary)])
    finally:
        remote.close()
    assert done.code == 0, done
    assert canary.exists()
    canary.unlink()


@pytest.mark.parametrize("case", params(CLI_CASES))
def test_argument_is_refused(
    case: Case, outcomes: dict[str, Future[Outcome]], canaries: Path
) -> None:
    refused(outcomes[case.id].result(), case.names)


@pytest.mark.parametrize("case", params(CONFIG_CASES))
def test_setting_is_refused(
    case: Case, outcomes: dict[str, Future[Outcome]], canaries: Path
) -> None:
    outcome = outcomes[case.id].result()
    refused(outcome, case.names)
    no_canary(canaries, outcome.cwd)


@pytest.mark.parametrize("case", params(ENV_CASES))
def test_environment_is_refused(
    case: Case, outcomes: dict[str, Future[Outcome]], canaries: Path
) -> None:
    outcome = outcomes[case.id].result()
    refused(outcome, case.names)
    no_canary(canaries, outcome.cwd)


# -- the cases that reach the host, one at a time -----------------------------------------


@pytest.mark.parametrize("case", params(VALID_CASES))
def test_valid_tag_never_pushed_fails_cleanly(
    case: Case,
    deployed: Path,
    host: SSHHost,
    registry: registry_support.Registry,
    workdir: Path,
    canaries: Path,
) -> None:
    """A tag such as "nan" is valid: the host is asked for it, as one quoted word, and
    the registry has no such tag, so the deploy ends before it changes anything."""
    number = 900 + VALID_CASES.index(case)
    outcome = run_case(case, number, deployed, host, registry, workdir, canaries)
    clean(outcome.result)
    assert outcome.result.code == 1, outcome.result
    assert "manifest unknown" in outcome.result.output, outcome.result
    assert not outcome.canary.exists()
    assert serving(deployed) == "v1"


def hostile_project(
    deployed: Path, workdir: Path, name: str, edits: Mapping[str, Mapping[str, Any]]
) -> Path:
    root = workdir / "inert" / name
    copy_project(deployed, root)
    data = settings(deployed)
    for table, values in edits.items():
        data["tool"]["shipline"].setdefault(table, {}).update(values)
    (root / "pyproject.toml").write_text(tomli_w.dumps(data))
    return root


@pytest.mark.parametrize(("key", "pid"), [("compose-file", "subst"), ("env-file", "semicolon")])
def test_hostile_file_name_is_read_here_only(
    key: str,
    pid: str,
    deployed: Path,
    host: SSHHost,
    registry: registry_support.Registry,
    workdir: Path,
    canaries: Path,
) -> None:
    """A compose or env file may be called anything: it is read on this machine, and the
    hosts get its content under a name of the deploy's own."""
    canary = canaries / f"file-{key}-{pid}"
    name = ({**SHELL, **SPACELESS}[pid]).replace(CANARY, str(canary))
    root = hostile_project(deployed, workdir, f"{key}-{pid}", {"deploy": {key: name}})
    source = "compose.yml" if key == "compose-file" else "prod.env"
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / source, root / name)
    (root / source).unlink()
    result = invoke(
        root, host, "deploy", f"--host={host.spec}", "--version=v1", env=creds(registry)
    )
    assert result.code == 0, result
    assert not canary.exists()
    assert serving(deployed) == "v1"


@pytest.mark.parametrize(("key", "pid"), sorted(ACCEPTED))
def test_accepted_smoke_value_stays_on_this_machine(
    key: str,
    pid: str,
    deployed: Path,
    host: SSHHost,
    registry: registry_support.Registry,
    workdir: Path,
    canaries: Path,
) -> None:
    """The smoke URL and path may hold `$`, `;`, `(` and `..` (no space): httpx requests
    them from here and no shell reads them. The checks fail (404): back to v1."""
    canary = canaries / f"smoke-{key}-{pid}"
    original = settings(deployed)["tool"]["shipline"]
    value = hostile_value(key, "embed", STRING_PAYLOADS[pid], original, canary)
    edits: dict[str, dict[str, Any]] = {"deploy" if key == "url" else "smoke": {key: value}}
    edits.setdefault("smoke", {})["retries"] = 0  # the checks fail: once is enough
    root = hostile_project(deployed, workdir, f"{key}-{pid}", edits)
    dry = invoke(root, host, "deploy", f"--host={host.spec}", "--version=v1", "--dry-run")
    assert dry.code == 0, dry
    result = invoke(
        root, host, "deploy", f"--host={host.spec}", "--version=v1", env=creds(registry)
    )
    clean(result)
    assert result.code == 1, result
    assert "smoke" in result.output.splitlines()[-1], result
    assert not canary.exists()
    assert serving(deployed) == "v1"


@pytest.mark.parametrize("pid", ["subst", "newline"])
def test_hostile_registry_user_from_the_environment(
    pid: str,
    deployed: Path,
    host: SSHHost,
    registry: registry_support.Registry,
    canaries: Path,
) -> None:
    """GITHUB_ACTOR is the registry user when none is configured: it reaches `docker
    login --username` on the host as one quoted word, and the registry refuses it."""
    canary = canaries / f"actor-{pid}"
    actor = "octocat" + ({**SHELL, **SPACELESS}[pid]).replace(CANARY, str(canary))
    env = {"GITHUB_ACTOR": actor, "GITHUB_TOKEN": registry.password}
    result = invoke(deployed, host, "deploy", f"--host={host.spec}", "--version=v1", env=env)
    clean(result)
    assert result.code != 0, result
    assert not canary.exists()
    assert serving(deployed) == "v1"


def test_hostile_actor_is_refused(
    deployed: Path, host: SSHHost, registry: registry_support.Registry, canaries: Path
) -> None:
    """GITHUB_ACTOR is who deploys, for the audit log and the lock's owner: a value that is
    no user name (a newline would forge audit lines) is refused before any SSH."""
    canary = canaries / "actor-audit"
    actor = "octocat" + SHELL["newline"].replace(CANARY, str(canary))
    env = {"GITHUB_ACTOR": actor, "GITHUB_TOKEN": ""}
    audit = Path(settings(deployed)["tool"]["shipline"]["deploy"]["path"]) / "audit.log"
    before = audit.read_text()
    result = invoke(deployed, host, "deploy", f"--host={host.spec}", "--version=v1", env=env)
    assert result.code == 2, result
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("shipline: error: GITHUB_ACTOR "), result
    assert not canary.exists()
    assert audit.read_text() == before


def test_zz_still_serving_v1_and_unlocked(deployed: Path, canaries: Path) -> None:
    assert serving(deployed) == "v1"
    path = Path(settings(deployed)["tool"]["shipline"]["deploy"]["path"])
    assert not (path / ".deploy.lock").exists()
    assert not list(canaries.iterdir())
