"""The delivery tasks described as data: their names, summaries and arguments' help.

`shipline.tasks` builds its invoke tasks from these (docstring and `--help`),
and `shipline.actions` generates `actions/<task>/action.yml` from them, so the
action generator never imports the tasks (nor the deploy code behind them).
Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

CONTEXT_HELP: Mapping[str, str] = {
    "ref": "Git ref to tag for, e.g. refs/tags/v1.2.3 (default: GITHUB_REF, else the checkout)",
    "sha": "Commit SHA (default: GITHUB_SHA, else HEAD)",
    "event": "GitHub event name (default: GITHUB_EVENT_NAME, else push)",
}
"""The git context the image tasks (tags, build, push) compute tags for."""

IMAGE_HELP: Mapping[str, str] = {
    **CONTEXT_HELP,
    "json": "Print the result as JSON on stdout (the log goes to stderr).",
}

DEPLOY_HELP: Mapping[str, str] = {
    "host": "A host as user@host[:port]; repeat for several hosts (target swarm: the manager)",
    "version": "The image tag or digest to deploy (default: the commit's immutable tag)",
    "batch": "Hosts at a time: a number, or a percentage such as 25%",
    "dry_run": "Print the plan (steps and commands per host) and change nothing",
    "lock_wait": "Seconds to wait for another deploy's lock before giving up",
    "accept_new_host_key": "Trust a host's key on first contact (like OpenSSH accept-new)",
    "known_hosts": "known_hosts file (default ~/.ssh/known_hosts; also SHIPLINE_KNOWN_HOSTS)",
    "key": "Private key file (default: the agent; also SHIPLINE_SSH_KEY)",
}
"""Shared by deploy, rollback and lock."""


@dataclass(frozen=True)
class Delivery:
    """A task with an action of its own (`actions/<name>`)."""

    name: str
    description: str
    """The task's docstring; its first line is the action's description."""
    help: Mapping[str, str]
    """Each argument's help, as invoke takes it (`dry_run` for `--dry-run`)."""

    @property
    def summary(self) -> str:
        return self.description.strip().splitlines()[0].rstrip(".")


BUILD = Delivery(
    "build",
    "Build the image from the Dockerfile with its tags, APP_VERSION and OCI labels.",
    IMAGE_HELP,
)
PUSH = Delivery(
    "push", "Push every tag of the image to its registry; prints the digest.", IMAGE_HELP
)
DEPLOY = Delivery(
    "deploy",
    "Rolling deploy over SSH: new version beside the old, healthy, switch, drain, smoke.",
    DEPLOY_HELP,
)
SMOKE = Delivery(
    "smoke",
    "HTTP smoke checks: /health is ok with every component true, 401 without a token, version.",
    {
        "url": "The service's base URL, e.g. https://app.example.com",
        "version": "Also check the service reports this version",
    },
)
GATE = Delivery(
    "gate",
    "Wait for every quality check of the commit (check runs, statuses) to pass before a deploy.",
    {
        "sha": "The commit to gate (default: GITHUB_SHA)",
        "repo": "The repository as owner/name (default: GITHUB_REPOSITORY)",
        "timeout": "Seconds to wait before failing on unfinished checks (default: config, 1800)",
        "interval": "Seconds between polls at first (default: config, 10)",
    },
)
TASKS: tuple[Delivery, ...] = (GATE, BUILD, PUSH, DEPLOY, SMOKE)
DELIVERY: tuple[str, ...] = tuple(t.name for t in TASKS)
"""Tasks that have an action of their own (`actions/<task>`), mirrored one-to-one."""

F = TypeVar("F", bound=Callable[..., object])


def described(delivery: Delivery) -> Callable[[F], F]:
    """Give a task body its delivery description as its docstring (invoke reads it)."""

    def decorate(body: F) -> F:
        body.__doc__ = delivery.description
        return body

    return decorate
