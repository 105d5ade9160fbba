"""Every remote command of a deploy, as an argv list (Kamal's `commands/`).

Functions here take typed values and return argv; `Remote.run` joins them with
`shlex.join`, the one place a command becomes a string. Where a shell is needed
(pipes, loops, a lock under `flock`) the script is a constant of this module and
every value reaches it as a positional parameter ("$1"), never as code: a
version, a path or a service name cannot run anything on the host whatever it
holds. Nothing here talks to a host; `--dry-run` prints exactly these lists.
"""

from __future__ import annotations

import io
import math
import shlex
import tarfile
from collections.abc import Mapping, Sequence

Argv = list[str]

SLOTS = ("blue", "green")


def sh(script: str, *args: str) -> Argv:
    """A constant shell script with values as "$1", "$2"...: the values stay data."""
    return ["sh", "-c", script, "sh", *args]


# -- names derived from config ------------------------------------------------------------


def slot_project(app: str, slot: str) -> str:
    return f"{app}-{slot}"


def proxy_project(app: str) -> str:
    return f"{app}-proxy"


def proxy_container(app: str) -> str:
    return f"{proxy_project(app)}-nginx-1"


def compose(app: str, path: str, slot: str, release: str) -> Argv:
    """`docker compose` for a slot: its own project, its own interpolation file."""
    return [
        "docker",
        "compose",
        "-p",
        slot_project(app, slot),
        "--env-file",
        f"{path}/slots/{slot}.env",
        "-f",
        f"{release}/compose.yml",
    ]


# -- reading the host ---------------------------------------------------------------------

_SURVEY = r"""
path=$1 container=$2; shift 2
for s in "$@"; do
  f="$path/proxy/upstreams/$s.conf"
  if [ -f "$f" ]; then
    port=$(sed -n 's/.*server 127\.0\.0\.1:\([0-9]*\);.*/\1/p' "$f" | head -n 1)
    printf 'upstream %s %s\n' "$s" "$port"
  fi
done
[ -e "$path/.switching" ] && echo switching
running=$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null || echo absent)
printf 'proxy %s\n' "$running"
# `docker ps` shortens a digest reference to the bare name: inspect gives it whole.
ids=$(docker ps -aq --filter label=com.docker.compose.project)
[ -n "$ids" ] && docker inspect --format 'container '\
'{{index .Config.Labels "com.docker.compose.project"}} '\
'{{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{.State.Status}} '\
'{{.Config.Image}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' $ids
for slot in blue green; do
  [ -f "$path/slots/$slot.env" ] && sed "s/^/slotenv $slot /" "$path/slots/$slot.env"
done
[ -f "$path/state.json" ] && printf 'state %s\n' "$(tr -d '\n' < "$path/state.json")"
true
"""


def survey(path: str, app: str, services: tuple[str, ...]) -> Argv:
    """One round trip: where the proxy points, whether it runs, every slot container
    with its health and image, each slot's variables, and the recorded state."""
    return sh(_SURVEY, path, proxy_container(app), *services)


# -- the lease ----------------------------------------------------------------------------
# The lock is a directory (mkdir is atomic) holding the owner and a token; its
# owner file's mtime is the heartbeat. Taking, renewing, breaking and releasing
# happen under flock on a mutex file, so two deploys never both break a stale
# lease. Exit 3 means "held by someone else"; the first output word says what.

_LEASE_PRELUDE = r"""
path=$1 token=$2
lock="$path/.deploy.lock"
mkdir -p "$path" || exit 1
exec 9>"$path/.deploy.lock.mutex" || exit 1
flock -w 20 9 || { echo busy; exit 3; }
mine() { [ "$(cat "$lock/token" 2>/dev/null)" = "$token" ]; }
age() { echo $(( $(date +%s) - $(stat -c %Y "$lock/owner" 2>/dev/null || stat -c %Y "$lock") )); }
"""

_ACQUIRE = (
    _LEASE_PRELUDE
    + r"""
owner=$3 ttl=$4
take() { printf '%s\n' "$owner" > "$lock/owner" && printf '%s' "$token" > "$lock/token"; }
if mkdir "$lock" 2>/dev/null; then take || exit 1; echo taken; exit 0; fi
if mine; then touch "$lock/owner"; echo taken; exit 0; fi
a=$(age)
if [ "$a" -gt "$ttl" ]; then
  old=$(head -c 500 "$lock/owner" 2>/dev/null | tr '\n' ' ')
  rm -rf "$lock" && mkdir "$lock" && take || exit 1
  printf 'broke %s %s\n' "$a" "$old"; exit 0
fi
printf 'held %s %s\n' "$a" "$(head -c 500 "$lock/owner" 2>/dev/null | tr '\n' ' ')"
exit 3
"""
)

_RENEW = _LEASE_PRELUDE + 'if mine; then touch "$lock/owner"; echo ok; else echo lost; exit 3; fi\n'

_RELEASE = _LEASE_PRELUDE + 'if mine; then rm -rf "$lock"; fi\necho released\n'

_STATUS = (
    _LEASE_PRELUDE
    + r"""
[ -d "$lock" ] || { echo free; exit 0; }
printf 'held %s %s\n' "$(age)" "$(head -c 500 "$lock/owner" 2>/dev/null | tr '\n' ' ')"
"""
)

_BREAK = (
    _LEASE_PRELUDE
    + r"""
[ -d "$lock" ] || { echo free; exit 0; }
printf 'held %s %s\n' "$(age)" "$(head -c 500 "$lock/owner" 2>/dev/null | tr '\n' ' ')"
rm -rf "$lock"
"""
)


def lease_acquire(path: str, token: str, owner: str, ttl: float) -> Argv:
    return sh(_ACQUIRE, path, token, owner, str(int(ttl)))


def lease_renew(path: str, token: str) -> Argv:
    return sh(_RENEW, path, token)


def lease_release(path: str, token: str) -> Argv:
    """Releases only our own lease: a deploy never removes a lock it does not hold."""
    return sh(_RELEASE, path, token)


def lease_status(path: str) -> Argv:
    return sh(_STATUS, path, "")


def lease_break(path: str) -> Argv:
    """`invoke lock --release`: a person removes whatever lock is there."""
    return sh(_BREAK, path, "")


# -- preparing a release ------------------------------------------------------------------


def login(registry: str, username: str) -> Argv:
    """The token goes on stdin (`--password-stdin`), never into argv."""
    return ["docker", "login", "--username", username, "--password-stdin", registry]


_STAGE = r"""
path=$1 release=$2 image=$3 slot=$4 min=$5
# An early exit reads its stdin first: a tar larger than the SSH window would
# otherwise block the sender, and the cause would read as a lost connection.
mkdir -p "$release" "$path/slots" "$path/proxy/upstreams" "$path/proxy/nginx" ||
  { cat >/dev/null; exit 1; }
free=$(df -Pm "$path" | awk 'NR==2 {print $4}')
echo "free $free"
[ "${free:-0}" -ge "$min" ] || { cat >/dev/null; exit 4; }
tmp=$(mktemp -d "$path/.stage.XXXXXX") || { cat >/dev/null; exit 1; }
trap 'rm -rf "$tmp"' EXIT
umask 077
tar -x -f - -C "$tmp" --no-same-owner || exit 1
chmod 600 "$tmp/app.env" && chmod 644 "$tmp/compose.yml" "$tmp/slot.env" "$tmp/nginx.conf" \
  "$tmp/proxy.yml" || exit 1
mv "$tmp/compose.yml" "$release/compose.yml" && mv "$tmp/app.env" "$release/app.env" &&
  mv "$tmp/slot.env" "$path/slots/$slot.env" && mv "$tmp/nginx.conf" "$path/proxy/nginx/" &&
  mv "$tmp/proxy.yml" "$path/proxy/compose.yml" || exit 1
printf '%s\n' "$image" > "$release/image" || exit 1
docker image inspect "$image" >/dev/null 2>&1 || docker pull --quiet "$image" >/dev/null ||
  { echo "docker pull $image failed"; exit 1; }
"""

STAGED = ("compose.yml", "app.env", "slot.env", "nginx.conf", "proxy.yml")
"""What `stage` reads from the tar on its stdin, in this order; app.env is the secret."""


def stage(path: str, *, release: str, image: str, slot: str, min_free_mb: int) -> Argv:
    """One round trip: directories, free space (exit 4 below `min_free_mb`), the files
    from a tar on stdin (`stage_payload`: the release's compose file and env file, mode
    0600, the slot's variables, the proxy's config and compose file), the image, pulled
    unless present. Files travel on stdin, so any size and any bytes, never in argv."""
    return sh(_STAGE, path, release, image, slot, str(min_free_mb))


def stage_payload(files: Mapping[str, bytes]) -> bytes:
    """The tar `stage` unpacks: exactly the names of STAGED, as bytes, unchanged."""
    return tar_of(files, STAGED)


def tar_of(files: Mapping[str, bytes], names: Sequence[str]) -> bytes:
    """A tar of `names` from `files`, as bytes, unchanged; the env file (the secret) 0600.

    Files reach a host on stdin in this form, whatever their size or bytes, never in argv."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in names:
            data = files[name]
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600 if name == "app.env" else 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


_RESOLVE = r"""
docker pull --quiet "$1" >/dev/null || exit 1
docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$1"
"""


def resolve(ref: str) -> Argv:
    """Pull name:tag once and print its repo digests: the deploy then runs name@sha256."""
    return sh(_RESOLVE, ref)


# -- slots, health, the proxy -------------------------------------------------------------


def migrations(slot_compose: Argv, service: str) -> Argv:
    return [*slot_compose, "run", "--rm", "--no-deps", service]


def start_slot(slot_compose: Argv, service: str) -> Argv:
    return [*slot_compose, "up", "-d", "--no-deps", "--force-recreate", service]


_STOP = r"""
container=$1 limit=$2 project=$3 draining=$4
end=$(( $(date +%s) + limit ))
while [ "$(docker exec "$container" sh -c "$draining" 2>/dev/null || echo 0)" != 0 ] &&
  [ "$(date +%s)" -lt "$end" ]; do
  sleep 0.1
done
ids=$(docker ps -q --filter "label=com.docker.compose.project=$project")
[ -z "$ids" ] && exit 0
setsid sh -c 'docker stop --time 30 "$@"' sh $ids </dev/null >/dev/null 2>&1 &
echo stopping $ids
"""


def drain_and_stop(app: str, slot: str, limit: float) -> Argv:
    """Wait (at most `limit` s) until nginx's old workers finished their requests to the
    old slot, then stop its containers in the background on the host: the deploy need
    not wait out the app's graceful stop. The next deploy into that slot recreates its
    containers, whatever state they are in."""
    seconds = str(max(0, math.ceil(limit)))
    return sh(_STOP, proxy_container(app), seconds, slot_project(app, slot), _DRAINING)


def find_container(app: str, slot: str, service: str) -> Argv:
    return [
        "docker",
        "ps",
        "-aq",
        "--filter",
        f"label=com.docker.compose.project={slot_project(app, slot)}",
        "--filter",
        f"label=com.docker.compose.service={service}",
    ]


def probe(container: str) -> Argv:
    fmt = "{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.Status}}|{{.RestartCount}}"
    return ["docker", "inspect", "-f", fmt, container]


def container_logs(container: str) -> Argv:
    return ["docker", "logs", "--tail", "30", container]


def health_log(container: str) -> Argv:
    return ["docker", "inspect", "-f", "{{json .State.Health}}", container]


def containers() -> Argv:
    """Every compose container with its state and image (the diagnostics filter by app)."""
    fmt = '{{.Label "com.docker.compose.project"}} {{.Names}} {{.State}} {{.Image}} {{.Status}}'
    return ["docker", "ps", "-a", "--filter", "label=com.docker.compose.project", "--format", fmt]


_SWITCH = r"""
path=$1 project=$2 container=$3; shift 3
touch "$path/.switching" || exit 1
while [ $# -ge 2 ]; do
  f="$path/proxy/upstreams/$1.conf"
  printf 'upstream %s {\n    server 127.0.0.1:%s;\n    keepalive 16;\n}\n' "$1" "$2" > "$f.tmp" &&
    mv "$f.tmp" "$f" || exit 1
  shift 2
done
conf=/etc/shipline/nginx/nginx.conf
reload() { docker exec "$container" sh -c 'nginx -t -q -c "$0" && nginx -s reload -c "$0"' $conf; }
if ! reload 2>/dev/null; then
  # Not running, or running from another definition (an older proxy compose file, another
  # proxy-image): compose starts it, or recreates it; an unchanged one is left alone.
  docker compose -p "$project" -f "$path/proxy/compose.yml" up -d --quiet-pull || exit 1
  i=0
  until reload 2>/dev/null; do  # a proxy started a moment ago may not have its pid yet
    i=$((i + 1))
    if [ "$i" -ge 20 ]; then reload || exit 1; break; fi
    sleep 0.25
  done
fi
rm -f "$path/.switching"
"""


def switch(path: str, app: str, targets: tuple[tuple[str, int], ...]) -> Argv:
    """Point each service's upstream at a port, start the proxy if needed, reload it.

    `.switching` marks the window between writing the upstreams and nginx having
    loaded them: a deploy killed inside it leaves the mark, and the next deploy
    reloads nginx before trusting the files (see `survey`).
    """
    pairs = [word for service, port in targets for word in (service, str(port))]
    return sh(_SWITCH, path, proxy_project(app), proxy_container(app), *pairs)


_DRAINING = (
    'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\000" "\\n" | '
    'grep -c "^nginx: worker process is shutting down" || true'
)
"""How many old nginx workers are still finishing requests after a reload."""


_FINISH = r"""
path=$1 state=$2 keep=$3 name=$4 line=$5
printf '%s\n' "$line" >> "$path/audit.log"
printf '%s\n' "$state" > "$path/state.json.tmp" && mv "$path/state.json.tmp" "$path/state.json" ||
  exit 1
cd "$path/releases" || exit 0
old=$(ls -1t | tail -n +$((keep + 1)))
[ -n "$old" ] || exit 0  # nothing to prune: no release left, so no image either
printf '%s\n' "$old" | while IFS= read -r dir; do rm -rf -- "$dir"; done
keepers=$(cat ./*/image 2>/dev/null)
docker image ls --digests --format '{{.Repository}}@{{.Digest}} {{.ID}}' "$name" |
  while read -r ref id; do
    case "$keepers" in *"$ref"*) ;; *) docker rmi "$id" >/dev/null 2>&1 ;; esac
  done
true
"""


def finish(path: str, *, state_json: str, keep: int, name: str, audit_line: str) -> Argv:
    """One round trip after success: the record (state.json), the audit line, and the
    prune (the newest `keep` release directories and the images they name stay)."""
    return sh(_FINISH, path, state_json, str(max(keep, 2)), name, audit_line)


_AUDIT = 'printf "%s\\n" "$2" >> "$1/audit.log"'


def audit(path: str, line: str) -> Argv:
    return sh(_AUDIT, path, line)


SCRIPTS = {
    "survey": _SURVEY,
    "lease-acquire": _ACQUIRE,
    "lease-renew": _RENEW,
    "lease-release": _RELEASE,
    "lease-status": _STATUS,
    "lease-break": _BREAK,
    "stage": _STAGE,
    "resolve": _RESOLVE,
    "switch": _SWITCH,
    "drain-and-stop": _STOP,
    "finish": _FINISH,
    "audit": _AUDIT,
}
"""The constant scripts by name: a dry run names them in each command, prints each once."""


def script_name(argv: Sequence[str]) -> str | None:
    if len(argv) >= 3 and argv[0] == "sh" and argv[1] == "-c":
        return next((name for name, text in SCRIPTS.items() if text == argv[2]), None)
    return None


def show(argv: Sequence[str]) -> str:
    """A command as a person reads it: a constant script by its name, values quoted."""
    name = script_name(argv)
    words = [_short(word) for word in (argv if name is None else argv[3:])]
    return shlex.join(words) if name is None else f"sh -c <{name} script> " + shlex.join(words)


def _short(word: str) -> str:
    """A file's content passed as an argument is shown by its size."""
    return f"<{len(word.encode())} bytes>" if "\n" in word or len(word) > 120 else word
