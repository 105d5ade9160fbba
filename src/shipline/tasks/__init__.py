"""Invoke tasks; a project's tasks.py is `from shipline.tasks.all_tasks import *`.

One module per concern: `images` (tags, build, push), `deploy` (deploy,
rollback, lock), `manifests` (Kubernetes), `smoke`, `gate` (the CD wait for
the quality checks), `init`; `all_tasks` names them for a tasks.py;
`maintenance` (actions) serves shipline's own repository only and is in no
project's tasks. `errors` turns a task's errors into one line. The delivery
tasks' descriptions are data in `shipline.delivery`. Every task is declared
with `auto_shortflags=False`: invoke would make `-h` mean `--host`, and `-h`
must be help everywhere.

`namespace` is the same tasks as one collection: what the `shipline` command
runs, and what a tasks.py generated before `all_tasks` imports (it still works;
it just cannot have the project's own tasks beside shipline's).
"""

from __future__ import annotations

from invoke.collection import Collection

from shipline.delivery import DELIVERY
from shipline.tasks import all_tasks
from shipline.tasks.images import EngineUnreachable

namespace = Collection(*[getattr(all_tasks, name) for name in all_tasks.__all__])

__all__ = ["DELIVERY", "EngineUnreachable", "namespace"]
