"""The `shipline` command: the same tasks as `invoke`, usable before a project has tasks.py.

`shipline init` is how a project gets its tasks.py; after that `invoke <task>`
and `shipline <task>` run the same shipline tasks (a project's own tasks are
`invoke`'s only). One difference: a command line shipline cannot parse (an
unknown task or flag, a flag without its value) ends with one
`shipline: error:` line and exit status 2, like every other usage error of
shipline's; plain `invoke` prints invoke's line and exits 1, and a tasks file
has no say in that.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from invoke.exceptions import Exit, ParseError
from invoke.program import Program

from shipline import __version__
from shipline.errors import USAGE_EXIT
from shipline.tasks import namespace

_ARGUMENT = re.compile(r"<Argument: (?P<name>\w+)[^>]*>")


def parse_error_line(exc: ParseError) -> str:
    """invoke's parse message as shipline's one line, a flag named as typed, not by its repr."""
    message = _ARGUMENT.sub(lambda m: "--" + m["name"].replace("_", "-"), str(exc))
    return f"shipline: error: {message}"


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """A ParseError as the `Exit` that `Program.run` prints and exits with unchanged."""
    try:
        yield
    except ParseError as exc:
        raise Exit(parse_error_line(exc), code=USAGE_EXIT) from None


class ShiplineProgram(Program):
    """invoke's Program whose parse errors are usage errors: one line, exit 2.

    invoke catches `ParseError` inside `Program.run` and exits 1, so each parsing
    step turns it into an `Exit` first, which `run` prints and exits with as is.
    """

    def parse_core(self, argv: list[str] | None) -> None:
        with _usage_errors():
            super().parse_core(argv)

    def parse_tasks(self) -> None:
        with _usage_errors():
            super().parse_tasks()

    def parse_cleanup(self) -> None:
        with _usage_errors():
            super().parse_cleanup()


program = ShiplineProgram(
    name="shipline", binary="shipline", namespace=namespace, version=__version__
)
