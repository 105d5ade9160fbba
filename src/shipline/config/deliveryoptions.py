"""Delivery tables beyond the SSH deploy: `[tool.shipline.deploy.swarm]`, `[tool.shipline.gate]`.

Declared like every other key (options.py's `Section`, `fixed`), in a module of
their own so options.py stays readable; the reference (reference.py) and the
readers (sections.py) take them from here.
"""

from __future__ import annotations

from shipline import inputs
from shipline.config import swarm as sw
from shipline.config import values as v
from shipline.config.options import NOTHING, SECONDS0, Section, computed, fixed, strings


class SwarmOptions(Section):
    table = "tool.shipline.deploy.swarm"
    manager = fixed(
        "manager",
        sw.manager,
        None,
        "the manager `docker` runs on, over SSH (`user@host[:port]`)",
        shown="the one --host given",
    )
    stack = computed(
        "stack", inputs.slug_setting, lambda c: c.app, "services: `<stack>_<service>`", shown="app"
    )
    replicas = fixed("replicas", inputs.whole_number_setting(1), 2, "tasks of each service")
    parallelism = fixed("parallelism", v.count, 1, "tasks updated at once (0: all)")
    delay = fixed("delay", SECONDS0, 0.0, "seconds between two batches of tasks")
    monitor = fixed("monitor", SECONDS0, 5.0, "seconds a new task is watched for failure")
    order = fixed(
        "order",
        v.string(sw.ORDERS),
        "start-first",
        "start-first: a new task runs beside the old one (needs a node without a replica)",
    )
    failure_action = fixed(
        "failure-action",
        v.string(sw.FAILURE_ACTIONS),
        "rollback",
        "a failed update: rollback, pause",
    )
    max_failure_ratio = fixed("max-failure-ratio", sw.ratio, 0.0, "failed tasks tolerated (0-1)")
    constraints = fixed("constraints", sw.constraints, NOTHING, 'placement: `"node.role==worker"`')
    health_interval = fixed(
        "health-interval", inputs.seconds_setting(), 1.0, "seconds between health checks"
    )
    health_retries = fixed(
        "health-retries", inputs.whole_number_setting(1), 3, "failed checks before unhealthy"
    )
    update_timeout = fixed(
        "update-timeout", inputs.seconds_setting(), 600.0, "seconds an update or rollback may take"
    )


class QualityGateOptions(Section):
    """`invoke gate`: the CD workflow's wait for the commit's quality checks."""

    table = "tool.shipline.gate"
    exclude = fixed(
        "exclude",
        v.strings,
        strings("gate", "build*", "push*", "deploy*", "release*", "publish*", "live*"),
        "glob patterns (any case) of check names the gate does not wait on: the delivery "
        "jobs; the gate's own job (GITHUB_JOB) and workflow run are always left out",
    )
    require = fixed(
        "require",
        v.strings,
        NOTHING,
        "glob patterns of checks that must be reported: one never seen fails at the timeout",
    )
    timeout = fixed(
        "timeout",
        inputs.seconds_setting(),
        1800.0,
        "seconds the gate waits, rate-limit waits included, before failing on what is unfinished",
    )
    interval = fixed(
        "interval",
        inputs.seconds_setting(),
        10.0,
        "seconds between polls at first; it backs off to four times this while nothing changes",
    )
    settle = fixed(
        "settle",
        inputs.seconds_setting(zero=True),
        30.0,
        "seconds to wait for a first quality check to be reported before passing with none",
    )
