"""The deploy's remote commands run for real against a temp dir and a real shell.

Each argv is joined with `shlex.join` exactly as `Remote.run` does and handed to
`sh -c` (and `bash -c`: an SSH server runs the command with the user's login
shell). `docker` is a fake on PATH that records its argv, so nothing touches a
Docker engine; `flock`, `stat`, `date`, `mkdir`, `df`... are the real tools.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import shlex
import shutil
import stat
import subprocess
import tarfile
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
d=$FAKE_DOCKER_DIR
[ -f "$d/sleep.$1" ] && sleep "$(cat "$d/sleep.$1")"
{ for a in "$@"; do printf '%s\0' "$a"; done; printf '\036\0'; } >> "$d/calls"
if [ "$1" = exec ] && [ -e "$d/exec-here" ]; then  # run the command in "the container"
  shift 2
  exec "$@"
fi
if [ "$1.$2" = image.inspect ] && [ ! -e "$d/image-present" ]; then
  echo "Error: No such image: $3" >&2
  exit 1
fi
for key in "$1.$2" "$1"; do
  left=$(cat "$d/fail.$key" 2>/dev/null || echo 0)
  if [ "$left" -gt 0 ]; then
    echo $((left - 1)) > "$d/fail.$key"
    echo "fake failure: $*" >&2
    exit 1
  fi
done
for key in "$1.$2" "$1"; do
  if [ -s "$d/queue.$key" ]; then  # one line of output per call, then out.KEY
    head -n 1 "$d/queue.$key"
    tail -n +2 "$d/queue.$key" > "$d/queue.$key.rest" && mv "$d/queue.$key.rest" "$d/queue.$key"
    break
  fi
  if [ -f "$d/out.$key" ]; then cat "$d/out.$key"; break; fi
done
for key in "$1.$2" "$1"; do
  if [ -f "$d/rc.$key" ]; then exit "$(cat "$d/rc.$key")"; fi
done
exit 0
"""
"""`docker image inspect` fails unless the `image-present` marker exists (see
`Sandbox.image_present`); `fail.KEY` fails the next N calls; `queue.KEY` gives the next
calls' output a line each; `sleep.CMD` delays one; with the `exec-here` marker
(`Sandbox.exec_here`) `docker exec CONTAINER CMD...` runs CMD here, after recording."""

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
        self, argv: Sequence[str], shell: str = "sh", stdin: str | bytes = b"", umask: int = -1
    ) -> subprocess.CompletedProcess[str]:
        """As `Remote.run`: the one `shlex.join`, then the login shell's `-c`; stdin is
        bytes as given (a str is UTF-8), empty unless given (as over SSH), never the test
        runner's own."""
        done = subprocess.run(
            [shell, "-c", shlex.join(argv)],
            cwd=self.cwd,
            env=self.env,
            input=stdin.encode() if isinstance(stdin, str) else stdin,
            capture_output=True,
            timeout=60,
            check=False,
            umask=umask,
        )
        out, err = (part.decode(errors="replace") for part in (done.stdout, done.stderr))
        return subprocess.CompletedProcess(done.args, done.returncode, out, err)

    def answer(self, key: str, out: str = "", rc: int | None = None) -> None:
        """What the fake docker prints (and exits with) for `docker A B` (key "A.B") or `A`."""
        (self.docker_dir / f"out.{key}").write_text(out)
        if rc is not None:
            (self.docker_dir / f"rc.{key}").write_text(str(rc))

    def fail_next(self, key: str, times: int = 1) -> None:
        """The next `times` calls of `docker A B` (key "A.B") or `A` fail (exit 1)."""
        (self.docker_dir / f"fail.{key}").write_text(str(times))

    def queue(self, key: str, *lines: str) -> None:
        """The next calls of `docker A B` (key "A.B") or `A` print these, a line each."""
        (self.docker_dir / f"queue.{key}").write_text("".join(f"{line}\n" for line in lines))

    def image_present(self, present: bool = True) -> None:
        """Whether `docker image inspect` finds the image (any image)."""
        marker = self.docker_dir / "image-present"
        if present:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)

    def exec_here(self) -> None:
        """`docker exec CONTAINER CMD...` runs CMD on this machine, as if inside."""
        (self.docker_dir / "exec-here").touch()

    def slow(self, command: str, seconds: float) -> None:
        """`docker COMMAND` sleeps this long before it does (and records) anything."""
        (self.docker_dir / f"sleep.{command}").write_text(str(seconds))

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
        self, argv: Sequence[str], stdin: str | bytes | None = None, timeout: float | None = None
    ) -> RunResult:
        self.argvs.append(list(argv))
        done = self.sandbox.run(argv, stdin=stdin or b"")
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


def hostile_files(value: str) -> dict[str, bytes]:
    """What `stage` reads from its stdin, each file holding `value`, shell syntax, printf
    escapes and bytes that are no UTF-8 (NUL, 0xff, CR, ESC): data, whatever they are."""
    return {
        name: f"{name}: {value}\n-n %s %b \\c {value}".encode() + b"\x00\xff\xfe\r\n\x1b[0m"
        for name in cmd.STAGED
    }


def test_every_command_is_covered() -> None:
    assert set(ARGV_FUNCTIONS) >= {
        "compose",
        "survey",
        "lease_acquire",
        "lease_renew",
        "lease_release",
        "lease_status",
        "lease_break",
        "login",
        "stage",
        "resolve",
        "migrations",
        "start_slot",
        "drain_and_stop",
        "find_container",
        "probe",
        "container_logs",
        "health_log",
        "containers",
        "switch",
        "finish",
        "audit",
    }
    gone = {"prepare", "check_and_pull", "record", "prune", "stop_slot", "draining"}
    assert not gone & set(ARGV_FUNCTIONS)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
@pytest.mark.parametrize("name", sorted(ARGV_FUNCTIONS))
def test_no_value_runs_as_code(sb: Sandbox, name: str, payload: str, shell: str) -> None:
    function = ARGV_FUNCTIONS[name]
    hostile = payload.replace("@", str(sb.canary))
    # As given (relative: lands under the cwd), and under an existing app directory so
    # the scripts get past their first `mkdir`/`touch` and reach their later lines.
    absolute = f"{sb.host}/{hostile}"
    sb.answer("exec", "0\n")  # no old nginx worker left: drain_and_stop goes on to stop
    sb.answer("ps.-q", "c1\nc2\n")  # ...containers it stops
    for sub in ("proxy/upstreams", "slots", "releases"):
        (Path(absolute) / sub).mkdir(parents=True, exist_ok=True)
    for value in (hostile, absolute):
        # The directory of "$path/slots/$slot.env" when the slot too is a hostile path.
        Path(sb.cwd, f"{value}/slots/{value}.env").parent.mkdir(parents=True, exist_ok=True)
        before = len(sb.docker_calls())
        argv = function(**arguments(function, value))
        assert all(isinstance(word, str) for word in argv)
        # The stage's files come as a tar on its stdin (their names cannot be chosen:
        # see test_the_payload_holds_exactly_the_staged_names); others get the value.
        stdin = cmd.stage_payload(hostile_files(value)) if name == "stage" else value
        done = sb.run(argv, shell, stdin=stdin)
        assert not sb.canary_fired(), (name, value, done.stdout, done.stderr)
        assert "syntax error" not in done.stderr.lower(), done.stderr
        assert "unexpected" not in done.stderr, done.stderr
        if argv[0] == "docker":  # a plain command: docker gets exactly these words
            assert sb.docker_calls()[before:] == [argv[1:]]
        if name in ("stage", "finish", "drain_and_stop"):  # all the way through
            assert done.returncode == 0, (value, done.stdout, done.stderr)
        if name == "stage":  # path, release and slot all `value`: each file where it goes
            where = value if value.startswith("/") else f"{sb.cwd}/{value}"
            for file, data in hostile_files(value).items():
                assert landing(where, where, value)[file].read_bytes() == data, file


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_values_reach_docker_verbatim(sb: Sandbox, payload: str) -> None:
    hostile = payload.replace("@", str(sb.canary))
    sb.run(cmd.resolve(hostile))
    assert sb.docker_calls() == [
        ["pull", "--quiet", hostile],
        ["image", "inspect", "-f", "{{range .RepoDigests}}{{println .}}{{end}}", hostile],
    ]
    app = sb.host / "app"
    tar = cmd.stage_payload(hostile_files(hostile))
    staged = sb.run(
        cmd.stage(
            str(app), release=f"{app}/releases/v2", image=hostile, slot="blue", min_free_mb=1
        ),
        stdin=tar,
    )
    assert staged.returncode == 0, staged.stderr
    assert (app / "releases" / "v2" / "image").read_bytes() == f"{hostile}\n".encode()
    assert sb.docker_calls()[2:] == [["image", "inspect", hostile], ["pull", "--quiet", hostile]]
    sb.run(cmd.survey(str(sb.host), hostile, ("web",)))
    assert ["inspect", "-f", "{{.State.Running}}", f"{hostile}-proxy-nginx-1"] in sb.docker_calls()
    assert sb.run(cmd.drain_and_stop(hostile, "green", 0)).returncode == 0
    assert sb.docker_calls()[-2:] == [
        ["exec", f"{hostile}-proxy-nginx-1", "sh", "-c", cmd._DRAINING],
        ["ps", "-q", "--filter", f"label=com.docker.compose.project={hostile}-green"],
    ]
    for number in range(4):  # more releases than `keep`: the prune runs, images too
        (app / "releases" / f"old{number}").mkdir()
    finished = sb.run(
        cmd.finish(str(app), state_json="{}", keep=3, name=hostile, audit_line="line")
    )
    assert finished.returncode == 0, finished.stderr
    assert sb.docker_calls()[-1][-1] == hostile  # `docker image ls ... NAME`
    assert not sb.canary_fired()


def test_every_script_is_named_and_parses() -> None:
    assert set(cmd.SCRIPTS) == {
        "survey",
        "lease-acquire",
        "lease-renew",
        "lease-release",
        "lease-status",
        "lease-break",
        "stage",
        "resolve",
        "switch",
        "drain-and-stop",
        "finish",
        "audit",
    }
    assert len(set(cmd.SCRIPTS.values())) == len(cmd.SCRIPTS)  # a name per script
    for name, function in ARGV_FUNCTIONS.items():
        argv = function(**arguments(function, "x"))
        if argv[:2] == ["sh", "-c"]:
            assert cmd.script_name(argv) is not None, name  # a dry run can name it
        else:
            assert cmd.script_name(argv) is None, name
    for shell in SHELLS:
        for name, script in cmd.SCRIPTS.items():
            done = subprocess.run(
                [shell, "-n", "-c", script], capture_output=True, text=True, check=False
            )
            assert (done.returncode, done.stderr) == (0, ""), (shell, name)


def test_the_new_commands_are_their_scripts() -> None:
    assert cmd.stage("/p", release="/p/r", image="img", slot="blue", min_free_mb=7) == [
        "sh",
        "-c",
        cmd._STAGE,
        "sh",
        "/p",
        "/p/r",
        "img",
        "blue",
        "7",
    ]
    assert cmd.drain_and_stop("web", "blue", 2.0) == [
        "sh",
        "-c",
        cmd._STOP,
        "sh",
        "web-proxy-nginx-1",
        "2",
        "web-blue",
        cmd._DRAINING,
    ]
    # Whole seconds, rounded up (the script counts `date +%s`); never negative.
    assert [cmd.drain_and_stop("web", "blue", t)[5] for t in (0, 0.2, 2.5, -1)] == [
        "0",
        "1",
        "3",
        "0",
    ]
    assert cmd.finish("/p", state_json="{}", keep=5, name="reg/web", audit_line="line") == [
        "sh",
        "-c",
        cmd._FINISH,
        "sh",
        "/p",
        "{}",
        "5",
        "reg/web",
        "line",
    ]
    assert (
        cmd.finish("/p", state_json="{}", keep=0, name="reg/web", audit_line="line")[6] == "2"
    )  # live and previous stay
    assert (
        cmd.script_name(cmd.stage("/p", release="/r", image="i", slot="b", min_free_mb=1))
        == "stage"
    )
    assert cmd.script_name(cmd.drain_and_stop("web", "blue", 2)) == "drain-and-stop"
    assert (
        cmd.script_name(cmd.finish("/p", state_json="{}", keep=3, name="n", audit_line="l"))
        == "finish"
    )
    # No file is a parameter: none can reach argv, whatever its size or bytes.
    assert list(inspect.signature(cmd.stage).parameters) == [
        "path",
        "release",
        "image",
        "slot",
        "min_free_mb",
    ]


def test_show_names_the_script_and_gives_long_words_by_size() -> None:
    argv = cmd.stage(
        "/srv/web",
        release="/srv/web/releases/v2",
        image="reg/web@sha256:2",
        slot="green",
        min_free_mb=1024,
    )
    assert cmd.show(argv) == (
        "sh -c <stage script> sh /srv/web /srv/web/releases/v2 reg/web@sha256:2 green 1024"
    )
    assert "\n" not in cmd.show(argv)
    assert cmd.show(cmd.drain_and_stop("web", "blue", 2)) == (
        "sh -c <drain-and-stop script> sh web-proxy-nginx-1 2 web-blue "
        + shlex.quote(cmd._DRAINING)
    )
    assert cmd.show(
        cmd.finish(
            "/srv/web", state_json='{"slot": "green"}', keep=3, name="reg/web", audit_line="T bob"
        )
    ) == ("sh -c <finish script> sh /srv/web '{\"slot\": \"green\"}' 3 reg/web 'T bob'")
    # Sizes in bytes, not characters; a long word is a size even without a newline.
    assert cmd.show(["echo", "é\n"]) == "echo '<3 bytes>'"
    assert cmd.show(["echo", "x" * 120]) == "echo " + "x" * 120
    assert cmd.show(["echo", "x" * 121]) == "echo '<121 bytes>'"
    # Not a constant script: the argv as it is joined, quoted.
    assert cmd.show(["docker", "ps", "a b"]) == "docker ps 'a b'"
    assert cmd.script_name(["sh", "-c", "echo hi", "sh"]) is None
    assert cmd.show(["sh", "-c", "echo hi"]) == "sh -c 'echo hi'"
    assert cmd.script_name(["sh"]) is None


# -- staging a release, for real ------------------------------------------------------------

SECRET_ENV = b'DB_PASSWORD="hunter2 $(touch CANARY) `x`\nEMPTY=\n\nLAST=no newline at the end'
FILES = {
    "compose.yml": b"services:\n  web: {image: ${APP_IMAGE}}\n",
    "app.env": SECRET_ENV,
    "slot.env": b"APP_IMAGE=reg/web@sha256:2\nAPP_SLOT=green\n",
    "nginx.conf": b"events {}\nhttp {}\n",
    "proxy.yml": b'{"services": {}}\n',
}
IMAGE = "reg/web@sha256:" + "2" * 64


def landing(app: Path | str, release: Path | str, slot: str) -> dict[str, Path]:
    """Where `stage` puts each file of its tar (joined as the script joins: a slot that
    is itself an absolute path stays under `slots/`)."""
    return {
        "compose.yml": Path(f"{release}/compose.yml"),
        "app.env": Path(f"{release}/app.env"),
        "slot.env": Path(f"{app}/slots/{slot}.env"),
        "nginx.conf": Path(f"{app}/proxy/nginx/nginx.conf"),
        "proxy.yml": Path(f"{app}/proxy/compose.yml"),
    }


APP_DIR = "host/app"
RELEASE_DIR = "host/app/releases/v2"


def stage(
    sb: Sandbox,
    *,
    min_free_mb: int = 1,
    env: bytes = SECRET_ENV,
    files: dict[str, bytes] | None = None,
    stdin: bytes | None = None,
    umask: int = -1,
    shell: str = "sh",
) -> subprocess.CompletedProcess[str]:
    """Stage FILES (with `env` as app.env, `files` replacing some) into releases/v2 for
    green; `stdin` sends those bytes instead of the tar."""
    app = sb.host / "app"
    argv = cmd.stage(
        str(app), release=f"{app}/releases/v2", image=IMAGE, slot="green", min_free_mb=min_free_mb
    )
    payload = cmd.stage_payload({**FILES, "app.env": env, **(files or {})})
    return sb.run(argv, shell, stdin=payload if stdin is None else stdin, umask=umask)


def staged_at(sb: Sandbox) -> dict[str, Path]:
    app = sb.host / "app"
    return landing(app, app / "releases" / "v2", "green")


def leftovers(root: Path) -> list[Path]:
    """Temporary directories (`.stage.XXXXXX`) anywhere under `root`."""
    return sorted(p for p in root.rglob(".stage.*"))


def fake_df(sb: Sandbox, available: str) -> None:
    """`df -Pm` reporting `available` MB free (an empty string: df prints nothing)."""
    df = sb.bin / "df"
    if available:
        df.write_text(
            "#!/bin/sh\necho 'Filesystem 1048576-blocks Used Available Capacity Mounted on'\n"
            f"echo '/dev/fake 999999 1 {available} 1% /'\n"
        )
    else:
        df.write_text("#!/bin/sh\necho 'df: cannot read table of mounted file systems' >&2\n")
    df.chmod(0o755)


def test_the_payload_holds_exactly_the_staged_names() -> None:
    assert cmd.STAGED == ("compose.yml", "app.env", "slot.env", "nginx.conf", "proxy.yml")
    files = {**hostile_files("x"), "../../etc/evil": b"no", "/abs": b"no", "a\nb": b"no"}
    with tarfile.open(fileobj=io.BytesIO(cmd.stage_payload(files))) as archive:
        members = archive.getmembers()
        # Only the five names, in order, plain files: a name in the mapping that is not
        # one of them is never sent, so no name in the tar can be chosen by a caller.
        assert [m.name for m in members] == list(cmd.STAGED)
        assert all(m.isfile() for m in members)
        assert {m.name: m.mode for m in members} == {
            name: 0o600 if name == "app.env" else 0o644 for name in cmd.STAGED
        }
        for member in members:
            extracted = archive.extractfile(member)
            assert extracted is not None
            assert extracted.read() == files[member.name]  # bytes unchanged, NUL and all
    # A file missing is an error here, not an empty file on the host.
    with pytest.raises(KeyError, match=r"nginx\.conf"):
        cmd.stage_payload({n: b"" for n in cmd.STAGED if n != "nginx.conf"})


@pytest.mark.parametrize("shell", SHELLS)
def test_stage_writes_the_release_and_pulls_a_missing_image(sb: Sandbox, shell: str) -> None:
    done = stage(sb, shell=shell)
    assert done.returncode == 0, done.stderr
    free = free_mb(done.stdout)
    assert free > 0
    assert done.stdout == f"free {free}\n"
    app = sb.host / "app"
    release = app / "releases" / "v2"
    for name, where in staged_at(sb).items():
        assert where.read_bytes() == FILES[name], name
        assert stat.S_IMODE(where.stat().st_mode) == (0o600 if name == "app.env" else 0o644)
    assert (release / "image").read_text() == IMAGE + "\n"
    # Every file renamed in from the temporary directory, which is gone.
    assert sorted(p.name for p in app.iterdir()) == ["proxy", "releases", "slots"]
    assert sorted(p.name for p in release.iterdir()) == ["app.env", "compose.yml", "image"]
    assert sorted(p.name for p in (app / "slots").iterdir()) == ["green.env"]
    assert sorted(p.name for p in (app / "proxy").iterdir()) == [
        "compose.yml",
        "nginx",
        "upstreams",
    ]
    assert sorted(p.name for p in (app / "proxy" / "nginx").iterdir()) == ["nginx.conf"]
    assert list((app / "proxy" / "upstreams").iterdir()) == []
    assert sb.docker_calls() == [["image", "inspect", IMAGE], ["pull", "--quiet", IMAGE]]
    assert not sb.canary_fired()
    assert not (sb.cwd / "CANARY").exists()  # the env file's `$(touch CANARY)` is text


def test_the_env_file_gets_mode_0600_whatever_the_umask(sb: Sandbox) -> None:
    done = stage(sb, umask=0)  # whatever the login shell's umask
    assert done.returncode == 0, done.stderr
    at = staged_at(sb)
    env = at["app.env"]
    assert env.read_bytes() == SECRET_ENV
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    for name in ("compose.yml", "slot.env", "nginx.conf", "proxy.yml"):  # not secret
        assert stat.S_IMODE(at[name].stat().st_mode) == 0o644, name
    # A redeploy of the release replaces the file whole, still 0600.
    inode = env.stat().st_ino
    assert stage(sb, env=b"NEW=1\n", umask=0o022).returncode == 0
    assert env.read_bytes() == b"NEW=1\n"
    assert env.stat().st_ino != inode
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    # No env file: an empty one.
    assert stage(sb, env=b"").returncode == 0
    assert env.read_bytes() == b""
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_env_bytes_that_are_not_utf8_arrive_unchanged(sb: Sandbox) -> None:
    env = b"LATIN1=caf\xe9\nBINARY=\x00\xff\xfe\x80\r\nBOM=\xef\xbb\xbfx\nESC=\x1b[31m\n\xc3("
    with pytest.raises(UnicodeDecodeError):
        env.decode()
    done = stage(sb, env=env, umask=0)
    assert done.returncode == 0, done.stderr
    staged = staged_at(sb)["app.env"]
    assert staged.read_bytes() == env
    assert stat.S_IMODE(staged.stat().st_mode) == 0o600


def test_a_300_kib_compose_file_stages(sb: Sandbox) -> None:
    # Over the old limit of a file passed in argv (128 KiB a word on Linux).
    service = b"  svc%06d:\n    image: ${APP_IMAGE}\n    command: [sleep, infinity]\n"
    compose = b"services:\n" + b"".join(service % i for i in range(6000))
    compose = compose[: 300 * 1024]
    assert len(compose) == 300 * 1024
    done = stage(sb, files={"compose.yml": compose})
    assert done.returncode == 0, done.stderr
    assert staged_at(sb)["compose.yml"].read_bytes() == compose
    assert staged_at(sb)["app.env"].read_bytes() == SECRET_ENV
    # Below the free-space floor the script stops before it reads its stdin: it still
    # ends with its own exit status, the big payload unread.
    low = stage(sb, files={"compose.yml": compose[::-1]}, min_free_mb=10**12)
    assert low.returncode == 4
    assert staged_at(sb)["compose.yml"].read_bytes() == compose


def test_the_temporary_directory_is_gone_after_success_and_after_failure(sb: Sandbox) -> None:
    app = sb.host / "app"
    assert stage(sb).returncode == 0
    assert leftovers(sb.root) == []
    sb.answer("pull", "", rc=1)  # fails after every file was moved in
    assert stage(sb).returncode == 1
    assert leftovers(sb.root) == []
    assert stage(sb, stdin=b"not a tar at all\n" * 100).returncode != 0  # fails in tar
    assert leftovers(sb.root) == []
    without_env = cmd.stage_payload(FILES)[:512]  # no complete file: chmod fails
    assert stage(sb, stdin=without_env).returncode != 0
    assert leftovers(sb.root) == []
    assert sorted(p.name for p in app.iterdir()) == ["proxy", "releases", "slots"]


def tar_of(members: dict[str, bytes]) -> bytes:
    """A well-formed tar of these names and contents, as no `stage_payload` makes one."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


NEW = {name: b"NEW " + FILES[name] for name in cmd.STAGED}


CORRUPT = {
    "garbage": b"this is not a tar\n" * 64,
    "empty": b"",
    "truncated": cmd.stage_payload(NEW)[:1536],
    "bad-checksum": b"compose.yml" + b"\0" * 501 + b"x" * 512 + b"\0" * 1024,
    "one-file-short": tar_of({n: NEW[n] for n in cmd.STAGED if n != "app.env"}),
    # GNU tar refuses a member with `..` in its name (and exits 2): the stage stops.
    "names-escaping": tar_of({**NEW, "../../escaped": b"no", "../../../../escaped": b"no"}),
}


@pytest.mark.parametrize("payload", list(CORRUPT.values()), ids=list(CORRUPT))
def test_a_corrupt_tar_fails_the_stage_and_leaves_the_previous_files(
    sb: Sandbox, payload: bytes
) -> None:
    assert stage(sb).returncode == 0
    sb.image_present()
    image = sb.host / "app" / "releases" / "v2" / "image"
    before = {
        where: (where.read_bytes(), where.stat().st_ino, where.stat().st_mode)
        for where in [*staged_at(sb).values(), image]
    }
    calls = len(sb.docker_calls())
    done = stage(sb, stdin=payload)
    assert done.returncode != 0, done.stdout
    assert done.returncode != 4  # not blamed on the disk
    after = {
        where: (where.read_bytes(), where.stat().st_ino, where.stat().st_mode) for where in before
    }
    assert after == before  # not one file replaced, half-written or re-moded
    assert leftovers(sb.root) == []
    assert sb.docker_calls()[calls:] == []  # it stopped before the image
    assert not any(p.name == "escaped" for p in sb.root.rglob("*"))


def test_the_escaping_tar_is_what_it_claims() -> None:
    with tarfile.open(fileobj=io.BytesIO(CORRUPT["names-escaping"])) as archive:
        names = archive.getnames()
    assert names == [*cmd.STAGED, "../../escaped", "../../../../escaped"]
    with tarfile.open(fileobj=io.BytesIO(CORRUPT["one-file-short"])) as archive:
        assert archive.getnames() == [n for n in cmd.STAGED if n != "app.env"]


def test_stage_keeps_an_image_that_is_present(sb: Sandbox) -> None:
    sb.image_present()
    done = stage(sb)
    assert done.returncode == 0, done.stderr
    assert sb.docker_calls() == [["image", "inspect", IMAGE]]  # no pull
    sb.image_present(False)
    assert stage(sb).returncode == 0
    assert sb.docker_calls()[1:] == [["image", "inspect", IMAGE], ["pull", "--quiet", IMAGE]]


def test_a_failed_pull_fails_the_stage(sb: Sandbox) -> None:
    sb.answer("pull", "", rc=1)
    done = stage(sb)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == f"docker pull {IMAGE} failed"
    assert free_mb(done.stdout) > 0


def test_stage_below_the_free_space_floor_exits_4_and_writes_nothing(sb: Sandbox) -> None:
    done = stage(sb, min_free_mb=10**12)
    assert done.returncode == 4
    free = free_mb(done.stdout)
    assert free > 0
    assert done.stdout == f"free {free}\n"
    app = sb.host / "app"
    assert list((app / "releases" / "v2").iterdir()) == []  # the directories, no file
    assert list((app / "slots").iterdir()) == []
    assert sorted(p.name for p in (app / "proxy").iterdir()) == ["nginx", "upstreams"]
    assert list((app / "proxy" / "nginx").iterdir()) == []
    assert sorted(p.name for p in app.iterdir()) == ["proxy", "releases", "slots"]  # no temp
    assert sb.docker_calls() == []  # no pull either


def test_the_free_space_floor_is_inclusive(sb: Sandbox) -> None:
    fake_df(sb, "100")
    done = stage(sb, min_free_mb=100)
    assert (done.returncode, done.stdout.splitlines()[0]) == (0, "free 100")
    done = stage(sb, min_free_mb=101)
    assert (done.returncode, done.stdout) == (4, "free 100\n")
    assert free_mb(done.stdout) == 100


def test_stage_when_df_says_nothing(sb: Sandbox) -> None:
    fake_df(sb, "")
    done = stage(sb, min_free_mb=1)
    assert done.returncode == 4
    assert free_mb(done.stdout) == 0  # the executor reports 0 MB free
    assert not (sb.host / "app" / "releases" / "v2" / "app.env").exists()


def test_stage_where_no_directory_can_be_made(sb: Sandbox) -> None:
    blocked = sb.host / "file"
    blocked.write_text("not a directory")
    argv = cmd.stage(
        str(blocked), release=f"{blocked}/releases/v2", image=IMAGE, slot="green", min_free_mb=1
    )
    done = sb.run(argv, stdin=cmd.stage_payload(FILES))
    assert done.returncode == 1
    assert free_mb(done.stdout) == 0
    assert blocked.read_text() == "not a directory"
    assert sb.docker_calls() == []


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_stage_writes_hostile_values_verbatim(sb: Sandbox, payload: str, shell: str) -> None:
    hostile = payload.replace("@", str(sb.canary))
    app = f"{sb.host}/app {hostile}"
    release = f"{app}/releases/{hostile}"
    Path(f"{app}/slots/{hostile}.env").parent.mkdir(parents=True, exist_ok=True)
    files = hostile_files(hostile)
    argv = cmd.stage(app, release=release, image=hostile, slot=hostile, min_free_mb=1)
    done = sb.run(argv, shell, stdin=cmd.stage_payload(files))
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert not sb.canary_fired()
    for name, where in landing(app, release, hostile).items():
        assert where.read_bytes() == files[name], name  # hostile text and binary bytes
    assert stat.S_IMODE(Path(release, "app.env").stat().st_mode) == 0o600
    assert Path(release, "image").read_bytes() == f"{hostile}\n".encode()
    assert sb.docker_calls() == [["image", "inspect", hostile], ["pull", "--quiet", hostile]]
    assert leftovers(sb.root) == []


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
    holder = leases.parse_holder(held.stdout)
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
    # A later round (a fleet deploy gives back every lease while it waits for another
    # host) takes the lock plainly: what this run broke is still reported.
    broken = theirs.broken
    assert theirs.try_take(OWNER_B) is None  # `taken`: the lock was free
    assert theirs.held
    assert theirs.broken is broken
    theirs.release()


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


CONF = "/etc/shipline/nginx/nginx.conf"
"""Where the proxy's compose file mounts `proxy/nginx/` and runs nginx from."""
RELOAD = [
    "exec",
    "app-proxy-nginx-1",
    "sh",
    "-c",
    'nginx -t -q -c "$0" && nginx -s reload -c "$0"',
    CONF,
]


def proxy_up(path: Path) -> list[str]:
    return [
        "compose",
        "-p",
        "app-proxy",
        "-f",
        f"{path}/proxy/compose.yml",
        "up",
        "-d",
        "--quiet-pull",
    ]


def switch_host(sb: Sandbox) -> Path:
    path = sb.host / "app"
    (path / "proxy" / "upstreams").mkdir(parents=True)
    return path


def test_switch_writes_the_upstreams_and_reloads_a_running_proxy(sb: Sandbox) -> None:
    path = switch_host(sb)
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
    # The reload is tried first: a running proxy costs one docker call, no inspect.
    assert sb.docker_calls() == [RELOAD]


def test_switch_starts_a_proxy_that_is_not_running(sb: Sandbox) -> None:
    path = switch_host(sb)
    sb.fail_next("exec")  # no proxy container: the reload fails
    done = sb.run(cmd.switch(str(path), "app", (("web", 8001),)))
    assert done.returncode == 0, done.stderr
    assert sb.docker_calls() == [RELOAD, proxy_up(path), RELOAD]
    assert not (path / ".switching").exists()


def test_switch_waits_for_a_proxy_just_started(sb: Sandbox) -> None:
    path = switch_host(sb)
    sb.fail_next("exec", 3)  # nginx has no pid file yet for two more tries
    done = sb.run(cmd.switch(str(path), "app", (("web", 8001),)))
    assert done.returncode == 0, done.stderr
    assert sb.docker_calls() == [RELOAD, proxy_up(path), RELOAD, RELOAD, RELOAD]


def test_switch_brings_a_running_proxy_to_its_compose_file_when_its_reload_fails(
    sb: Sandbox,
) -> None:
    """A proxy started from an older definition (another mount, image) cannot reload the
    new config: `compose up` recreates it, and leaves an unchanged one alone."""
    path = switch_host(sb)
    sb.fail_next("exec")
    sb.answer("inspect.-f", "true\n")
    assert sb.run(cmd.switch(str(path), "app", (("web", 8001),))).returncode == 0
    assert sb.docker_calls() == [RELOAD, proxy_up(path), RELOAD]


def test_a_switch_that_cannot_start_the_proxy_fails_and_leaves_its_mark(sb: Sandbox) -> None:
    path = switch_host(sb)
    sb.fail_next("exec")
    sb.answer("compose", "", rc=1)
    done = sb.run(cmd.switch(str(path), "app", (("web", 8001),)))
    assert done.returncode == 1
    assert sb.docker_calls() == [RELOAD, proxy_up(path)]
    assert "127.0.0.1:8001;" in (path / "proxy/upstreams/web.conf").read_text()
    # nginx may not serve what the files say: the next survey sees the mark and syncs.
    assert (path / ".switching").exists()


def fake_nginx(sb: Sandbox, valid: bool = True) -> Path:
    """An `nginx` on PATH that logs its argv a line each; `-t` fails unless `valid`.
    With `exec_here`, the switch's `docker exec` runs its reload against it."""
    log = sb.root / "nginx.calls"
    nginx = sb.bin / "nginx"
    nginx.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {shlex.quote(str(log))}\n'
        + ('[ "$1" = -t ] && exit 1\n' if not valid else "")
        + "exit 0\n"
    )
    nginx.chmod(0o755)
    log.touch()
    return log


def test_the_reload_tests_then_reloads_the_mounted_config_in_one_exec(sb: Sandbox) -> None:
    path = switch_host(sb)
    sb.exec_here()
    log = fake_nginx(sb)
    done = sb.run(cmd.switch(str(path), "app", (("web", 8002),)))
    assert done.returncode == 0, done.stderr
    assert sb.docker_calls() == [RELOAD]  # one docker exec for test and reload
    # Both with -c: the config is the mounted directory's, and the reload signals the
    # pid that config names (nginx without -c would read the image's default config).
    assert log.read_text().splitlines() == [f"-t -q -c {CONF}", f"-s reload -c {CONF}"]
    assert not (path / ".switching").exists()


def test_a_config_nginx_rejects_is_never_reloaded(sb: Sandbox) -> None:
    path = switch_host(sb)
    sb.exec_here()
    log = fake_nginx(sb, valid=False)
    pause = sb.bin / "sleep"  # the retries' pauses, instant
    pause.write_text("#!/bin/sh\nexit 0\n")
    pause.chmod(0o755)
    done = sb.run(cmd.switch(str(path), "app", (("web", 8002),)))
    assert done.returncode == 1
    tries = log.read_text().splitlines()
    assert set(tries) == {f"-t -q -c {CONF}"}  # `-s reload` never ran
    assert len(tries) == 22  # the first, 20 while it may be starting, the last shown
    assert sb.docker_calls() == [RELOAD, proxy_up(path)] + [RELOAD] * 21
    assert (path / ".switching").exists()  # the next survey re-syncs


DRAINING = ["exec", "web-proxy-nginx-1", "sh", "-c", cmd._DRAINING]
RUNNING_IN_BLUE = ["ps", "-q", "--filter", "label=com.docker.compose.project=web-blue"]


def test_drain_and_stop_with_nothing_draining_or_running(sb: Sandbox) -> None:
    sb.answer("exec", "0\n")
    done = sb.run(cmd.drain_and_stop("web", "blue", 30))
    assert (done.returncode, done.stdout) == (0, "")
    assert sb.docker_calls() == [DRAINING, RUNNING_IN_BLUE]


def test_drain_and_stop_waits_for_the_old_workers(sb: Sandbox) -> None:
    sb.queue("exec", "2", "1")  # two old workers, then one, then none
    sb.answer("exec", "0\n")
    done = sb.run(cmd.drain_and_stop("web", "blue", 30))
    assert done.returncode == 0, done.stderr
    assert sb.docker_calls() == [DRAINING, DRAINING, DRAINING, RUNNING_IN_BLUE]


def test_drain_and_stop_waits_at_most_its_limit(sb: Sandbox) -> None:
    sb.answer("exec", "3\n")  # a request that never ends
    began = time.monotonic()
    done = sb.run(cmd.drain_and_stop("web", "blue", 1))
    assert time.monotonic() - began < 5
    assert done.returncode == 0, done.stderr
    calls = sb.docker_calls()
    assert calls[-1] == RUNNING_IN_BLUE  # the stop goes ahead at the bound
    assert set(map(tuple, calls[:-1])) == {tuple(DRAINING)}
    # A limit of 0 asks once and does not wait.
    sb.answer("exec", "3\n")
    before = len(sb.docker_calls())
    assert sb.run(cmd.drain_and_stop("web", "blue", 0)).returncode == 0
    assert sb.docker_calls()[before:] == [DRAINING, RUNNING_IN_BLUE]


def test_drain_and_stop_without_a_proxy_does_not_wait(sb: Sandbox) -> None:
    sb.answer("exec", "", rc=1)  # no proxy container: nothing can be draining
    began = time.monotonic()
    assert sb.run(cmd.drain_and_stop("web", "blue", 30)).returncode == 0
    assert time.monotonic() - began < 5
    assert sb.docker_calls() == [DRAINING, RUNNING_IN_BLUE]


@pytest.mark.parametrize("shell", SHELLS)
def test_drain_and_stop_returns_at_once_and_stops_in_the_background(
    sb: Sandbox, shell: str
) -> None:
    sb.answer("exec", "0\n")
    sb.answer("ps.-q", "c1\nc2\n")
    sb.slow("stop", 2)  # the app's graceful stop
    began = time.monotonic()
    done = sb.run(cmd.drain_and_stop("web", "blue", 30), shell)
    assert time.monotonic() - began < 1.5
    assert (done.returncode, done.stdout, done.stderr) == (0, "stopping c1 c2\n", "")
    stop = ["stop", "--time", "30", "c1", "c2"]
    assert stop not in sb.docker_calls()  # still stopping: the command did not wait
    deadline = time.monotonic() + 30
    while stop not in sb.docker_calls() and time.monotonic() < deadline:
        time.sleep(0.05)
    # It outlived the shell that started it (as it outlives the SSH session).
    assert sb.docker_calls() == [DRAINING, RUNNING_IN_BLUE, stop]


def test_the_survey_reads_what_switch_stage_and_finish_wrote(sb: Sandbox) -> None:
    path = sb.host / "app"
    (path / "proxy" / "upstreams").mkdir(parents=True)
    assert sb.run(cmd.switch(str(path), "app", (("web", 8002), ("worker", 8004)))).returncode == 0
    slot_env = b"APP_IMAGE=reg/web@sha256:2\nAPP_VERSION=v2\n"
    files = {**FILES, "slot.env": slot_env, "app.env": b"SECRET=1\n"}
    staged = cmd.stage(
        str(path),
        release=f"{path}/releases/v2",
        image="reg/web@sha256:2",
        slot="green",
        min_free_mb=1,
    )
    assert sb.run(staged, stdin=cmd.stage_payload(files)).returncode == 0
    state = {"slot": "blue", "version": "v1", "image": "reg/web@sha256:1", "history": []}
    text = json.dumps(state, indent=2)
    assert (
        sb.run(
            cmd.finish(str(path), state_json=text, keep=3, name="reg/web", audit_line="T deployed")
        ).returncode
        == 0
    )
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
    assert "SECRET" not in done.stdout  # the env file is never read back
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


def test_free_mb() -> None:
    assert free_mb("free 5120\n") == 5120
    assert free_mb("some warning\nfree 12\n") == 12
    assert free_mb("free \n") == 0
    assert free_mb("free lots\n") == 0
    assert free_mb("") == 0


# -- finishing: record, audit, prune, for real ------------------------------------------------

STATE = json.dumps({"slot": "green", "version": "v5", "image": "reg/web@sha256:5"}, indent=2)


def make_releases(app: Path, count: int) -> Path:
    """Release directories v1..vN, oldest first, each naming its image as `stage` does."""
    releases = app / "releases"
    now = time.time()
    for i in range(1, count + 1):
        directory = releases / f"v{i}"
        directory.mkdir(parents=True)
        (directory / "image").write_text(f"reg/web@sha256:{i}")
        os.utime(directory, (now - 1000 + i, now - 1000 + i))
    return releases


def finish(
    sb: Sandbox, keep: int = 3, line: str = "T bob deployed v5", app: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return sb.run(
        cmd.finish(
            str(app or sb.host / "app"),
            state_json=STATE,
            keep=keep,
            name="reg/web",
            audit_line=line,
        )
    )


def test_finish_records_audits_and_prunes(sb: Sandbox) -> None:
    app = sb.host / "app"
    releases = make_releases(app, 5)
    (app / "audit.log").write_text("T0 alice deployed v4\n")
    sb.answer("image.ls", "".join(f"reg/web@sha256:{i} id{i}\n" for i in range(1, 6)))
    done = finish(sb)
    assert done.returncode == 0, done.stderr
    assert (app / "state.json").read_text() == STATE + "\n"
    assert (app / "audit.log").read_text() == "T0 alice deployed v4\nT bob deployed v5\n"
    assert sorted(p.name for p in app.iterdir()) == ["audit.log", "releases", "state.json"]
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
def test_finish_always_keeps_the_live_and_the_previous_release(sb: Sandbox, keep: int) -> None:
    releases = make_releases(sb.host / "app", 4)
    assert finish(sb, keep).returncode == 0
    assert sorted(p.name for p in releases.iterdir()) == ["v3", "v4"]


def test_finish_removes_oddly_named_releases_as_names(sb: Sandbox) -> None:
    releases = make_releases(sb.host / "app", 3)
    odd = releases / "--help"
    odd.mkdir()
    os.utime(odd, (1, 1))  # the oldest
    (sb.host / "app" / "keepme").write_text("outside releases")
    assert finish(sb).returncode == 0
    assert sorted(p.name for p in releases.iterdir()) == ["v1", "v2", "v3"]
    assert (sb.host / "app" / "keepme").exists()


def test_finish_without_releases_records_and_prunes_nothing(sb: Sandbox) -> None:
    app = sb.host / "app"
    app.mkdir()
    done = finish(sb)
    assert done.returncode == 0
    assert (app / "state.json").read_text() == STATE + "\n"
    assert (app / "audit.log").read_text() == "T bob deployed v5\n"
    assert sb.docker_calls() == []


def test_finish_where_nothing_can_be_recorded_stops_there(sb: Sandbox) -> None:
    done = finish(sb, app=sb.host / "none")
    assert done.returncode == 1
    assert not (sb.host / "none").exists()
    assert sb.docker_calls() == []


def test_finish_audits_even_when_state_json_cannot_be_written(sb: Sandbox) -> None:
    app = sb.host / "app"
    releases = make_releases(app, 5)
    (app / "audit.log").write_text("T0 alice deployed v4\n")
    (app / "state.json").write_text('{"slot": "blue"}\n')
    (app / "state.json.tmp").mkdir()  # the record cannot be written beside and renamed
    sb.answer("image.ls", "".join(f"reg/web@sha256:{i} id{i}\n" for i in range(1, 6)))
    done = finish(sb)
    assert done.returncode == 1
    # The deploy happened: its line is in the audit log whatever became of the record.
    assert (app / "audit.log").read_text() == "T0 alice deployed v4\nT bob deployed v5\n"
    assert (app / "state.json").read_text() == '{"slot": "blue"}\n'  # the old record, whole
    # It stops there: nothing is pruned on a host whose record is behind.
    assert sorted(p.name for p in releases.iterdir()) == ["v1", "v2", "v3", "v4", "v5"]
    assert sb.docker_calls() == []


def test_finish_audits_before_it_records(sb: Sandbox) -> None:
    # The order in the script itself: the audit append comes first.
    lines = [line.strip() for line in cmd._FINISH.strip().splitlines()]
    audit = next(i for i, line in enumerate(lines) if "audit.log" in line)
    record = next(i for i, line in enumerate(lines) if "state.json" in line)
    assert audit < record


def test_finish_replaces_state_json_whole(sb: Sandbox) -> None:
    path = sb.host / "app"
    path.mkdir()
    (path / "state.json").write_text('{"slot": "blue"}\n')
    before = (path / "state.json").stat().st_ino
    text = json.dumps({"slot": "green", "who": f"$(touch {sb.canary}) `x` 'q' \"d\" \\n"})
    done = sb.run(cmd.finish(str(path), state_json=text, keep=3, name="reg/web", audit_line="line"))
    assert done.returncode == 0, done.stderr
    assert (path / "state.json").read_text() == text + "\n"
    # Written beside and renamed over: a reader never sees half a file.
    assert (path / "state.json").stat().st_ino != before
    assert sorted(p.name for p in path.iterdir()) == ["audit.log", "state.json"]
    assert not sb.canary_fired()


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_finish_writes_hostile_values_verbatim(sb: Sandbox, payload: str, shell: str) -> None:
    hostile = payload.replace("@", str(sb.canary))
    app = Path(f"{sb.host}/app {hostile}")
    releases = make_releases(app, 4)
    (app / "audit.log").write_text("earlier\n")
    state = f'{{"who": {json.dumps(hostile)}}}\n{hostile}'
    line = f"T {hostile} deployed {hostile} %s %d \\n"
    sb.answer("image.ls", "".join(f"reg/web@sha256:{i} id{i}\n" for i in range(1, 5)))
    done = sb.run(
        cmd.finish(str(app), state_json=state, keep=3, name=hostile, audit_line=line), shell
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert not sb.canary_fired()
    assert (app / "state.json").read_bytes() == (state + "\n").encode()
    assert (app / "audit.log").read_bytes() == f"earlier\n{line}\n".encode()
    assert sorted(p.name for p in releases.iterdir()) == ["v2", "v3", "v4"]
    calls = sb.docker_calls()
    assert calls[0][-1] == hostile  # `docker image ls ... NAME`, one word
    assert calls[1:] == [["rmi", "id1"]]


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
    # `finish` appends to the same log, as verbatim.
    assert (
        sb.run(
            cmd.finish(str(path), state_json="{}", keep=3, name="reg/web", audit_line=lines[1])
        ).returncode
        == 0
    )
    assert (path / "audit.log").read_text() == "".join(f"{line}\n" for line in [*lines, lines[1]])
    assert not sb.canary_fired()
