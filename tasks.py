"""shipline's own tasks: a project's (the generated form) and the maintainer's `actions`."""

from shipline.tasks.all_tasks import *  # noqa: F403, RUF100
from shipline.tasks.maintenance import actions as actions
