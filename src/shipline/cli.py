"""The `shipline` command: the same tasks as `invoke`, usable before a project has tasks.py.

`shipline init` is how a project gets its tasks.py; after that `invoke <task>`
and `shipline <task>` are the same thing.
"""

from __future__ import annotations

from invoke.program import Program

from shipline import __version__
from shipline.tasks import namespace

program = Program(name="shipline", binary="shipline", namespace=namespace, version=__version__)
