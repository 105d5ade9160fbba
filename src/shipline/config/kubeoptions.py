"""The `[tool.shipline.kubernetes]` keys: what `invoke manifests --target kubernetes` writes.

A table of its own, in a module of its own, so the Kubernetes path can grow without
touching the SSH deploy's table (options.py). The manifests also read the deploy and
smoke tables (the app's name, env file, health path and timeout, releases kept), so a
project configures the health check once for every target.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shipline import inputs
from shipline.config import values as v
from shipline.config.options import Section, computed, fixed

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
NO_QUANTITIES: Mapping[str, str] = MappingProxyType({})


class KubernetesOptions(Section):
    table = "tool.shipline.kubernetes"
    name = computed(
        "name",
        inputs.dns_label_setting,
        lambda c: c.app,
        "the Deployment's, Service's and container's name (a DNS-1123 label)",
        shown="`deploy.app`",
    )
    namespace = fixed(
        "namespace",
        inputs.dns_label_setting,
        None,
        "the namespace written into the manifests",
        shown="none (kubectl's current namespace)",
    )
    replicas = fixed("replicas", inputs.whole_number_setting(1), 2, "pods the Deployment runs")
    container_port = fixed(
        "container-port",
        inputs.port_setting,
        8000,
        "the port the app listens on in its container (set as PORT; probes and Service use it)",
    )
    service_port = fixed("service-port", inputs.port_setting, 80, "the port the Service serves on")
    service_type = fixed(
        "service-type",
        v.string(SERVICE_TYPES),
        "ClusterIP",
        "the Service's type: ClusterIP, NodePort or LoadBalancer",
    )
    secret = fixed(
        "secret",
        inputs.dns_label_setting,
        None,
        "the Secret the pods take their environment from (envFrom); its values are never "
        "written into a manifest",
        shown="`<name>-env` when `deploy.env-file` is set, else none",
    )
    image_pull_secret = fixed(
        "image-pull-secret",
        inputs.dns_label_setting,
        None,
        "a docker-registry Secret for pulling a private image",
    )
    progress_deadline = fixed(
        "progress-deadline",
        inputs.whole_number_setting(1),
        600,
        "seconds a rollout may make no progress before it fails (progressDeadlineSeconds); "
        "more than `deploy.health-timeout`",
    )
    readiness_period = fixed(
        "readiness-period",
        inputs.whole_number_setting(1),
        5,
        "seconds between readiness checks of the health path",
    )
    liveness_period = fixed(
        "liveness-period",
        inputs.whole_number_setting(1),
        10,
        "seconds between liveness checks",
    )
    liveness_path = fixed(
        "liveness-path",
        inputs.url_path_setting,
        None,
        "the path the liveness probe requests; a failing one restarts the container",
        shown="`smoke.health-path`",
    )
    failure_threshold = fixed(
        "failure-threshold",
        inputs.whole_number_setting(1),
        3,
        "failed checks in a row before a pod is unready (readiness) or restarted (liveness)",
    )
    probe_timeout = fixed(
        "probe-timeout", inputs.whole_number_setting(1), 3, "seconds per probe request"
    )
    requests = fixed(
        "requests",
        inputs.quantities_setting,
        NO_QUANTITIES,
        'the container\'s resource requests, e.g. { cpu = "250m", memory = "256Mi" }',
    )
    limits = fixed(
        "limits",
        inputs.quantities_setting,
        NO_QUANTITIES,
        'the container\'s resource limits, e.g. { memory = "512Mi" }',
    )
