"""Every task a project gets, as module-level names, so a tasks.py can star-import them.

invoke makes a collection of every `@task` object in a tasks.py that defines no
`namespace`, so `from shipline.tasks.all_tasks import *` there puts shipline's
tasks next to the project's own, with no list to keep in step. `__all__` is that
list: maintainer tasks (`shipline.tasks.maintenance`) stay out of it.
"""

from __future__ import annotations

from shipline.tasks.deploy import deploy, lock, rollback
from shipline.tasks.gate import gate
from shipline.tasks.images import build, push, tags
from shipline.tasks.init import init
from shipline.tasks.manifests import manifests
from shipline.tasks.smoke import smoke

__all__ = [
    "build",
    "deploy",
    "gate",
    "init",
    "lock",
    "manifests",
    "push",
    "rollback",
    "smoke",
    "tags",
]
