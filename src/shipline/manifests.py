"""Kubernetes manifests for the app, as data, from the same configuration as the SSH deploy.

`invoke manifests --target kubernetes` writes a Deployment and a Service. What makes
the SSH deploy safe is said again in Kubernetes' own terms: the image is pinned by
digest (a tag can move under a running rollout, a digest cannot); a new pod takes
traffic only once its readiness probe (the smoke health path) answers, and no old
pod stops before a new one is ready (`maxUnavailable: 0`, `maxSurge: 1`); a rollout
that makes no progress fails after `progressDeadlineSeconds` instead of hanging; the
ReplicaSets kept for `kubectl rollout undo` are the releases the deploy keeps.

The app's environment comes from a Secret the pods reference (`envFrom`); the env
file's values are never read here, so no manifest can leak them. `secret_command`
is the kubectl line that makes the Secret from the file.

Pure but for `write`: the same config and image give the same manifests.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shipline import inputs
from shipline.config import Config
from shipline.errors import ConfigError, UsageError

TARGETS = ("kubernetes",)
MANAGED_BY = "shipline"
PIN_BY_DIGEST = "pin by digest: pass --image name@sha256:..., or push first"
LABEL_VALUE = r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?"
"""What a Kubernetes label value may be: at most 63, alphanumeric at both ends."""
TABLE = "tool.shipline.kubernetes"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Pin:
    """The image a Deployment runs, by digest, and the version its labels show."""

    image: str
    """name@sha256:<digest>: what the pods run, whatever the tag points to later."""
    version: str
    """The tag when one was given, else the digest's first 12 digits."""


def target(text: str) -> str:
    """The manifests' target platform; Kubernetes is the only one so far."""
    if text in TARGETS:
        return text
    raise UsageError(f"--target {text!r}: expected one of: {', '.join(TARGETS)}")


def _split(reference: str) -> tuple[str, str | None, str | None]:
    """name, tag, digest of a reference inputs.image_reference accepted."""
    rest, _, digest = reference.partition("@")
    name, colon, tag = rest.rpartition(":")
    if not colon or "/" in tag:  # no tag: the colon, if any, was a registry's port
        return rest, None, digest or None
    return name, tag, digest or None


def pin(image: str | None, version: str | None, name: str | None) -> Pin:
    """The image by digest from --image and --version, `name` (the configured image name)
    when --image is not given; a tag alone is refused, since only the registry knows
    which digest it points to now."""
    tag = digest = None
    if version is not None:
        version = inputs.version(version)
        digest, tag = (version, None) if inputs.is_digest(version) else (None, version)
    if image is not None:
        name, image_tag, image_digest = _split(inputs.image_reference(image, "--image"))
        if digest and image_digest and digest != image_digest:
            raise UsageError(
                f"--version {version}: not the digest --image pins ({image_digest}); give one"
            )
        digest, tag = digest or image_digest, tag or image_tag
    if digest is None or name is None:
        given = (
            f"--image {image!r} has no digest"
            if image is not None
            else f"--version {version!r} is a tag"
            if version is not None
            else "no image given"
        )
        raise UsageError(f"{given}; {PIN_BY_DIGEST}")
    if tag is not None and not re.fullmatch(LABEL_VALUE, tag):
        raise UsageError(
            f"tag {tag!r}: too long for a Kubernetes label (at most 63 characters); "
            "pin by digest alone with --image name@sha256:..."
        )
    return Pin(f"{name}@{digest}", tag or digest.removeprefix("sha256:")[:12])


def secret_name(cfg: Config) -> str | None:
    """The Secret pods take their environment from: the configured one, else `<name>-env`
    when the deploy has an env file; none when the app has no environment to hide."""
    if cfg.kubernetes.secret is not None:
        return cfg.kubernetes.secret
    return f"{cfg.kubernetes.name}-env" if cfg.deploy.env_file else None


def _check_names(cfg: Config) -> None:
    """The names derived from the deploy's app must be DNS-1123 labels too (set ones are
    checked when the config is read)."""
    name = cfg.kubernetes.name
    if not inputs.is_dns_label(name):
        raise ConfigError(
            f"{TABLE}.name: {name!r} (from tool.shipline.deploy.app) is not a DNS-1123 label "
            '(at most 63 of a-z 0-9 "-", alphanumeric at both ends); set name = "my-app"'
        )
    secret = secret_name(cfg)
    if secret is not None and not inputs.is_dns_label(secret):
        raise ConfigError(
            f"{TABLE}.secret: {secret!r} is longer than a DNS-1123 label (63); "
            'set secret = "my-app-env"'
        )


def labels(cfg: Config, pin: Pin) -> dict[str, str]:
    """Kubernetes' recommended labels: the app, its version, and who wrote the manifest."""
    return {
        "app.kubernetes.io/name": cfg.kubernetes.name,
        "app.kubernetes.io/version": pin.version,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector(cfg: Config) -> dict[str, str]:
    """What ties the Service and the Deployment to the pods: the name alone, never the
    version (a Deployment's selector cannot change, and a release changes the version)."""
    return {"app.kubernetes.io/name": cfg.kubernetes.name}


def _metadata(cfg: Config, pin: Pin) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": cfg.kubernetes.name, "labels": labels(cfg, pin)}
    if cfg.kubernetes.namespace is not None:
        metadata["namespace"] = cfg.kubernetes.namespace
    return metadata


def _http_get(path: str) -> dict[str, Any]:
    return {"path": path, "port": "http"}


def probes(cfg: Config) -> dict[str, Any]:
    """Readiness gates traffic (the health path, as the smoke checks ask it); liveness
    restarts a stuck container; the startup probe gives a new pod the deploy's
    health-timeout to come up before liveness may restart it."""
    k = cfg.kubernetes
    timing = {"timeoutSeconds": k.probe_timeout, "failureThreshold": k.failure_threshold}
    starts = math.ceil(cfg.deploy.health_timeout / k.readiness_period)
    return {
        "startupProbe": {
            "httpGet": _http_get(cfg.smoke.health_path),
            "periodSeconds": k.readiness_period,
            "timeoutSeconds": k.probe_timeout,
            "failureThreshold": max(starts, 1),
        },
        "readinessProbe": {
            "httpGet": _http_get(cfg.smoke.health_path),
            "periodSeconds": k.readiness_period,
            "successThreshold": 1,
            **timing,
        },
        "livenessProbe": {
            "httpGet": _http_get(k.liveness_path or cfg.smoke.health_path),
            "periodSeconds": k.liveness_period,
            **timing,
        },
    }


def container(cfg: Config, pin: Pin) -> dict[str, Any]:
    """The app's container: the pinned image, its port as PORT (the port shipline's image
    serves on), probes, resources, and its environment from the Secret by reference."""
    k = cfg.kubernetes
    spec: dict[str, Any] = {
        "name": k.name,
        "image": pin.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": k.container_port, "protocol": "TCP"}],
        "env": [
            {"name": "HOST", "value": "0.0.0.0"},  # noqa: S104 - the pod's own address
            {"name": "PORT", "value": str(k.container_port)},
        ],
        **probes(cfg),
    }
    secret = secret_name(cfg)
    if secret is not None:
        spec["envFrom"] = [{"secretRef": {"name": secret}}]
    resources = {
        key: dict(value) for key, value in (("requests", k.requests), ("limits", k.limits)) if value
    }
    if resources:
        spec["resources"] = resources
    return spec


def deployment(cfg: Config, pin: Pin) -> Manifest:
    """A rolling update that never has fewer ready pods than replicas, one extra at a time,
    and fails after progressDeadlineSeconds without progress."""
    k = cfg.kubernetes
    pod: dict[str, Any] = {"containers": [container(cfg, pin)]}
    if k.image_pull_secret is not None:
        pod["imagePullSecrets"] = [{"name": k.image_pull_secret}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(cfg, pin),
        "spec": {
            "replicas": k.replicas,
            "revisionHistoryLimit": cfg.deploy.keep,
            "progressDeadlineSeconds": k.progress_deadline,
            "selector": {"matchLabels": selector(cfg)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {"metadata": {"labels": labels(cfg, pin)}, "spec": pod},
        },
    }


def service(cfg: Config, pin: Pin) -> Manifest:
    """The app's stable address: ready pods only, on the service port."""
    k = cfg.kubernetes
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(cfg, pin),
        "spec": {
            "type": k.service_type,
            "selector": selector(cfg),
            "ports": [
                {"name": "http", "port": k.service_port, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def manifests(cfg: Config, pin: Pin) -> list[Manifest]:
    """The Deployment and the Service, in the order `kubectl apply` should take them."""
    _check_names(cfg)
    return [deployment(cfg, pin), service(cfg, pin)]


def secret_command(cfg: Config) -> str | None:
    """The kubectl line that creates (or updates) the Secret from the env file; the user
    runs it, so the values go from their file to the cluster and nowhere else."""
    secret = secret_name(cfg)
    if secret is None:
        return None
    source = shlex.quote(cfg.deploy.env_file) if cfg.deploy.env_file else "<your env file>"
    namespace = f" --namespace {cfg.kubernetes.namespace}" if cfg.kubernetes.namespace else ""
    return (
        f"kubectl create secret generic {secret}{namespace} --from-env-file={source} "
        "--dry-run=client -o yaml | kubectl apply -f -"
    )


def render(documents: Sequence[Manifest]) -> str:
    """The manifests as one multi-document YAML stream, keys in the order written."""
    return yaml.safe_dump_all(list(documents), sort_keys=False, explicit_start=True)


def file_name(manifest: Manifest) -> str:
    return f"{manifest['kind'].lower()}.yaml"


def write(documents: Sequence[Manifest], out: Path) -> list[Path]:
    """One file per object (deployment.yaml, service.yaml) in `out`, made if missing."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r}: is a file; give a directory such as k8s")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for manifest in documents:
        path = out / file_name(manifest)
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        written.append(path)
    return written
