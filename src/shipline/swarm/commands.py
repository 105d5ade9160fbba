"""Every command a swarm deploy runs on the manager, as argv (see `deploy.commands`).

As there, `Remote.run` joins argv with `shlex.join`, the one place a command becomes
a string, and a shell is only ever a constant script of this module with values as
"$1", "$2"...: a version, a path or a service name stays data.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from shipline.deploy import commands as cmd
from shipline.deploy.commands import Argv, sh

TASK_FORMAT = (
    "{{.ID}}|{{.Name}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}|{{.Image}}"
)
"""`docker service ps --format`: one task a line, fields split on `|`."""

_SURVEY = r"""
path=$1; shift
info=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>&1) ||
  { printf 'engine %s\n' "$(printf '%s' "$info" | tr '\n' ' ')"; exit 0; }
printf 'swarm %s\n' "$info"
case "$info" in *true) ;; *) exit 0 ;; esac
docker node ls --format 'node {{.ID}} {{.Status}} {{.Availability}} {{.Hostname}}'
for s in "$@"; do
  if out=$(docker service inspect --format \
    '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{json .UpdateStatus}}' "$s" 2>/dev/null); then
    printf 'service %s %s\n' "$s" "$out"
  else
    printf 'service %s absent\n' "$s"
  fi
done
[ -f "$path/swarm-state.json" ] && printf 'state %s\n' "$(tr -d '\n' < "$path/swarm-state.json")"
true
"""


def survey(path: str, services: Sequence[str]) -> Argv:
    """One round trip: is this engine a swarm manager, its nodes, each service's image and
    update status, and the record of what shipline deployed."""
    return sh(_SURVEY, path, *services)


_STAGE = r"""
release=$1
mkdir -p "$release" || { cat >/dev/null; exit 1; }
tmp=$(mktemp -d "$release/.stage.XXXXXX") || { cat >/dev/null; exit 1; }
trap 'rm -rf "$tmp"' EXIT
umask 077
tar -x -f - -C "$tmp" --no-same-owner || exit 1
chmod 644 "$tmp/compose.yml" "$tmp/stack.json" && chmod 600 "$tmp/app.env" || exit 1
mv "$tmp/compose.yml" "$tmp/stack.json" "$tmp/app.env" "$release/" || exit 1
"""

STAGED = ("compose.yml", "stack.json", "app.env")
"""The release's files on the manager; app.env (the secret) is mode 0600."""


def stage(release: str) -> Argv:
    """The release's files from a tar on stdin (`payload`), never in argv."""
    return sh(_STAGE, release)


def payload(files: Mapping[str, bytes]) -> bytes:
    """The tar `stage` unpacks on the manager: the names of STAGED."""
    return cmd.tar_of(files, STAGED)


_STACK_DEPLOY = r"""
release=$1 stack=$2; shift 2
cd "$release" || exit 1
exec env "$@" docker stack deploy --with-registry-auth -c compose.yml -c stack.json "$stack"
"""


def stack_deploy(release: str, stack: str, variables: Sequence[tuple[str, str]]) -> Argv:
    """`docker stack deploy` of the user's compose file merged with shipline's stack.json,
    `${APP_IMAGE}` and the other variables set for the manager's docker CLI (no secret
    among them: those are in app.env). Detached: the deploy then watches the update."""
    return sh(_STACK_DEPLOY, release, stack, *(f"{k}={v}" for k, v in variables))


_STATUS = r"""
printf 'update %s\n' "$(docker service inspect --format '{{json .UpdateStatus}}' "$1" 2>&1 |
  tr '\n' ' ')"
docker service ps --no-trunc --format "task $2" "$1"
"""


def status(service: str) -> Argv:
    """The service's update status and every task (one round trip, polled)."""
    return sh(_STATUS, service, TASK_FORMAT)


def spec_image(service: str) -> Argv:
    """The image the service's spec names now (after a deploy: ours, if it got that far)."""
    return [
        "docker",
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        service,
    ]


def rollback(service: str) -> Argv:
    """Back to the service's previous spec; detached, the deploy watches it."""
    return ["docker", "service", "rollback", "--detach", service]


def tasks(service: str) -> Argv:
    fmt = "{{.Name}} {{.Node}} desired={{.DesiredState}} {{.CurrentState}} {{.Error}} {{.Image}}"
    return ["docker", "service", "ps", "--no-trunc", "--format", fmt, service]


def task_logs(task: str, lines: int = 30) -> Argv:
    return ["docker", "service", "logs", "--no-trunc", "--tail", str(lines), task]


_RECORD = r"""
path=$1 state=$2 line=$3 keep=$4
mkdir -p "$path" || exit 1
printf '%s\n' "$line" >> "$path/audit.log"
printf '%s\n' "$state" > "$path/swarm-state.json.tmp" &&
  mv "$path/swarm-state.json.tmp" "$path/swarm-state.json" || exit 1
cd "$path/swarm" 2>/dev/null || exit 0
ls -1t | tail -n +$((keep + 1)) | while IFS= read -r dir; do rm -rf -- "$dir"; done
true
"""


def record(path: str, *, state_json: str, audit_line: str, keep: int) -> Argv:
    """After success: what runs now and before (for `invoke rollback`), the audit line, and
    the newest `keep` release directories kept."""
    return sh(_RECORD, path, state_json, audit_line, str(max(keep, 2)))


SCRIPTS = {
    "swarm-survey": _SURVEY,
    "swarm-stage": _STAGE,
    "stack-deploy": _STACK_DEPLOY,
    "service-status": _STATUS,
    "swarm-record": _RECORD,
}


def script_name(argv: Sequence[str]) -> str | None:
    if len(argv) >= 3 and argv[0] == "sh" and argv[1] == "-c":
        return next((name for name, text in SCRIPTS.items() if text == argv[2]), None)
    return cmd.script_name(argv)


def script(name: str) -> str:
    return SCRIPTS.get(name) or cmd.SCRIPTS[name]


def show(argv: Sequence[str]) -> str:
    """A command as a person reads it: a constant script by its name, values quoted."""
    name = script_name(argv)
    if name is None:
        return cmd.show(argv)
    words = [w if len(w) <= 120 and "\n" not in w else f"<{len(w)} bytes>" for w in argv[3:]]
    return f"sh -c <{name} script> " + shlex.join(words)
