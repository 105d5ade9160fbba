"""Invoke tasks; a user's tasks.py is exactly `from shipline.tasks import namespace`.

One module per concern: `images` (tags, build, push), `deploy` (deploy,
rollback, lock), `smoke`, `init`, `maintenance` (actions); `errors` turns a
task's errors into one line. The delivery tasks' descriptions are data in
`shipline.delivery`.
"""

from __future__ import annotations

from invoke.collection import Collection

from shipline.delivery import DELIVERY
from shipline.tasks import deploy as deploy_tasks
from shipline.tasks import images as image_tasks
from shipline.tasks import init as init_task
from shipline.tasks import maintenance
from shipline.tasks import smoke as smoke_task
from shipline.tasks.images import EngineUnreachable

namespace = Collection(
    maintenance.actions,
    image_tasks.tags,
    image_tasks.build,
    image_tasks.push,
    deploy_tasks.deploy,
    deploy_tasks.rollback,
    deploy_tasks.lock,
    smoke_task.smoke,
    init_task.init,
)

__all__ = ["DELIVERY", "EngineUnreachable", "namespace"]
