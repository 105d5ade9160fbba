"""The deploy, computed as data before any SSH: per host, the ordered steps and commands.

Each host runs two slots, blue and green: the new version starts in the idle slot
beside the live one, and nginx moves traffic once it is healthy. That is what
makes the deploy lose no request, where `docker compose up -d` stops the old
container before the new one is ready. `invoke deploy --dry-run` prints this.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from shipline.config import Config, DeployConfig
from shipline.remote import HostSpec

SLOTS = ("blue", "green")


@dataclass(frozen=True)
class Step:
    name: str
    kind: str
    """run, put, lock, unlock, disk, login, wait-healthy, drain, smoke."""
    command: str = ""
    path: str = ""
    content: bytes = field(default=b"", repr=False)
    mode: int = 0o644
    secret: bool = False
    service: str = ""

    def describe(self) -> str:
        if self.kind == "run":
            return self.command
        if self.kind == "put":
            shown = "(secret, not shown)" if self.secret else f"{len(self.content)} bytes"
            return f"write {self.path} mode {self.mode:o} {shown}"
        return {
            "lock": "take the deploy lock (mkdir, atomic)",
            "unlock": "release the deploy lock",
            "disk": "check free disk space",
            "login": "docker login (token on stdin)",
            "wait-healthy": f"wait for {self.service} to be healthy",
            "drain": f"wait (at most {self.command} s) for the proxy's old workers to finish",
            "smoke": "run the smoke checks",
        }.get(self.kind, self.kind)


@dataclass(frozen=True)
class HostPlan:
    host: HostSpec
    version: str
    image: str
    live: str | None
    """The slot serving now; None on a first deploy."""
    next: str
    previous: str | None
    steps: tuple[Step, ...]


def other(slot: str) -> str:
    return SLOTS[1 - SLOTS.index(slot)]


def port(deploy: DeployConfig, slot: str, service: str) -> int:
    return deploy.base_port + 2 * deploy.services.index(service) + SLOTS.index(slot)


def release_dir(deploy: DeployConfig, version: str) -> str:
    return f"{deploy.path}/releases/{version}"


def compose(deploy: DeployConfig, slot: str, version: str) -> str:
    """The compose command for a slot: its own project, its own interpolation file."""
    return (
        f"docker compose -p {deploy.app}-{slot} --env-file {deploy.path}/slots/{slot}.env "
        f"-f {release_dir(deploy, version)}/compose.yml"
    )


def proxy_compose(deploy: DeployConfig) -> str:
    return f"docker compose -p {deploy.app}-proxy -f {deploy.path}/proxy/compose.yml"


def proxy_container(deploy: DeployConfig) -> str:
    return f"{deploy.app}-proxy-nginx-1"


def proxy_draining(deploy: DeployConfig) -> str:
    """How many old nginx workers are still finishing requests after a reload."""
    return (
        f"docker exec {proxy_container(deploy)} sh -c "
        '\'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\000" "\\n" | '
        'grep -c "^nginx: worker process is shutting down" || true\''
    )


def proxy_reload(deploy: DeployConfig, start: bool = False) -> str:
    """Check nginx's config, then reload it gracefully (old workers finish their requests).

    Retried briefly: a proxy started a moment ago may not have written its pid yet.
    """
    p = proxy_compose(deploy)
    name = proxy_container(deploy)
    reload = f"docker exec {name} sh -c 'nginx -t -q && nginx -s reload'"
    retry = f"for i in $(seq 1 20); do {reload} 2>/dev/null && exit 0; sleep 0.25; done; {reload}"
    running = f"[ \"$(docker inspect -f '{{{{.State.Running}}}}' {name} 2>/dev/null)\" = true ]"
    up = f"{{ {running} || {p} up -d --quiet-pull; }}"
    return f"{up} && {{ {retry}; }}" if start else f"{{ {retry}; }}"


def slot_env(deploy: DeployConfig, slot: str, image: str, version: str) -> bytes:
    lines = [f"APP_IMAGE={image}", f"APP_VERSION={version}", f"APP_SLOT={slot}"]
    for service in deploy.services:
        name = service.upper().replace("-", "_")
        lines.append(f"APP_PORT_{name}={port(deploy, slot, service)}")
    lines.append(f"APP_PORT={port(deploy, slot, deploy.services[0])}")
    return ("\n".join(lines) + "\n").encode()


def upstream(deploy: DeployConfig, slot: str, service: str) -> bytes:
    return (
        f"upstream {service} {{\n    server 127.0.0.1:{port(deploy, slot, service)};\n"
        "    keepalive 16;\n}\n"
    ).encode()


def nginx_conf(deploy: DeployConfig) -> bytes:
    first = deploy.services[0]
    return f"""worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    server_tokens off;
    client_max_body_size 10m;
    include /etc/shipline/upstreams/*.conf;
    server {{
        listen {deploy.proxy_port};
        location / {{
            proxy_pass http://{first};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout http_502;
            proxy_read_timeout 60s;
        }}
    }}
}}
""".encode()


def proxy_compose_file(deploy: DeployConfig) -> bytes:
    return f"""services:
  nginx:
    image: {deploy.proxy_image}
    network_mode: host
    restart: unless-stopped
    command: ["nginx", "-g", "daemon off;"]
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
      - ./upstreams:/etc/shipline/upstreams:ro
""".encode()


def audit_line(when: str, who: str, host: HostPlan, outcome: str) -> str:
    return (
        f"{when} {who} {outcome} {host.version} ({host.image}) slot {host.next}"
        f"{' from ' + host.previous if host.previous else ''}"
    )


def plan_host(
    cfg: Config,
    host: HostSpec,
    image: str,
    version: str,
    live: str | None,
    previous: str | None,
    compose_text: bytes,
    env_text: bytes | None,
    registry_login: bool,
) -> HostPlan:
    """The ordered steps for one host, from config, version and the host's live slot."""
    deploy = cfg.deploy
    nxt = other(live) if live else SLOTS[0]
    release = release_dir(deploy, version)
    new = compose(deploy, nxt, version)
    q = shlex.quote
    steps: list[Step] = [
        Step("lock", "lock"),
        Step(
            "check docker and compose",
            "run",
            "docker version --format '{{.Server.Version}}' && docker compose version --short",
        ),
        Step(
            "prepare directories",
            "run",
            f"mkdir -p {release} {deploy.path}/slots {deploy.path}/proxy/upstreams",
        ),
        Step("check free disk space", "disk"),
        Step("upload compose file", "put", path=f"{release}/compose.yml", content=compose_text),
        Step(
            "upload env file",
            "put",
            path=f"{release}/app.env",
            content=env_text or b"",
            mode=0o600,
            secret=True,
        ),
        Step(
            "write slot variables",
            "put",
            path=f"{deploy.path}/slots/{nxt}.env",
            content=slot_env(deploy, nxt, image, version),
        ),
        Step("validate compose file", "run", f"{new} config --quiet"),
    ]
    if registry_login:
        steps.append(Step("registry login", "login"))
    steps.append(Step("pull the image", "run", f"docker pull --quiet {q(image)}"))
    if deploy.migrations:
        steps.append(
            Step("run migrations", "run", f"{new} run --rm --no-deps {q(deploy.migrations)}")
        )
    steps += [
        Step(
            "proxy config",
            "put",
            path=f"{deploy.path}/proxy/nginx.conf",
            content=nginx_conf(deploy),
        ),
        Step(
            "proxy compose file",
            "put",
            path=f"{deploy.path}/proxy/compose.yml",
            content=proxy_compose_file(deploy),
        ),
    ]
    for service in deploy.services:
        steps += [
            Step(
                f"start {service} ({nxt}) beside the live one",
                "run",
                f"{new} up -d --no-deps --force-recreate {q(service)}",
                service=service,
            ),
            Step(f"wait for {service} ({nxt}) to be healthy", "wait-healthy", service=service),
            Step(
                f"point the proxy at {service} ({nxt})",
                "put",
                path=f"{deploy.path}/proxy/upstreams/{service}.conf",
                content=upstream(deploy, nxt, service),
                service=service,
            ),
            Step(
                "start or reload the proxy",
                "run",
                proxy_reload(deploy, start=True),
                service=service,
            ),
            *(
                [Step(f"drain {service} ({live})", "drain", f"{deploy.drain_seconds:g}")]
                if live
                else []
            ),
        ]
    steps.append(Step("smoke checks", "smoke"))
    if live and previous:
        steps.append(
            Step(
                f"stop the old slot ({live})",
                "run",
                f"{compose(deploy, live, previous)} down --timeout 30",
            )
        )
    steps += [
        Step(
            "record the live slot",
            "put",
            path=f"{deploy.path}/state.json",
            content=json.dumps(
                {"slot": nxt, "version": version, "image": image, "previous": previous}
            ).encode(),
        ),
        Step(
            f"prune: keep the last {deploy.keep} releases",
            "run",
            prune_command(deploy, image.rsplit(":", 1)[0], keep=deploy.keep),
        ),
        Step("unlock", "unlock"),
    ]
    return HostPlan(host, version, image, live, nxt, previous, tuple(steps))


def prune_command(deploy: DeployConfig, name: str, keep: int) -> str:
    """Keep the newest `keep` releases (and the images of those tags); remove the rest."""
    releases = f"{deploy.path}/releases"
    return (
        f"cd {releases} && ls -1t | tail -n +{max(keep, 2) + 1} | xargs -r rm -rf -- && "
        f"for tag in $(docker image ls --format '{{{{.Tag}}}}' {shlex.quote(name)}); do "
        f'[ -d "{releases}/$tag" ] || docker rmi --force {shlex.quote(name)}:"$tag" '
        ">/dev/null; done; true"
    )


def rollback_steps(cfg: Config, plan: HostPlan, switched: set[str]) -> tuple[Step, ...]:
    """Undo a failed deploy on its host: traffic back to the live slot, the new slot down."""
    deploy = cfg.deploy
    steps: list[Step] = []
    if plan.live:
        for service in deploy.services:
            if service in switched:
                steps.append(
                    Step(
                        f"point the proxy back at {service} ({plan.live})",
                        "put",
                        path=f"{deploy.path}/proxy/upstreams/{service}.conf",
                        content=upstream(deploy, plan.live, service),
                    )
                )
        if switched:
            steps.append(Step("reload the proxy", "run", proxy_reload(deploy)))
    steps.append(
        Step(
            f"remove the new slot ({plan.next})",
            "run",
            f"{compose(deploy, plan.next, plan.version)} down --timeout 10",
        )
    )
    return tuple(steps)
