"""The Kubernetes manifests as data: what each field guarantees, and that the official
JSON schemas (kubernetes-validate, offline) accept them.

No cluster runs here: these tests are what stands between the manifests and a
`kubectl apply` that would refuse them or roll out unsafely.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from invoke.program import Program

from shipline import config, manifests
from shipline.errors import ConfigError, UsageError
from shipline.tasks import namespace

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"ghcr.io/acme/shop@{DIGEST}"
SECRET_VALUE = "s3cr3t-do-not-leak"
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
"""The oldest Kubernetes shipline's manifests aim at, and the newest schemas shipped."""


def load(root: Path, tool: str = "") -> config.Config:
    (root / "pyproject.toml").write_text(f'[project]\nname = "shop"\n{tool}')
    return config.load(root)


def build(cfg: config.Config, image: str = IMAGE, version: str | None = None) -> list[Any]:
    return manifests.manifests(cfg, manifests.pin(image, version, None))


def by_kind(documents: list[Any]) -> dict[str, Any]:
    return {d["kind"]: d for d in documents}


def app_container(deployment: Any) -> Any:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.fixture
def cfg(tmp_path: Path) -> config.Config:
    """A project with an env file full of secrets, a health path of its own and resources."""
    (tmp_path / "prod.env").write_text(f"SECRET_KEY={SECRET_VALUE}\nDATABASE_URL=postgres://x\n")
    return load(
        tmp_path,
        '[tool.shipline.deploy]\nenv-file = "prod.env"\nkeep = 4\n'
        '[tool.shipline.smoke]\nhealth-path = "/healthz"\n'
        "[tool.shipline.kubernetes]\nreplicas = 3\ncontainer-port = 9000\n"
        'requests = { cpu = "250m", memory = "256Mi" }\nlimits = { memory = "512Mi" }\n',
    )


def test_the_image_is_pinned_by_digest_and_the_tag_only_labels_it(cfg: config.Config) -> None:
    deployment = by_kind(build(cfg, f"ghcr.io/acme/shop:1.4.2@{DIGEST}"))["Deployment"]
    assert app_container(deployment)["image"] == IMAGE
    template = deployment["spec"]["template"]["metadata"]["labels"]
    assert template == {
        "app.kubernetes.io/name": "shop",
        "app.kubernetes.io/version": "1.4.2",
        "app.kubernetes.io/managed-by": "shipline",
    }
    # The selector cannot change on a live Deployment, so it never holds the version.
    assert deployment["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "shop"}}


def test_the_rollout_is_zero_downtime_and_fails_when_stuck(cfg: config.Config) -> None:
    spec = by_kind(build(cfg))["Deployment"]["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["replicas"] == 3
    assert spec["revisionHistoryLimit"] == 4  # the releases the deploy keeps, for undo


def test_probes_ask_the_health_path_on_the_containers_port(cfg: config.Config) -> None:
    container = app_container(by_kind(build(cfg))["Deployment"])
    assert container["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    assert {"name": "PORT", "value": "9000"} in container["env"]
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"] == {"path": "/healthz", "port": "http"}
    assert (readiness["periodSeconds"], readiness["failureThreshold"]) == (5, 3)
    assert liveness["httpGet"] == {"path": "/healthz", "port": "http"}
    assert liveness["periodSeconds"] == 10
    # The startup probe gives a new pod the deploy's health-timeout (120 s) to come up.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 120
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"memory": "512Mi"},
    }


def test_the_service_sends_traffic_to_the_named_port(cfg: config.Config) -> None:
    service = by_kind(build(cfg))["Service"]
    assert service["spec"] == {
        "type": "ClusterIP",
        "selector": {"app.kubernetes.io/name": "shop"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
    }


def test_the_environment_comes_from_a_secret_by_reference_only(cfg: config.Config) -> None:
    documents = build(cfg)
    container = app_container(by_kind(documents)["Deployment"])
    assert container["envFrom"] == [{"secretRef": {"name": "shop-env"}}]
    assert [d["kind"] for d in documents] == ["Deployment", "Service"]  # no Secret object
    text = manifests.render(documents)
    assert SECRET_VALUE not in text
    assert "SECRET_KEY" not in text
    assert "DATABASE_URL" not in text
    assert manifests.secret_command(cfg) == (
        "kubectl create secret generic shop-env --from-env-file=prod.env "
        "--dry-run=client -o yaml | kubectl apply -f -"
    )


def test_no_env_file_no_secret(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    assert "envFrom" not in app_container(by_kind(build(cfg))["Deployment"])
    assert manifests.secret_command(cfg) is None


def test_configured_names_namespace_and_pull_secret(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        '[tool.shipline.kubernetes]\nname = "web"\nnamespace = "prod"\nsecret = "web-vars"\n'
        'image-pull-secret = "ghcr"\nliveness-path = "/livez"\nservice-type = "LoadBalancer"\n',
    )
    documents = by_kind(build(cfg))
    deployment = documents["Deployment"]
    assert deployment["metadata"]["name"] == documents["Service"]["metadata"]["name"] == "web"
    assert deployment["metadata"]["namespace"] == "prod"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "ghcr"}]
    assert app_container(deployment)["envFrom"] == [{"secretRef": {"name": "web-vars"}}]
    assert app_container(deployment)["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert documents["Service"]["spec"]["type"] == "LoadBalancer"
    assert "--namespace prod --from-env-file=<your env file>" in (
        manifests.secret_command(cfg) or ""
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_the_official_schemas_accept_them(cfg: config.Config, version: str) -> None:
    for document in build(cfg, version="1.4.2"):
        kubernetes_validate.validate(document, version, strict=True)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "strategy", "rollingUpdate", "maxUnavailable"), [0]),
        (("spec", "progressDeadlineSeconds"), "600"),
        (("spec", "replicaCount"), 2),  # strict: an unknown field is an error
    ],
)
def test_the_validator_refuses_a_broken_manifest(
    cfg: config.Config, path: tuple[str, ...], value: object
) -> None:
    """The check above proves something only if the validator does fail on a bad one."""
    deployment = copy.deepcopy(by_kind(build(cfg))["Deployment"])
    parent = deployment
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


@pytest.mark.parametrize(
    ("image", "version", "expected"),
    [
        (IMAGE, None, (IMAGE, "abababababab")),
        (f"ghcr.io/acme/shop:2.0@{DIGEST}", None, (IMAGE, "2.0")),
        (IMAGE, "2.1", (IMAGE, "2.1")),
        ("ghcr.io/acme/shop:2.2", DIGEST, (IMAGE, "2.2")),
        (f"localhost:5000/shop@{DIGEST}", None, (f"localhost:5000/shop@{DIGEST}", "abababababab")),
        (None, DIGEST, (f"ghcr.io/conf/app@{DIGEST}", "abababababab")),
    ],
)
def test_pin(image: str | None, version: str | None, expected: tuple[str, str]) -> None:
    pinned = manifests.pin(image, version, "ghcr.io/conf/app" if image is None else None)
    assert (pinned.image, pinned.version) == expected


@pytest.mark.parametrize(
    ("image", "version", "message"),
    [
        ("ghcr.io/acme/shop:1.4.2", None, "--image 'ghcr.io/acme/shop:1.4.2' has no digest; "),
        (None, "1.4.2", "--version '1.4.2' is a tag; "),
        (None, None, "no image given; "),
        (IMAGE, "sha256:" + "cd" * 32, "--version sha256:cdcd"),
        ("Not An Image", None, "--image 'Not An Image': expected a Docker image reference"),
        (IMAGE, "x" * 64, "tag 'xxxx"),
    ],
)
def test_pin_refuses_what_is_not_a_digest(
    image: str | None, version: str | None, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        manifests.pin(image, version, "ghcr.io/conf/app" if image is None else None)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    if "digest;" in message or "tag;" in message or "given;" in message:
        assert str(caught.value).endswith(manifests.PIN_BY_DIGEST)


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        (
            '[tool.shipline.kubernetes]\nname = "My_App"',
            'tool.shipline.kubernetes.name: expected a DNS-1123 label such as "my-app"',
        ),
        (
            '[tool.shipline.kubernetes]\nservice-type = "ExternalName"',
            "tool.shipline.kubernetes.service-type: expected one of ClusterIP, NodePort",
        ),
        (
            '[tool.shipline.kubernetes]\nrequests = { cpu = "lots" }',
            'tool.shipline.kubernetes.requests.cpu: expected a quantity such as "250m"',
        ),
        (
            '[tool.shipline.kubernetes]\nlimits = { gpu = "1" }',
            "tool.shipline.kubernetes.limits.gpu: unknown resource; expected cpu or memory",
        ),
        (
            "[tool.shipline.deploy]\nhealth-timeout = 900\n[tool.shipline.kubernetes]\n",
            "tool.shipline.kubernetes.progress-deadline: 600 seconds is not more than "
            "tool.shipline.deploy.health-timeout (900)",
        ),
        (
            "[tool.shipline.kubernetes]\nreplica = 2",
            "tool.shipline.kubernetes.replica: unknown key; did you mean 'replicas'?",
        ),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, tool: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, tool)
    assert str(caught.value).startswith(message)


def test_a_name_from_the_deploys_app_must_be_a_dns_label(tmp_path: Path) -> None:
    """deploy.app allows a trailing "-"; Kubernetes does not: said when the manifests are made."""
    cfg = load(tmp_path, '[tool.shipline.deploy]\napp = "shop-"\n')
    assert cfg.kubernetes.name == "shop-"
    with pytest.raises(ConfigError, match=r"^tool\.shipline\.kubernetes\.name: 'shop-'"):
        build(cfg)


def test_the_task_writes_one_file_per_object_and_no_secret_value(
    cfg: config.Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(cfg.root)
    argv = [
        "invoke",
        "manifests",
        "--target",
        "kubernetes",
        "--image",
        IMAGE,
        "--out",
        "deploy/k8s",
    ]
    Program(namespace=namespace).run(argv, exit=False)
    printed = capsys.readouterr()
    out = cfg.root / "deploy" / "k8s"
    assert sorted(p.name for p in out.iterdir()) == ["deployment.yaml", "service.yaml"]
    assert "kubectl create secret generic shop-env --from-env-file=prod.env" in printed.out
    for path in out.iterdir():
        text = path.read_text()
        assert SECRET_VALUE not in text
        kubernetes_validate.validate(yaml.safe_load(text), VERSIONS[0], strict=True)
    assert SECRET_VALUE not in printed.out + printed.err


def test_the_dry_run_prints_the_stream_kubectl_applies(
    cfg: config.Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(cfg.root)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)  # the image name: [project].name
    Program(namespace=namespace).run(
        ["invoke", "manifests", "--version", DIGEST, "--dry-run"], exit=False
    )
    printed = capsys.readouterr()
    documents = list(yaml.safe_load_all(printed.out))
    assert [d["kind"] for d in documents] == ["Deployment", "Service"]
    assert app_container(documents[0])["image"] == f"shop@{DIGEST}"
    assert "kubectl create secret" in printed.err  # stdout stays pure YAML
    assert not (cfg.root / "k8s").exists()


def test_the_readmes_example_table_makes_valid_manifests(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("```toml\n[tool.shipline.kubernetes]\n", 1)[1].split("```", 1)[0]
    cfg = load(tmp_path, "[tool.shipline.kubernetes]\n" + block)
    assert (cfg.kubernetes.name, cfg.kubernetes.replicas) == ("web", 3)
    for document in build(cfg):
        kubernetes_validate.validate(document, VERSIONS[0], strict=True)
