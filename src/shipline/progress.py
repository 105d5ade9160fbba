"""How long-running work (image builds and pushes, deploys) reports progress.

It calls a function the caller gives it with one line at a time, rather than
printing: the tasks print to stdout, or to stderr when stdout carries JSON;
the deploy scrubs secrets out first; the tests collect the lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

Echo: TypeAlias = Callable[[str], None]
"""Takes one line of progress, without its newline."""
