"""`invoke manifests --target kubernetes` run as a user runs it, in a sample project.

No cluster: the files the task writes are validated against the official Kubernetes
JSON schemas (kubernetes-validate, offline) and read back for what they promise.
"""

from __future__ import annotations

import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from support.run import run
from support.sample import make_project, write

DIGEST = "sha256:" + "0123456789abcdef" * 4
SECRET_VALUE = "hunter2-never-in-a-manifest"
TOOL = """
[tool.shipline.deploy]
env-file = ".env.production"

[tool.shipline.smoke]
health-path = "/healthz"

[tool.shipline.kubernetes]
namespace = "shop"
limits = { memory = "512Mi" }
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "sample", extra=TOOL)
    write(root, "tasks.py", "from shipline.tasks.all_tasks import *  # noqa: F403\n")
    write(root, ".env.production", f"SECRET_KEY={SECRET_VALUE}\n")
    return root


def invoke(root: Path, *argv: str) -> tuple[int, str]:
    result = run([sys.executable, "-m", "invoke", *argv], cwd=root, timeout=120)
    return result.code, result.output


def test_the_task_writes_valid_manifests_pinned_by_digest(project: Path) -> None:
    image = f"ghcr.io/acme/sample-app:0.1.0@{DIGEST}"
    code, output = invoke(
        project, "manifests", "--target", "kubernetes", "--image", image, "--out", "deploy/k8s"
    )
    assert code == 0, output
    out = project / "deploy" / "k8s"
    written = {path.name: yaml.safe_load(path.read_text()) for path in out.iterdir()}
    assert sorted(written) == ["deployment.yaml", "service.yaml"]
    for document in written.values():
        for version in ("1.30.0", kubernetes_validate.latest_version()):
            kubernetes_validate.validate(document, version, strict=True)
    deployment = written["deployment.yaml"]
    assert deployment["metadata"]["namespace"] == "shop"
    spec = deployment["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert spec["progressDeadlineSeconds"] == 600
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/acme/sample-app@{DIGEST}"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["envFrom"] == [{"secretRef": {"name": "sample-app-env"}}]
    assert "--namespace shop --from-env-file=.env.production" in output
    everything = output + "".join(path.read_text() for path in out.iterdir())
    assert SECRET_VALUE not in everything


def test_a_tag_without_a_digest_is_one_line_and_exit_2(project: Path) -> None:
    code, output = invoke(project, "manifests", "--image", "ghcr.io/acme/sample-app:0.1.0")
    assert code == 2, output
    assert output.strip().splitlines() == [
        "shipline: error: --image 'ghcr.io/acme/sample-app:0.1.0' has no digest; "
        "pin by digest: pass --image name@sha256:..., or push first"
    ]
    assert not (project / "k8s").exists()
