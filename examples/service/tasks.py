"""Invoke tasks of this project: shipline's, and every @task defined in this file.

Add your own below the import; `invoke --list` shows them beside shipline's:

    from invoke import task

    @task
    def hello(c):
        c.run("echo hello")
"""

from shipline.tasks.all_tasks import *  # noqa: F403, RUF100
