"""What a host really runs, read in one round trip under the lock, and what follows.

`state.json` is only a record: a deploy killed at the wrong moment leaves it
stale. The truth is where the proxy points and which slot containers are
healthy; `truth()` decides the live slot from those, and says when the record
disagrees (the proxy wins). Pure: parsing and deciding are tested as data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from shipline.config import DeployConfig
from shipline.deploy.commands import SLOTS, slot_project


@dataclass(frozen=True)
class Container:
    slot: str
    service: str
    id: str
    state: str
    image: str
    status: str
    """Docker's health status: starting, healthy, unhealthy, or none."""

    @property
    def healthy(self) -> bool:
        return self.state == "running" and self.status in ("healthy", "(healthy)")


@dataclass(frozen=True)
class Deployed:
    """A version as deployed: the tag people name it by and the image ref it ran."""

    version: str
    image: str

    def as_json(self) -> dict[str, str]:
        return {"version": self.version, "image": self.image}


@dataclass(frozen=True)
class HostState:
    upstreams: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Service -> the port its upstream file names."""
    switching: bool = False
    """A switch was cut short: nginx may not have loaded the upstream files."""
    proxy_running: bool = False
    containers: tuple[Container, ...] = ()
    slot_env: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    record: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def parse(text: str, app: str) -> HostState:
    """The survey's output (see `commands.survey`) as data; unknown lines are ignored."""
    upstreams: dict[str, int] = {}
    containers: list[Container] = []
    slot_env: dict[str, dict[str, str]] = {slot: {} for slot in SLOTS}
    record: dict[str, Any] = {}
    switching = proxy = False
    projects = {slot_project(app, slot): slot for slot in SLOTS}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "upstream":
            service, _, port = rest.partition(" ")
            if port.isdigit():
                upstreams[service] = int(port)
        elif kind == "switching":
            switching = True
        elif kind == "proxy":
            proxy = rest.strip() == "true"
        elif kind == "container":
            words = rest.split(" ", 5)
            if len(words) == 6 and words[0] in projects:
                project, service, cid, state, image, status = words
                containers.append(Container(projects[project], service, cid, state, image, status))
        elif kind == "slotenv":
            slot, _, assignment = rest.partition(" ")
            key, _, value = assignment.partition("=")
            if slot in slot_env and key:
                slot_env[slot][key] = value
        elif kind == "state":
            try:
                loaded = json.loads(rest)
            except ValueError:
                loaded = {}
            record = loaded if isinstance(loaded, dict) else {}
    return HostState(
        MappingProxyType(upstreams),
        switching,
        proxy,
        tuple(containers),
        MappingProxyType({k: MappingProxyType(v) for k, v in slot_env.items()}),
        MappingProxyType(record),
    )


def port(deploy: DeployConfig, slot: str, service: str) -> int:
    """Service i listens on base-port + 2i in blue and + 2i + 1 in green."""
    return deploy.base_port + 2 * deploy.services.index(service) + SLOTS.index(slot)


def other(slot: str) -> str:
    return SLOTS[1 - SLOTS.index(slot)]


@dataclass(frozen=True)
class Truth:
    live: str | None
    """The slot the proxy serves (after the sync step, when there is one); None: none."""
    running: Deployed | None
    """What the live slot runs."""
    sync: bool
    """Reload (and re-point) the proxy to `live` before anything else."""
    notes: tuple[str, ...]
    """What the user is told: the record disagreed, the proxy was out of step."""
    history: tuple[Deployed, ...]
    """Earlier deploys, newest first, from the record."""

    def previous(self) -> Deployed | None:
        """The newest recorded deploy other than what runs now (version and image)."""
        for entry in self.history:
            if entry != self.running:
                return entry
        return None


def _history(record: Mapping[str, Any]) -> tuple[Deployed, ...]:
    entries: list[Deployed] = []
    raw = record.get("history")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            version, image = item.get("version"), item.get("image")
            if isinstance(version, str) and isinstance(image, str):
                entries.append(Deployed(version, image))
    return tuple(entries)


def _healthy(state: HostState, slot: str, service: str) -> Container | None:
    for container in state.containers:
        if container.slot == slot and container.service == service and container.healthy:
            return container
    return None


def truth(state: HostState, deploy: DeployConfig) -> Truth:
    """The live slot from the proxy and the containers; the record only annotates."""
    first = deploy.services[0]
    by_port = {port(deploy, slot, first): slot for slot in SLOTS}
    pointed = by_port.get(state.upstreams.get(first, -1))
    notes: list[str] = []
    live: str | None = None
    sync = False
    if state.proxy_running and pointed:
        live, sync = pointed, state.switching
        if state.switching:
            notes.append(
                "an interrupted deploy left the proxy mid-switch; reloading it first "
                f"so nginx serves what its config names ({pointed})"
            )
        if not _healthy(state, pointed, first) and _healthy(state, other(pointed), first):
            live, sync = other(pointed), True
            notes.append(
                f"the proxy points at {pointed}, which runs no healthy {first}; "
                f"pointing it back at {live}, which does"
            )
    recorded = state.record.get("slot")
    if live and recorded in SLOTS and recorded != live:
        notes.append(
            f"state.json says {recorded} is live but the proxy serves {live}: "
            "the proxy wins (a deploy was interrupted)"
        )
    running = None
    if live:
        container = _healthy(state, live, first) or next(
            (c for c in state.containers if c.slot == live and c.service == first), None
        )
        version = state.slot_env.get(live, {}).get("APP_VERSION", "")
        if container:
            running = Deployed(version or container.image, container.image)
    return Truth(live, running, sync, tuple(notes), _history(state.record))


def record_after(
    slot: str, deployed: Deployed, *, truth_before: Truth, when: str, keep: int = 10
) -> str:
    """state.json after a deploy: the live slot, what it runs, and the history."""
    history = [{**deployed.as_json(), "at": when}]
    seen = {deployed}
    older = ([truth_before.running] if truth_before.running else []) + list(truth_before.history)
    for entry in older:
        if entry not in seen:
            seen.add(entry)
            history.append(entry.as_json())
    return json.dumps(
        {"slot": slot, **deployed.as_json(), "history": history[:keep]}, sort_keys=True
    )
