"""What the manager reports, parsed: pure functions of the text its commands print.

`truth` is the survey (is it a manager, its nodes, each service, shipline's record);
`progress` reads one poll of a service's update status and tasks and says whether
the update is done, still going, or failed (and why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shipline.deploy.survey import Deployed

ROLLED_BACK = ("rollback_started", "rollback_completed", "rollback_paused")


@dataclass(frozen=True)
class Node:
    id: str
    status: str
    availability: str
    hostname: str


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    update: dict[str, Any] | None

    @property
    def started(self) -> str | None:
        """When the service's last update started: a new update changes it."""
        return str(self.update.get("StartedAt")) if self.update else None


@dataclass(frozen=True)
class Record:
    """What shipline deployed last, and before that (for `invoke rollback`)."""

    current: Deployed | None
    previous: Deployed | None

    def json(self) -> str:
        def one(d: Deployed | None) -> dict[str, str] | None:
            return {"version": d.version, "image": d.image} if d else None

        return json.dumps({"current": one(self.current), "previous": one(self.previous)})


@dataclass(frozen=True)
class Truth:
    engine_error: str | None
    node_state: str
    manager: bool
    nodes: tuple[Node, ...] = ()
    services: dict[str, Service | None] = field(default_factory=dict)
    record: Record = field(default_factory=lambda: Record(None, None))

    def ready_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.status == "Ready" and n.availability == "Active"]


def _deployed(data: object) -> Deployed | None:
    if isinstance(data, dict) and isinstance(data.get("version"), str):
        image = data.get("image")
        return Deployed(str(data["version"]), str(image)) if isinstance(image, str) else None
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def truth(text: str) -> Truth:
    """Parse the survey script's lines."""
    error: str | None = None
    node_state, manager = "inactive", False
    nodes: list[Node] = []
    services: dict[str, Service | None] = {}
    record = Record(None, None)
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "engine":
            error = rest.strip() or "docker did not answer"
        elif kind == "swarm":
            words = rest.split()
            node_state = words[0] if words else "inactive"
            manager = len(words) > 1 and words[1] == "true"
        elif kind == "node":
            words = rest.split(" ", 3)
            if len(words) == 4:
                nodes.append(Node(*words))
        elif kind == "service":
            name, _, detail = rest.partition(" ")
            if detail == "absent":
                services[name] = None
            else:
                image, _, update = detail.partition(" ")
                found = _json(update)
                services[name] = Service(name, image, found if isinstance(found, dict) else None)
        elif kind == "state":
            data = _json(rest)
            if isinstance(data, dict):
                record = Record(_deployed(data.get("current")), _deployed(data.get("previous")))
    return Truth(error, node_state, manager, tuple(nodes), services, record)


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    node: str
    desired: str
    current: str
    error: str
    image: str

    @property
    def running(self) -> bool:
        return self.current.startswith("Running")

    @property
    def failed(self) -> bool:
        return bool(self.error) or self.current.startswith(("Failed", "Rejected"))


@dataclass(frozen=True)
class Status:
    update: dict[str, Any] | None
    tasks: tuple[Task, ...]

    @property
    def state(self) -> str | None:
        return str(self.update.get("State")) if self.update else None

    @property
    def message(self) -> str:
        return str(self.update.get("Message", "")) if self.update else ""


def status(text: str) -> Status:
    update: dict[str, Any] | None = None
    tasks: list[Task] = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "update":
            found = _json(rest.strip())
            update = found if isinstance(found, dict) else None
        elif kind == "task":
            parts = rest.split("|")
            if len(parts) == 7:
                tasks.append(Task(*parts))
    return Status(update, tuple(tasks))


def digest(image: str) -> str:
    """The digest of name[:tag]@sha256:..., else the reference itself."""
    return image.rsplit("@", 1)[-1]


@dataclass(frozen=True)
class Progress:
    done: bool
    failure: str | None = None
    """Why the update failed (set once swarm has finished undoing it, when it does)."""
    rolled_back: bool = False
    """Swarm rolled the update back by itself: shipline must not roll back again."""


def progress(found: Status, *, before: str | None, image: str, replicas: int) -> Progress:
    """One poll of an update toward `image`. `before`: the StartedAt of the service's
    update before this deploy (an update since then is this deploy's, or swarm's own
    rollback of it)."""
    fresh = found.update is not None and str(found.update.get("StartedAt")) != before
    state = found.state if fresh else None
    if state in ROLLED_BACK:
        done = state != "rollback_started"
        why = f"the update rolled back by itself ({found.message or state})"
        return Progress(done, why if done else None, rolled_back=True)
    if state == "paused":
        return Progress(True, f"the update paused ({found.message or 'paused'})")
    if state == "updating":
        return Progress(False)
    want = digest(image)
    live = [t for t in found.tasks if t.desired == "Running"]
    ours = [t for t in live if t.running and digest(t.image) == want]
    return Progress(len(ours) == replicas and len(live) == replicas)


def stuck(found: Status) -> str | None:
    """A task swarm cannot place (start-first with no node free, a constraint no node
    meets): the update would wait forever."""
    for task in found.tasks:
        if task.desired in ("Running", "Ready") and "no suitable node" in task.error:
            return f"{task.name} cannot be placed: {task.error}"
    return None
