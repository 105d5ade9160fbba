"""Checks at the boundary for what a deploy writes into commands, files and URLs.

A deploy puts the configured path, service names and image references into shell
commands run over SSH, into file names on the hosts and into the nginx and compose
files it writes, and it formats the smoke URL once per host. Each value is checked
where it enters (a `[tool.shipline]` key or a command-line argument) against the
narrow form those places can take verbatim. A bad value then ends the command with
one line that names it and the fix (exit 2) before anything is done, instead of
becoming a quoting bug, a file outside the app's directory, a broken nginx config
or a traceback half-way through a rollout.

The command-line checks raise UsageError, starting with the flag; the `*_setting`
parsers raise ConfigError, starting with the key path, in the style of
shipline.config, which imports them. So this module depends on the standard
library and shipline.errors only, and lives outside `shipline.deploy`: config is
imported by the pytest plugin inside every test environment and by every CI
action, and must not load the deploy code.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import posixpath
import re
import string
from collections.abc import Callable, Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

from shipline.errors import ConfigError, UsageError

TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
"""A Docker tag, as the distribution reference grammar has it."""
DIGEST = r"sha256:[0-9a-f]{64}"
_HOST_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
DOMAIN = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[0-9A-Fa-f:]+\])(?::[0-9]{{1,5}})?"
"""A registry host, optionally with a port: ghcr.io, 127.0.0.1:5000, [::1]:5000."""
PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_NAME = rf"(?:{DOMAIN}/)?{PATH_COMPONENT}(?:/{PATH_COMPONENT})*"
"""An image name without tag or digest: nginx, ghcr.io/acme/app."""
_REFERENCE = re.compile(rf"(?P<name>{IMAGE_NAME})(?::{TAG})?(?:@{DIGEST})?")
NAME_MAX = 255
"""Docker refuses longer image names."""

SERVICE = r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}"
"""A compose service name that is also a safe nginx upstream name and file name."""
PATH_CHARACTERS = r"[A-Za-z0-9._/@+-]"
"""What a deploy path may hold: nothing a shell, a compose file or nginx reads specially."""
PATH_MAX = 200
USERNAME = r"[A-Za-z0-9._@\[\]-]{1,100}"
"""A registry user name; GitHub's `github-actions[bot]` is one."""
MAX_SECONDS = 86400.0
"""A day: longer waits are a typo, and overflow `time.sleep` long before infinity."""
URL_EXAMPLE = "http://{host}:8080"
DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
"""A DNS-1123 label: lowercase letters, digits and "-", at most 63, alphanumeric at both ends."""
QUANTITY = r"[0-9]+(?:\.[0-9]+)?(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?"
"""A Kubernetes resource quantity as written in a manifest: 250m, 0.5, 128Mi, 1G."""


def _arg(text: str) -> str:
    """A command-line value quoted on one line, clipped so the message stays readable."""
    return repr(text if len(text) <= 100 else text[:97] + "...")


def _show(value: object) -> str:
    """A TOML value as the user wrote it, on one line (as shipline.config.show)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    shown = json.dumps(value, default=str)
    return shown if len(shown) <= 120 else shown[:117] + "..."


def has_space_or_control(text: str) -> bool:
    """Whitespace or a control character: splits a command or a header, ends a line."""
    return any(ch.isspace() or not ch.isprintable() for ch in text)


def is_tag(text: str) -> bool:
    """A Docker tag: also safe as a file name and unquoted in a command (no / or $)."""
    return re.fullmatch(TAG, text) is not None


def is_digest(text: str) -> bool:
    """A sha256 content digest, the form `docker inspect` reports as RepoDigests."""
    return re.fullmatch(DIGEST, text) is not None


def is_image_name(text: str) -> bool:
    """A name Docker accepts (lowercase path, at most 255 characters), without tag."""
    return len(text) <= NAME_MAX and re.fullmatch(IMAGE_NAME, text) is not None


def is_image_reference(text: str) -> bool:
    """name[:tag][@sha256:digest], per the distribution reference grammar."""
    if len(text) > NAME_MAX + 1 + 128 + 1 + 71:
        return False
    match = _REFERENCE.fullmatch(text)
    return match is not None and len(match.group("name")) <= NAME_MAX


def is_dns_label(text: str) -> bool:
    """A DNS-1123 label: what Kubernetes takes as a Deployment, Service or Secret name."""
    return re.fullmatch(DNS_LABEL, text) is not None


def is_service_name(text: str) -> bool:
    """A compose service name that also works as an nginx upstream and a file name."""
    return re.fullmatch(SERVICE, text) is not None and ".." not in text


def remote_path_problem(text: str) -> str | None:
    """Why `text` cannot be an app's directory on a host, or None if it can.

    The path is written unquoted into the commands and files a deploy generates, and
    everything the deploy removes lives under it: so it is absolute, normalised (no
    `..` can lead out of it), not `/`, and made of characters no shell reads.
    """
    if not text.startswith("/"):
        return "it must start with /"
    if text == "/":
        return 'give the app a directory of its own, such as "/srv/app", not the root'
    if len(text) > PATH_MAX:
        return f"use at most {PATH_MAX} characters"
    bad = next((ch for ch in text if not re.fullmatch(PATH_CHARACTERS, ch)), None)
    if bad is not None:
        return f"it holds {json.dumps(bad)}; use only letters, digits and . _ / @ + -"
    if "//" in text or posixpath.normpath(text) != text:
        return 'write it normalised, without "//", "." or ".." parts'
    return None


def url_template_problem(text: str) -> str | None:
    """Why `text` cannot be the smoke URL template, or None if it can.

    The deploy fills it with str.format(host=...) for each host, so `{host}` is the
    only field it may hold; the result must be an absolute http(s) URL with a host.
    """
    if has_space_or_control(text):
        return "remove the spaces and control characters"
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text)]
    except ValueError:
        return 'it has a lone "{" or "}"; write {host} for the address, {{ and }} for braces'
    for name, spec, conversion in fields:
        if name is not None and (name != "host" or spec or conversion):
            field = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            shown = json.dumps("{" + field + "}")
            return f"{shown} is not a placeholder; {{host}} (the host's address) is the only one"
    try:
        parts = urlsplit(text.format(host="example.com"))
        port = parts.port
    except ValueError:
        return "it needs a host, and a port (if any) from 1 to 65535"
    if port == 0:
        return "it needs a port (if any) from 1 to 65535"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "it needs http:// or https:// and a host"
    return None


# Command-line arguments


def version(text: str, flag: str = "--version") -> str:
    """An image tag or digest: it becomes part of an image reference and a release path."""
    if is_tag(text) or is_digest(text):
        return text
    raise UsageError(
        f"{flag} {_arg(text)}: expected an image tag such as 1.4.2 (letters, digits, _ . -; "
        "not starting with . or -; at most 128 characters) or a digest sha256:<64 hex digits>"
    )


def batch(text: str, hosts: int, flag: str = "--batch") -> int:
    """How many hosts deploy at once: N hosts, or P% of them (at least one)."""
    if hosts < 1:
        raise UsageError(f"{flag} {_arg(text)}: there are no hosts to deploy to; give a --host")
    match = re.fullmatch(r"([0-9]{1,9})(%?)", text)
    if match is None:
        raise UsageError(
            f"{flag} {_arg(text)}: expected a number of hosts such as 2 or a percentage such as 25%"
        )
    number = int(match.group(1))
    if match.group(2):
        if not 1 <= number <= 100:
            raise UsageError(f"{flag} {_arg(text)}: expected a percentage from 1% to 100%")
        return max(1, hosts * number // 100)
    if not 1 <= number <= hosts:
        raise UsageError(
            f"{flag} {_arg(text)}: expected a number of hosts from 1 to {hosts} "
            f"(there {'is 1 host' if hosts == 1 else f'are {hosts} hosts'}), "
            "or a percentage such as 50%"
        )
    return number


def lock_wait(text: str, flag: str = "--lock-wait") -> float:
    """Seconds to wait for another deploy's lock: a plain decimal, 0 for not at all."""
    if re.fullmatch(r"[0-9]{1,9}(?:\.[0-9]*)?|\.[0-9]+", text):
        seconds = float(text)
        if math.isfinite(seconds) and seconds <= MAX_SECONDS:
            return seconds
    raise UsageError(
        f"{flag} {_arg(text)}: expected a number of seconds from 0 to {MAX_SECONDS:.0f}, "
        "such as 30 (0: do not wait)"
    )


def image_reference(text: str, what: str) -> str:
    """An image reference that is safe in a Dockerfile ARG, a compose file and argv."""
    if is_image_reference(text):
        return text
    raise UsageError(
        f"{what} {_arg(text)}: expected a Docker image reference such as python:3.12-slim, "
        "ghcr.io/acme/app:1.2 or registry.local/app@sha256:<64 hex digits>"
    )


def image_name(text: str, what: str) -> str:
    """An image name without tag or digest, such as ghcr.io/acme/app."""
    if is_image_name(text):
        return text
    raise UsageError(
        f"{what} {_arg(text)}: expected an image name such as ghcr.io/acme/app (lowercase, no tag)"
    )


# `[tool.shipline]` keys: parse(key path, TOML value), as shipline.config.options declares


def remote_path_setting(path: str, value: object) -> str:
    """The app's directory on the hosts; one trailing slash is dropped."""
    head = f'{path}: expected an absolute path such as "/srv/app", got {_show(value)}'
    if not isinstance(value, str) or not value.startswith("/"):
        raise ConfigError(head)
    text = value[:-1] if len(value) > 1 and value.endswith("/") else value
    problem = remote_path_problem(text)
    if problem is not None:
        raise ConfigError(f"{head}; {problem}")
    return text


def slug_setting(path: str, value: object) -> str:
    """The app's name: the compose project prefix (<app>-blue, <app>-proxy) on the hosts."""
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
        raise ConfigError(f'{path}: expected lowercase letters, digits and "-", got {_show(value)}')
    return value


def port_setting(path: str, value: object) -> int:
    """A TCP port; TOML booleans and floats are refused, not coerced."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(f"{path}: expected a port number from 1 to 65535, got {_show(value)}")
    return value


def service_setting(path: str, value: object) -> str:
    """A compose service; its name also becomes an nginx upstream and a file name."""
    if isinstance(value, str) and is_service_name(value):
        return value
    raise ConfigError(
        f'{path}: expected a compose service name such as "app", got {_show(value)}; '
        'use letters, digits, "_", "." and "-" (at most 63, starting with a letter or digit, '
        'no "..")'
    )


def services_setting(path: str, value: object) -> tuple[str, ...]:
    """The app's services in deploy order: at least one, each once."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(
            f'{path}: expected a list of compose service names such as ["app", "worker"], '
            f"got {_show(value)}"
        )
    if not value:
        raise ConfigError(f'{path}: expected at least one service, got []; list them, e.g. ["app"]')
    seen: set[str] = set()
    for index, name in enumerate(value):
        service_setting(f"{path}[{index}]", name)
        if name in seen:
            raise ConfigError(f"{path}: {_show(name)} is listed twice; list each service once")
        seen.add(name)
    return tuple(value)


def slot_ports_check(table: str, base_port: int, proxy_port: int, services: int) -> None:
    """Every slot port (base-port + 2*i, + 2*i + 1) fits and is not the proxy's port."""
    last = base_port + 2 * services - 1
    if last > 65535:
        raise ConfigError(
            f"{table}.base-port: the slot ports of {services} service(s) run from {base_port} "
            f"to {last}, past 65535; set base-port to at most {65536 - 2 * services} "
            f"(and keep {table}.proxy-port outside the range)"
        )
    if base_port <= proxy_port <= last:
        raise ConfigError(
            f"{table}.base-port: the slot ports {base_port} to {last} (two per service) include "
            f"{table}.proxy-port {proxy_port}; change base-port or proxy-port so the proxy's "
            "port is outside that range"
        )


def seconds_setting(zero: bool = False) -> Callable[[str, object], float]:
    """A finite number of seconds, at most a day; more than 0 unless `zero` means none."""

    def parse(path: str, value: object) -> float:
        if (
            not isinstance(value, bool)
            and isinstance(value, int | float)
            and math.isfinite(value)
            and (value >= 0 if zero else value > 0)
            and value <= MAX_SECONDS
        ):
            return float(value)
        least = "0 or more" if zero else "more than 0"
        raise ConfigError(
            f"{path}: expected a number of seconds, got {_show(value)}; "
            f"use a number {least}, at most {MAX_SECONDS:.0f}"
        )

    return parse


def whole_number_setting(least: int) -> Callable[[str, object], int]:
    """A whole number of `least` or more (TOML booleans are not numbers here)."""

    def parse(path: str, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(
                f"{path}: expected a whole number of {least} or more, got {_show(value)}"
            )
        return value

    return parse


def url_template_setting(path: str, value: object) -> str:
    """Where smoke checks reach a host, with {host} for its address."""
    head = f'{path}: expected an http(s) URL such as "{URL_EXAMPLE}", got {_show(value)}'
    if not isinstance(value, str):
        raise ConfigError(head)
    problem = url_template_problem(value)
    if problem is not None:
        raise ConfigError(f"{head}; {problem}")
    return value


def image_reference_setting(path: str, value: object) -> str:
    """An image written into the proxy's compose file and pulled on every host."""
    if isinstance(value, str) and is_image_reference(value):
        return value
    raise ConfigError(
        f'{path}: expected a Docker image reference such as "nginx:1.27-alpine" or '
        f'"registry.local/nginx@sha256:<64 hex digits>", got {_show(value)}'
    )


def image_name_setting(path: str, value: object) -> str:
    """An image name, lowercased as the registries store it."""
    if isinstance(value, str) and is_image_name(value.lower()):
        return value.lower()
    raise ConfigError(
        f'{path}: expected an image name such as "ghcr.io/acme/app", got {_show(value)}; '
        "no tag, and path parts of lowercase letters and digits joined by . _ or -"
    )


def local_file_setting(path: str, value: object) -> str:
    """A file of the project, read here (never sent as a name): one printable line."""
    if isinstance(value, str) and value and not has_space_or_control(value.replace(" ", "")):
        return value
    raise ConfigError(
        f"{path}: expected a file path relative to the project (printable, no tabs or "
        f"newlines), got {_show(value)}"
    )


def actor(text: str, variable: str = "GITHUB_ACTOR") -> str:
    """Who a deploy is for the audit log and the registry login: a user name, one line."""
    if re.fullmatch(USERNAME, text):
        return text
    raise UsageError(
        f"{variable} {_show(text)}: expected a GitHub user name (letters, digits and "
        ". _ @ [ ] -); unset it or fix what sets it"
    )


def username_setting(path: str, value: object) -> str:
    """The registry user `docker login` gets on the hosts and in CI."""
    if isinstance(value, str) and re.fullmatch(USERNAME, value):
        return value
    raise ConfigError(
        f'{path}: expected a registry user name such as "github-actions[bot]" (letters, digits '
        f"and . _ @ [ ] -, at most 100 characters), got {_show(value)}"
    )


def url_path_setting(path: str, value: object) -> str:
    """A path the smoke checks request: appended to the host's URL as it is."""
    if isinstance(value, str) and value.startswith("/") and not has_space_or_control(value):
        return value
    raise ConfigError(
        f'{path}: expected a URL path starting with "/", such as "/health", got {_show(value)}; '
        "no spaces or control characters"
    )


def url_paths_setting(path: str, value: object) -> tuple[str, ...]:
    """Paths the smoke checks expect to refuse a request without a token (401)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(
            f'{path}: expected a list of URL paths such as ["/items"], got {_show(value)}'
        )
    return tuple(url_path_setting(f"{path}[{index}]", item) for index, item in enumerate(value))


def dns_label_setting(path: str, value: object) -> str:
    """A Kubernetes object name (Deployment, Service, Secret, namespace): a DNS-1123 label."""
    if isinstance(value, str) and is_dns_label(value):
        return value
    raise ConfigError(
        f'{path}: expected a DNS-1123 label such as "my-app", got {_show(value)}; lowercase '
        'letters, digits and "-", at most 63 characters, starting and ending with a letter or digit'
    )


def quantities_setting(path: str, value: object) -> Mapping[str, str]:
    """Container resources (`requests`, `limits`): cpu and memory as Kubernetes quantities."""
    if not isinstance(value, dict):
        raise ConfigError(
            f'{path}: expected a table such as {{ cpu = "250m", memory = "256Mi" }}, '
            f"got {_show(value)}"
        )
    found: dict[str, str] = {}
    for name, amount in value.items():
        if name not in ("cpu", "memory"):
            raise ConfigError(f"{path}.{name}: unknown resource; expected cpu or memory")
        text = str(amount) if isinstance(amount, int) and not isinstance(amount, bool) else amount
        if not isinstance(text, str) or not re.fullmatch(QUANTITY, text):
            raise ConfigError(
                f'{path}.{name}: expected a quantity such as "250m", "0.5" or "256Mi", '
                f"got {_show(amount)}"
            )
        found[name] = text
    return MappingProxyType(found)
