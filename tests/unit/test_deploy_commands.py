"""The deploy's remote commands run for real against a temp dir and a real shell.

Each argv is joined with `shlex.join` exactly as `Remote.run` does and handed to
`sh -c` (and `bash -c`: an SSH server runs the command with the user's login
shell). `docker` is a fake on PATH that records its argv, so nothing touches a
Docker engine; `flock`, `stat`, `date`, `mkdir`, `df`... are the real tools.
"""

from __future__ import annotations

import inspect
import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from shipline.deploy import commands as cmd
from shipline.deploy import lease as leases
from shipline.deploy import survey
from shipline.deploy.executor import free_mb
from shipline.errors import ShiplineError
from shipline.remote import HostSpec, Remote, RunResult

FAKE_DOCKER = r"""#!/bin/sh
{ for a in "$@"; do printf '%s\0' "$a"; done; printf '\036\0'; } >> "$FAKE_DOCKER_DIR/calls"
for key in "$1.$2" "$1"; do
  if [ -f "$FAKE_DOCKER_DIR/out.$key" ]; then cat "$FAKE_DOCKER_DIR/out.$key"; break; fi
done
for key in "$1.$2" "$1"; do
  if [ -f "$FAKE_DOCKER_DIR/rc.$key" ]; then exit "$(cat "$FAKE_DOCKER_DIR/rc.$key")"; fi
done
exit 0
"""

SHELLS = [shell for shell in ("sh", "bash") if shutil.which(shell)]


@dataclass
class Sandbox:
    root: Path

    def __post_init__(self) -> None:
        self.bin = self.root / "bin"
        self.docker_dir = self.root / "docker"
        self.canary = self.root / "canary" / "CANARY"
        self.cwd = self.root / "work" / "a" / "b"
        self.host = self.root / "host"
        for folder in (self.bin, self.docker_dir, self.canary.parent, self.cwd, self.host):
            folder.mkdir(parents=True, exist_ok=True)
        docker = self.bin / "docker"
        docker.write_text(FAKE_DOCKER)
        docker.chmod(0o755)
        self.env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root),
            "LC_ALL": "C",
            "FAKE_DOCKER_DIR": str(self.docker_dir),
        }

    def run(
        self, argv: Sequence[str], shell: str = "sh", stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """As `Remote.run`: the one `shlex.join`, then the login shell's `-c`."""
        return subprocess.run(
            [shell, "-c", shlex.join(argv)],
            cwd=self.cwd,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def answer(self, key: str, out: str = "", rc: int | None = None) -> None:
        """What the fake docker prints (and exits with) for `docker A B` (key "A.B") or `A`."""
        (self.docker_dir / f"out.{key}").write_text(out)
        if rc is not None:
            (self.docker_dir / f"rc.{key}").write_text(str(rc))

    def docker_calls(self) -> list[list[str]]:
        log = self.docker_dir / "calls"
        if not log.exists():
            return []
        calls = log.read_bytes().split(b"\x1e\x00")[:-1]
        return [[w.decode() for w in call.split(b"\x00")[:-1]] for call in calls]

    def canary_fired(self) -> bool:
        if self.canary.exists() or any(self.canary.parent.iterdir()):
            return True
        # `touch` makes a regular file; hostile *paths* may make directories named so.
        return any(p.is_file() for p in self.root.rglob("CANARY"))


@pytest.fixture
def sb(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


class LocalRemote:
    """A `Remote` whose host is this machine: the same join, a real shell."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.argvs: list[list[str]] = []

    def run(
        self, argv: Sequence[str], stdin: str | None = None, timeout: float | None = None
    ) -> RunResult:
        self.argvs.append(list(argv))
        done = self.sandbox.run(argv, stdin=stdin)
        return RunResult(done.returncode, done.stdout, done.stderr)


# -- injection: no value is ever code ------------------------------------------------------

PAYLOADS = {
    "command-substitution": "$(touch @)",
    "backticks": "`touch @`",
    "semicolon": "; touch @",
    "pipe": "| touch @",
    "and": "&& touch @",
    "newline": "\ntouch @",
    "tab": "\ttouch @",
    "single-quote-break": "' ; touch @ ; '",
    "double-quote-break": '" ; touch @ ; "',
    "single-quote": "'",
    "double-quote": '"',
    "dotdot": "..",
    "dotdot-substitution": "../$(touch @)",
    "backslash": "x\\$(touch @)\\",
    "ifs": "${IFS}touch${IFS}@",
    "all-at-once": "$(touch @)`touch @`;touch @|touch @&&touch @\ntouch @ '\"",
}


def argv_functions() -> dict[str, Callable[..., list[str]]]:
    """Every function of `commands` that returns argv, but `sh` (its script is code)."""
    found: dict[str, Callable[..., list[str]]] = {}
    for name, function in inspect.getmembers(cmd, inspect.isfunction):
        if function.__module__ != cmd.__name__ or name == "sh":
            continue
        if inspect.signature(function).return_annotation == "Argv":
            found[name] = function
    return found


ARGV_FUNCTIONS = argv_functions()


def arguments(function: Callable[..., list[str]], value: str) -> dict[str, Any]:
    """`value` in every string the function takes, sensible values elsewhere."""
    made: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        kind = parameter.annotation
        if kind == "str":
            made[name] = value
        elif kind == "int":
            made[name] = 3
        elif kind == "float":
            made[name] = 60.0
        elif kind == "tuple[str, ...]":
            made[name] = ("web", value)
        elif kind == "Argv":
            made[name] = cmd.compose(value, value, value, value)
        elif kind == "tuple[tuple[str, int], ...]":
            made[name] = (("web", 9001), (value, 9003))
        else:  # a new parameter type: teach this test what a hostile one is
            pytest.fail(f"{function.__name__}({name}: {kind}): no hostile value known")
    return made


def test_every_command_is_covered() -> None:
    assert set(ARGV_FUNCTIONS) >= {
        "compose",
        "survey",
        "lease_acquire",
        "lease_renew",
        "lease_release",
        "lease_status",
        "lease_break",
        "prepare",
        "login",
        "check_and_pull",
        "resolve",
        "migrations",
        "start_slot",
        "stop_slot",
        "remove_slot",
        "find_container",
        "probe",
        "container_logs",
        "health_log",
        "containers",
        "switch",
        "draining",
        "record",
        "prune",
        "audit",
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
@pytest.mark.parametrize("name", sorted(ARGV_FUNCTIONS))
def test_no_value_runs_as_code(sb: Sandbox, name: str, payload: str, shell: str) -> None:
    function = ARGV_FUNCTIONS[name]
    hostile = payload.replace("@", str(sb.canary))
    # As given (relative: lands under the cwd), and under an existing app directory so
    # the scripts get past their first `mkdir`/`touch` and reach their later lines.
    absolute = f"{sb.host}/{hostile}"
    for sub in ("proxy/upstreams", "slots", "releases"):
        (Path(absolute) / sub).mkdir(parents=True, exist_ok=True)
    for value in (hostile, absolute):
        before = len(sb.docker_calls())
        argv = function(**arguments(function, value))
        assert all(isinstance(word, str) for word in argv)
        done = sb.run(argv, shell)
        assert not sb.canary_fired(), (name, value, done.stdout, done.stderr)
        assert "syntax error" not in done.stderr.lower(), done.stderr
        assert "unexpected" not in done.stderr, done.stderr
        if argv[0] == "docker":  # a plain command: docker gets exactly these words
            assert sb.docker_calls()[before:] == [argv[1:]]


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_values_reach_docker_verbatim(sb: Sandbox, payload: str) -> None:
    hostile = payload.replace("@", str(sb.canary))
    sb.run(cmd.resolve(hostile))
    assert sb.docker_calls() == [
        ["pull", "--quiet", hostile],
        ["image", "inspect", "-f", "{{range .RepoDigests}}{{println .}}{{end}}", hostile],
    ]
    compose = cmd.compose(hostile, hostile, hostile, hostile)
    sb.run(cmd.check_and_pull(compose, hostile))
    assert sb.docker_calls()[2:] == [
        [*compose[1:], "config", "--quiet"],
        ["pull", "--quiet", hostile],
    ]
    sb.run(cmd.survey(str(sb.host), hostile, ("web",)))
    assert ["inspect", "-f", "{{.State.Running}}", f"{hostile}-proxy-nginx-1"] in sb.docker_calls()
    assert not sb.canary_fired()


def test_a_failing_compose_check_stops_before_the_pull(sb: Sandbox) -> None:
    sb.answer("compose", "", rc=1)
    done = sb.run(cmd.check_and_pull(cmd.compose("web", "/srv/web", "blue", "/r"), "img"))
    assert done.returncode == 1
    assert [c[0] for c in sb.docker_calls()] == ["compose"]
    sb.answer("compose", "", rc=0)
    sb.answer("pull", "", rc=1)
    done = sb.run(cmd.check_and_pull(cmd.compose("web", "/srv/web", "blue", "/r"), "img"))
    assert (done.returncode, done.stdout) == (1, "docker pull img failed\n")


# -- the lease, for real --------------------------------------------------------------------

OWNER_A = leases.owner_record("alice@laptop", "v1")
OWNER_B = leases.owner_record("bob@ci", "v2")


def lease_dir(sb: Sandbox) -> Path:
    return sb.host / "app"


def lock(sb: Sandbox) -> Path:
    return lease_dir(sb) / ".deploy.lock"


def acquire(
    sb: Sandbox, token: str, owner: str, ttl: float = 60
) -> subprocess.CompletedProcess[str]:
    return sb.run(cmd.lease_acquire(str(lease_dir(sb)), token, owner, ttl))


def age_back(path: Path, seconds: float) -> float:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return then


def test_a_free_lease_is_taken(sb: Sandbox) -> None:
    done = acquire(sb, "tok-a", OWNER_A)
    assert (done.returncode, done.stdout) == (0, "taken\n")
    assert (lock(sb) / "owner").read_text() == OWNER_A + "\n"
    assert (lock(sb) / "token").read_text() == "tok-a"


def test_a_held_lease_names_its_holder(sb: Sandbox) -> None:
    acquire(sb, "tok-a", OWNER_A)
    done = acquire(sb, "tok-b", OWNER_B)
    assert done.returncode == 3
    word, age, owner = done.stdout.rstrip("\n").split(" ", 2)
    assert (word, owner.strip()) == ("held", OWNER_A)
    assert age.isdigit()
    assert (lock(sb) / "token").read_text() == "tok-a"  # untouched


def test_the_holder_may_take_it_again_and_that_renews_it(sb: Sandbox) -> None:
    acquire(sb, "tok-a", OWNER_A)
    old = age_back(lock(sb) / "owner", 600)
    done = acquire(sb, "tok-a", OWNER_A)
    assert (done.returncode, done.stdout) == (0, "taken\n")
    assert (lock(sb) / "owner").stat().st_mtime > old + 500


def test_a_stale_lease_is_broken_and_taken(sb: Sandbox) -> None:
    acquire(sb, "tok-a", OWNER_A)
    age_back(lock(sb) / "owner", 600)
    done = acquire(sb, "tok-b", OWNER_B, ttl=60)
    assert done.returncode == 0
    word, age, owner = done.stdout.rstrip("\n").split(" ", 2)
    assert (word, owner.strip()) == ("broke", OWNER_A)
    assert int(age) >= 600
    assert (lock(sb) / "token").read_text() == "tok-b"
    assert (lock(sb) / "owner").read_text() == OWNER_B + "\n"
    # And the old holder's heartbeat now finds it lost.
    renew = sb.run(cmd.lease_renew(str(lease_dir(sb)), "tok-a"))
    assert (renew.returncode, renew.stdout) == (3, "lost\n")


def test_a_lease_within_its_ttl_is_not_broken(sb: Sandbox) -> None:
    acquire(sb, "tok-a", OWNER_A)
    age_back(lock(sb) / "owner", 30)
    assert acquire(sb, "tok-b", OWNER_B, ttl=60).returncode == 3
    assert (lock(sb) / "token").read_text() == "tok-a"


def test_a_lock_without_an_owner_file_ages_by_its_directory(sb: Sandbox) -> None:
    # A deploy killed between `mkdir` and writing its owner.
    lock(sb).mkdir(parents=True)
    age_back(lock(sb), 600)
    done = acquire(sb, "tok-b", OWNER_B, ttl=60)
    assert done.returncode == 0
    assert done.stdout.startswith("broke ")
    assert (lock(sb) / "token").read_text() == "tok-b"


def test_renew(sb: Sandbox) -> None:
    acquire(sb, "tok-a", OWNER_A)
    old = age_back(lock(sb) / "owner", 600)
    wrong = sb.run(cmd.lease_renew(str(lease_dir(sb)), "tok-b"))
    assert (wrong.returncode, wrong.stdout) == (3, "lost\n")
    assert (lock(sb) / "owner").stat().st_mtime == pytest.approx(old)
    right = sb.run(cmd.lease_renew(str(lease_dir(sb)), "tok-a"))
    assert (right.returncode, right.stdout) == (0, "ok\n")
    assert (lock(sb) / "owner").stat().st_mtime > old + 500


def test_release_only_removes_our_own_lease(sb: Sandbox) -> None:
    acquire(sb, "tok-a", OWNER_A)
    wrong = sb.run(cmd.lease_release(str(lease_dir(sb)), "tok-b"))
    assert wrong.returncode == 0
    assert (lock(sb) / "token").read_text() == "tok-a"
    right = sb.run(cmd.lease_release(str(lease_dir(sb)), "tok-a"))
    assert (right.returncode, right.stdout) == (0, "released\n")
    assert not lock(sb).exists()
    # Released: anyone may take it now.
    assert acquire(sb, "tok-b", OWNER_B).stdout == "taken\n"


def test_status(sb: Sandbox) -> None:
    free = sb.run(cmd.lease_status(str(lease_dir(sb))))
    assert (free.returncode, free.stdout) == (0, "free\n")
    acquire(sb, "tok-a", OWNER_A)
    age_back(lock(sb) / "owner", 100)
    held = sb.run(cmd.lease_status(str(lease_dir(sb))))
    holder = leases._holder(held.stdout)
    assert holder.heartbeat_age >= 100
    assert holder.describe().startswith("alice@laptop deploying v1 since ")
    assert lock(sb).exists()  # status changes nothing


def test_break_removes_any_lock(sb: Sandbox) -> None:
    assert sb.run(cmd.lease_break(str(lease_dir(sb)))).stdout == "free\n"
    acquire(sb, "tok-a", OWNER_A)
    done = sb.run(cmd.lease_break(str(lease_dir(sb))))
    assert done.returncode == 0
    assert done.stdout.startswith("held ")
    assert OWNER_A in done.stdout
    assert not lock(sb).exists()


def test_owner_text_is_stored_verbatim(sb: Sandbox) -> None:
    owner = f"$(touch {sb.canary}) `x` 'q' \"d\" a\nb"
    acquire(sb, "tok-a", owner)
    assert (lock(sb) / "owner").read_text() == owner + "\n"
    held = acquire(sb, "tok-b", OWNER_B)
    assert held.stdout.split(" ", 2)[2] == owner.replace("\n", " ") + " \n"
    assert not sb.canary_fired()


def concurrently(sb: Sandbox, argvs: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    started = [
        subprocess.Popen(
            ["sh", "-c", shlex.join(argv)],
            cwd=sb.cwd,
            env=sb.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    done = []
    for process, argv in zip(started, argvs, strict=True):
        out, err = process.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(argv, process.returncode, out, err))
    return done


def test_of_many_simultaneous_takers_exactly_one_wins(sb: Sandbox) -> None:
    path = str(lease_dir(sb))
    done = concurrently(sb, [cmd.lease_acquire(path, f"tok-{i}", f"o{i}", 60) for i in range(8)])
    words = sorted(d.stdout.split(" ", 1)[0].strip() for d in done)
    assert words == ["held"] * 7 + ["taken"]
    winner = next(i for i, d in enumerate(done) if d.stdout == "taken\n")
    assert (lock(sb) / "token").read_text() == f"tok-{winner}"


def test_a_stale_lease_is_broken_once_however_many_try(sb: Sandbox) -> None:
    acquire(sb, "tok-dead", OWNER_A)
    age_back(lock(sb) / "owner", 600)
    path = str(lease_dir(sb))
    done = concurrently(sb, [cmd.lease_acquire(path, f"tok-{i}", f"o{i}", 60) for i in range(8)])
    words = sorted(d.stdout.split(" ", 1)[0] for d in done)
    assert words == ["broke"] + ["held"] * 7
    winner = next(i for i, d in enumerate(done) if d.stdout.startswith("broke"))
    assert (lock(sb) / "token").read_text() == f"tok-{winner}"


def test_the_lease_object_over_real_scripts(sb: Sandbox) -> None:
    host = HostSpec("deploy", "app1")
    path = str(lease_dir(sb))
    mine = leases.Lease(host, cast(Remote, LocalRemote(sb)), path, 60)
    theirs = leases.Lease(host, cast(Remote, LocalRemote(sb)), path, 60)
    assert mine.try_take(OWNER_A) is None
    assert (mine.held, mine.broken) == (True, None)
    blocker = theirs.try_take(OWNER_B)
    assert blocker is not None
    assert blocker.describe().startswith("alice@laptop deploying v1 since ")
    assert not theirs.held
    mine.renew()
    assert not mine.lost
    age_back(lock(sb) / "owner", 600)
    assert theirs.try_take(OWNER_B) is None
    assert theirs.broken is not None
    assert theirs.broken.heartbeat_age >= 600
    assert theirs.broken.describe().startswith("alice@laptop deploying v1")
    mine.renew()
    assert mine.lost
    mine.release()  # not ours any more: it stays
    assert (lock(sb) / "token").read_text() == theirs.token
    theirs.release()
    assert not lock(sb).exists()
    assert not theirs.held


def test_a_lease_that_cannot_be_written_is_an_error(sb: Sandbox) -> None:
    blocked = sb.host / "file"
    blocked.write_text("not a directory")
    lease = leases.Lease(
        HostSpec("deploy", "app1"), cast(Remote, LocalRemote(sb)), str(blocked), 60
    )
    with pytest.raises(ShiplineError, match="cannot take the deploy lock on deploy@app1"):
        lease.try_take(OWNER_A)
    assert not lease.held


# -- reading and writing the host -----------------------------------------------------------


def test_switch_writes_the_upstreams_and_starts_the_proxy(sb: Sandbox) -> None:
    path = sb.host / "app"
    (path / "proxy" / "upstreams").mkdir(parents=True)
    done = sb.run(cmd.switch(str(path), "app", (("web", 8002), ("worker", 8004))))
    assert done.returncode == 0, done.stderr
    assert (path / "proxy/upstreams/web.conf").read_text() == (
        "upstream web {\n    server 127.0.0.1:8002;\n    keepalive 16;\n}\n"
    )
    assert "127.0.0.1:8004;" in (path / "proxy/upstreams/worker.conf").read_text()
    assert not (path / ".switching").exists()
    assert sorted(p.name for p in (path / "proxy/upstreams").iterdir()) == [
        "web.conf",
        "worker.conf",
    ]  # no .tmp left
    assert sb.docker_calls() == [
        ["inspect", "-f", "{{.State.Running}}", "app-proxy-nginx-1"],
        [
            "compose",
            "-p",
            "app-proxy",
            "-f",
            f"{path}/proxy/compose.yml",
            "up",
            "-d",
            "--quiet-pull",
        ],
        ["exec", "app-proxy-nginx-1", "sh", "-c", "nginx -t -q && nginx -s reload"],
    ]


def test_switch_only_reloads_a_running_proxy(sb: Sandbox) -> None:
    path = sb.host / "app"
    (path / "proxy" / "upstreams").mkdir(parents=True)
    sb.answer("inspect.-f", "true\n")
    assert sb.run(cmd.switch(str(path), "app", (("web", 8001),))).returncode == 0
    assert [c[0] for c in sb.docker_calls()] == ["inspect", "exec"]


def test_the_survey_reads_what_switch_and_record_wrote(sb: Sandbox) -> None:
    path = sb.host / "app"
    (path / "proxy" / "upstreams").mkdir(parents=True)
    (path / "slots").mkdir()
    assert sb.run(cmd.switch(str(path), "app", (("web", 8002), ("worker", 8004)))).returncode == 0
    state = {"slot": "blue", "version": "v1", "image": "reg/web@sha256:1", "history": []}
    assert sb.run(cmd.record(str(path), json.dumps(state, indent=2))).returncode == 0
    (path / "slots" / "green.env").write_text("APP_IMAGE=reg/web@sha256:2\nAPP_VERSION=v2\n")
    (path / ".switching").touch()
    image = "reg/web@sha256:" + "2" * 64
    sb.answer("inspect.-f", "true\n")
    sb.answer("ps.-aq", "0a1b\n1c2d\n")
    sb.answer(
        "inspect.--format",
        f"container app-green web 0a1b running {image} healthy\n"
        f"container app-green worker 1c2d running {image} starting\n",
    )
    done = sb.run(cmd.survey(str(path), "app", ("web", "worker")))
    assert done.returncode == 0, done.stderr
    found = survey.parse(done.stdout, "app")
    assert dict(found.upstreams) == {"web": 8002, "worker": 8004}
    assert found.switching is True
    assert found.proxy_running is True
    assert [(c.slot, c.service, c.id, c.image, c.healthy) for c in found.containers] == [
        ("green", "web", "0a1b", image, True),
        ("green", "worker", "1c2d", image, False),
    ]
    assert dict(found.slot_env["green"]) == {"APP_IMAGE": "reg/web@sha256:2", "APP_VERSION": "v2"}
    assert dict(found.slot_env["blue"]) == {}
    assert dict(found.record) == state  # a multi-line state.json read on one line
    inspected = next(c for c in sb.docker_calls() if c[:2] == ["inspect", "--format"])
    assert inspected[-2:] == ["0a1b", "1c2d"]  # every id, one word each
    fmt = inspected[2]
    assert fmt.startswith("container {{")
    assert "\n" not in fmt
    assert "\\" not in fmt
    assert "com.docker.compose.project" in fmt


def test_the_survey_of_an_empty_host(sb: Sandbox) -> None:
    done = sb.run(cmd.survey(str(sb.host / "nothing"), "app", ("web",)))
    assert (done.returncode, done.stdout) == (0, "proxy \n")
    assert not any(c[:2] == ["inspect", "--format"] for c in sb.docker_calls())
    found = survey.parse(done.stdout, "app")
    assert (found.proxy_running, found.containers, dict(found.upstreams)) == (False, (), {})


def test_the_survey_when_docker_fails(sb: Sandbox) -> None:
    sb.answer("inspect", "", rc=1)
    done = sb.run(cmd.survey(str(sb.host), "app", ("web",)))
    assert done.returncode == 0
    assert "proxy absent\n" in done.stdout
    assert survey.parse(done.stdout, "app").proxy_running is False


def test_prepare_makes_the_directories_and_reports_free_space(sb: Sandbox) -> None:
    path = sb.host / "app"
    release = path / "releases" / "v2"
    done = sb.run(cmd.prepare(str(path), str(release), "reg/web@sha256:2"))
    assert done.returncode == 0, done.stderr
    assert free_mb(done.stdout) > 0
    assert (release / "image").read_text() == "reg/web@sha256:2\n"
    assert (path / "slots").is_dir()
    assert (path / "proxy" / "upstreams").is_dir()
    assert [c[:2] for c in sb.docker_calls()] == [
        ["version", "--format"],
        ["compose", "version"],
    ]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("version", "docker engine not reachable\n"),
        ("compose", "docker compose v2 not installed\n"),
    ],
)
def test_prepare_without_docker(sb: Sandbox, key: str, message: str) -> None:
    sb.answer(key, "", rc=1)
    done = sb.run(cmd.prepare(str(sb.host / "app"), str(sb.host / "app/releases/v2"), "img"))
    assert (done.returncode, done.stdout) == (1, message)
    assert not (sb.host / "app").exists()
    assert free_mb(done.stdout) == 0


def test_free_mb() -> None:
    assert free_mb("free 5120\n") == 5120
    assert free_mb("some warning\nfree 12\n") == 12
    assert free_mb("free \n") == 0
    assert free_mb("free lots\n") == 0
    assert free_mb("") == 0


def make_releases(sb: Sandbox, count: int) -> Path:
    releases = sb.host / "app" / "releases"
    now = time.time()
    for i in range(1, count + 1):
        directory = releases / f"v{i}"
        directory.mkdir(parents=True)
        (directory / "image").write_text(f"reg/web@sha256:{i}\n")
        os.utime(directory, (now - 1000 + i, now - 1000 + i))
    return releases


def test_prune_keeps_the_newest_releases_and_their_images(sb: Sandbox) -> None:
    releases = make_releases(sb, 5)
    sb.answer("image.ls", "".join(f"reg/web@sha256:{i} id{i}\n" for i in range(1, 6)))
    done = sb.run(cmd.prune(str(sb.host / "app"), 3, "reg/web"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in releases.iterdir()) == ["v3", "v4", "v5"]
    calls = sb.docker_calls()
    assert calls[0] == [
        "image",
        "ls",
        "--digests",
        "--format",
        "{{.Repository}}@{{.Digest}} {{.ID}}",
        "reg/web",
    ]
    assert sorted(calls[1:]) == [["rmi", "id1"], ["rmi", "id2"]]


@pytest.mark.parametrize("keep", [0, 1, 2])
def test_prune_always_keeps_the_live_and_the_previous_release(sb: Sandbox, keep: int) -> None:
    releases = make_releases(sb, 4)
    assert sb.run(cmd.prune(str(sb.host / "app"), keep, "reg/web")).returncode == 0
    assert sorted(p.name for p in releases.iterdir()) == ["v3", "v4"]


def test_prune_removes_oddly_named_releases_as_names(sb: Sandbox) -> None:
    releases = make_releases(sb, 3)
    odd = releases / "--help"
    odd.mkdir()
    os.utime(odd, (1, 1))  # the oldest
    (sb.host / "app" / "keepme").write_text("outside releases")
    assert sb.run(cmd.prune(str(sb.host / "app"), 3, "reg/web")).returncode == 0
    assert sorted(p.name for p in releases.iterdir()) == ["v1", "v2", "v3"]
    assert (sb.host / "app" / "keepme").exists()


def test_prune_without_releases_does_nothing(sb: Sandbox) -> None:
    done = sb.run(cmd.prune(str(sb.host / "none"), 3, "reg/web"))
    assert done.returncode == 0
    assert sb.docker_calls() == []


def test_record_replaces_state_json_whole(sb: Sandbox) -> None:
    path = sb.host / "app"
    path.mkdir()
    (path / "state.json").write_text('{"slot": "blue"}\n')
    before = (path / "state.json").stat().st_ino
    text = json.dumps({"slot": "green", "who": f"$(touch {sb.canary}) `x` 'q' \"d\" \\n"})
    done = sb.run(cmd.record(str(path), text))
    assert done.returncode == 0, done.stderr
    assert (path / "state.json").read_text() == text + "\n"
    # Written beside and renamed over: a reader never sees half a file.
    assert (path / "state.json").stat().st_ino != before
    assert sorted(p.name for p in path.iterdir()) == ["state.json"]
    assert not sb.canary_fired()


def test_audit_appends_lines_verbatim(sb: Sandbox) -> None:
    path = sb.host / "app"
    path.mkdir()
    lines = [
        "2030-01-01T00:00:00Z bob deployed v2 (reg/web@sha256:2) slot green",
        f"quotes 'single' \"double\" $(touch {sb.canary}) `touch {sb.canary}` ; | &&",
        "printf escapes stay text: %s %d \\n \\t \\\\ %%",
    ]
    for line in lines:
        assert sb.run(cmd.audit(str(path), line)).returncode == 0
    assert (path / "audit.log").read_text() == "".join(f"{line}\n" for line in lines)
    assert not sb.canary_fired()
