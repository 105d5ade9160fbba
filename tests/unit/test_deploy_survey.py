"""Reading a host: the survey's output as data, and the live slot decided from it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from shipline import config
from shipline.deploy import plan as plans
from shipline.deploy import survey
from shipline.deploy.survey import Container, Deployed, Truth

V1 = "reg/acme/web@sha256:" + "1" * 64
V2 = "reg/acme/web@sha256:" + "2" * 64
V3 = "reg/acme/web@sha256:" + "3" * 64


@pytest.fixture
def deploy(tmp_path: Path) -> config.DeployConfig:
    text = (
        '[project]\nname = "acme"\n[tool.shipline.deploy]\napp = "app"\npath = "/srv/app"\n'
        'services = ["web", "worker"]\nbase-port = 8001\n'
    )
    return config.parse(tomllib.loads(text), tmp_path).deploy


def record(slot: str, version: str, image: str, *history: tuple[str, str]) -> str:
    return json.dumps(
        {
            "slot": slot,
            "version": version,
            "image": image,
            "history": [{"version": v, "image": i} for v, i in history],
        }
    )


def output(
    *,
    upstream: int = 8002,
    proxy: str = "true",
    green: str = "healthy",
    blue: str = "healthy",
    blue_state: str = "running",
    state: str | None = None,
    switching: bool = False,
) -> str:
    """What `commands.survey`'s script prints, line for line."""
    lines = [f"upstream web {upstream}", f"upstream worker {upstream + 2}"]
    if switching:
        lines.append("switching")
    lines += [
        f"proxy {proxy}",
        f"container app-green web 0a1b2c3d running {V2} {green}",
        f"container app-green worker 1a1b2c3d running {V2} {green}",
        f"container app-blue web 2a1b2c3d {blue_state} {V1} {blue}",
        "container app-proxy nginx 3a1b2c3d running nginx:1.27-alpine none",
        f"container other-green web 4a1b2c3d running {V3} healthy",
        "slotenv blue APP_IMAGE=" + V1,
        "slotenv blue APP_VERSION=v1",
        "slotenv green APP_IMAGE=" + V2,
        "slotenv green APP_VERSION=v2",
        "slotenv green APP_PORT=8002",
    ]
    if state is not None:
        lines.append(f"state {state}")
    return "\n".join(lines) + "\n"


def test_parse_reads_every_kind_of_line() -> None:
    text = output(state=record("green", "v2", V2, ("v2", V2), ("v1", V1)), switching=True)
    found = survey.parse("warning: something unexpected\n" + text + "garbage line\n\n", "app")
    assert dict(found.upstreams) == {"web": 8002, "worker": 8004}
    assert found.switching is True
    assert found.proxy_running is True
    assert found.containers == (
        Container("green", "web", "0a1b2c3d", "running", V2, "healthy"),
        Container("green", "worker", "1a1b2c3d", "running", V2, "healthy"),
        Container("blue", "web", "2a1b2c3d", "running", V1, "healthy"),
    )  # the proxy's and another app's containers are not slot containers
    assert dict(found.slot_env["green"]) == {
        "APP_IMAGE": V2,
        "APP_VERSION": "v2",
        "APP_PORT": "8002",
    }
    assert found.slot_env["blue"]["APP_VERSION"] == "v1"
    assert found.record["slot"] == "green"
    assert found.record["history"][1] == {"version": "v1", "image": V1}


def test_parse_of_nothing_is_an_empty_host() -> None:
    found = survey.parse("", "app")
    assert (found.switching, found.proxy_running, found.containers) == (False, False, ())
    assert (dict(found.upstreams), dict(found.record)) == ({}, {})
    assert {slot: dict(env) for slot, env in found.slot_env.items()} == {"blue": {}, "green": {}}


@pytest.mark.parametrize(
    "line",
    [
        "upstream web notaport",
        "upstream web",
        "proxy false",
        "proxy absent",
        "container app-green web only-four-words running",
        "slotenv purple APP_VERSION=v9",
        "slotenv green =novalue",
        "state {not json",
        'state ["a", "list"]',
    ],
)
def test_malformed_lines_are_ignored(line: str) -> None:
    found = survey.parse(line + "\n", "app")
    assert dict(found.upstreams) == {}
    assert found.proxy_running is False
    assert found.containers == ()
    assert all(dict(env) == {} for env in found.slot_env.values())
    assert dict(found.record) == {}


def test_health_is_running_and_healthy() -> None:
    def container(state: str, status: str) -> Container:
        return Container("blue", "web", "id", state, V1, status)

    assert container("running", "healthy").healthy
    assert not container("running", "starting").healthy
    assert not container("running", "unhealthy").healthy
    assert not container("running", "none").healthy  # no healthcheck: never trusted
    assert not container("exited", "healthy").healthy
    assert not container("restarting", "healthy").healthy


def test_the_proxy_decides_the_live_slot(deploy: config.DeployConfig) -> None:
    found = survey.truth(
        survey.parse(output(state=record("green", "v2", V2, ("v2", V2))), "app"), deploy
    )
    assert found.live == "green"
    assert found.running == Deployed("v2", V2)
    assert (found.sync, found.notes) == (False, ())
    assert found.history == (Deployed("v2", V2),)


def test_a_stale_record_is_noted_and_the_proxy_wins(deploy: config.DeployConfig) -> None:
    stale = record("blue", "v1", V1, ("v1", V1))
    found = survey.truth(survey.parse(output(state=stale), "app"), deploy)
    assert found.live == "green"
    assert found.sync is False
    assert len(found.notes) == 1
    assert "state.json says blue is live but the proxy serves green" in found.notes[0]
    assert "the proxy wins" in found.notes[0]


def test_an_interrupted_switch_is_synced_first(deploy: config.DeployConfig) -> None:
    found = survey.truth(survey.parse(output(switching=True), "app"), deploy)
    assert (found.live, found.sync) == ("green", True)
    assert "mid-switch" in found.notes[0]


def test_a_proxy_pointing_at_an_unhealthy_slot_goes_back_to_the_healthy_one(
    deploy: config.DeployConfig,
) -> None:
    text = output(green="unhealthy", state=record("blue", "v1", V1))
    found = survey.truth(survey.parse(text, "app"), deploy)
    assert (found.live, found.sync) == ("blue", True)
    assert found.running == Deployed("v1", V1)
    assert any("points at green, which runs no healthy web" in n for n in found.notes)
    # The record agreed with the outcome: no "proxy wins" note.
    assert not any("the proxy wins" in n for n in found.notes)


def test_when_neither_slot_is_healthy_the_proxy_is_believed(
    deploy: config.DeployConfig,
) -> None:
    text = output(green="unhealthy", blue_state="exited")
    found = survey.truth(survey.parse(text, "app"), deploy)
    assert (found.live, found.sync) == ("green", False)
    # What runs there is still reported, healthy or not.
    assert found.running == Deployed("v2", V2)


@pytest.mark.parametrize("blue_state", ["exited", "running"])
def test_the_old_slot_stopped_or_still_stopping_after_a_deploy(
    deploy: config.DeployConfig, blue_state: str
) -> None:
    # A deploy stops the old slot in the background: the next survey may find its
    # containers exited, or still running out their graceful stop.
    state = record("green", "v2", V2, ("v2", V2), ("v1", V1))
    text = output(blue_state=blue_state, state=state)
    found = survey.truth(survey.parse(text, "app"), deploy)
    assert (found.live, found.running, found.sync, found.notes) == (
        "green",
        Deployed("v2", V2),
        False,
        (),
    )
    assert found.previous() == Deployed("v1", V1)


def test_the_slot_variables_the_stage_writes_name_the_running_version(
    deploy: config.DeployConfig,
) -> None:
    written = plans.slot_env(deploy, "blue", plans.Release("1.4.0-rc.1", V1)).decode()
    # What the survey's `sed "s/^/slotenv blue /"` prints of that file.
    lines = "".join(f"slotenv blue {line}\n" for line in written.splitlines())
    text = f"upstream web 8001\nproxy true\ncontainer app-blue web 2a1b running {V1} healthy\n"
    state = survey.parse(text + lines, "app")
    assert dict(state.slot_env["blue"]) == {
        "APP_IMAGE": V1,
        "APP_VERSION": "1.4.0-rc.1",
        "APP_SLOT": "blue",
        "APP_PORT_WEB": "8001",
        "APP_PORT_WORKER": "8003",
        "APP_PORT": "8001",
    }
    assert survey.truth(state, deploy).running == Deployed("1.4.0-rc.1", V1)


def test_no_running_proxy_means_no_live_slot(deploy: config.DeployConfig) -> None:
    for proxy in ("false", "absent"):
        found = survey.truth(survey.parse(output(proxy=proxy), "app"), deploy)
        assert (found.live, found.running, found.sync) == (None, None, False)


def test_an_upstream_naming_no_slot_port_means_no_live_slot(
    deploy: config.DeployConfig,
) -> None:
    found = survey.truth(survey.parse(output(upstream=7000), "app"), deploy)
    assert found.live is None


def test_the_running_version_falls_back_to_the_image(deploy: config.DeployConfig) -> None:
    text = "upstream web 8001\nproxy true\n" + (
        f"container app-blue web 2a1b running {V1} healthy\n"
    )
    found = survey.truth(survey.parse(text, "app"), deploy)
    assert found.running == Deployed(V1, V1)


def test_previous_skips_what_runs_now() -> None:
    history = (Deployed("v3", V3), Deployed("v2", V2), Deployed("v1", V1))
    assert Truth("blue", Deployed("v3", V3), False, (), history).previous() == Deployed("v2", V2)
    # What runs now is skipped wherever it appears in the history.
    later = (Deployed("v2", V2), Deployed("v3", V3), Deployed("v1", V1))
    assert Truth("blue", Deployed("v3", V3), False, (), later).previous() == Deployed("v2", V2)
    again = (Deployed("v3", V3), Deployed("v3", V3), Deployed("v1", V1))
    assert Truth("blue", Deployed("v3", V3), False, (), again).previous() == Deployed("v1", V1)
    assert Truth(None, None, False, (), history).previous() == Deployed("v3", V3)
    assert Truth("blue", Deployed("v3", V3), False, (), (Deployed("v3", V3),)).previous() is None


def test_history_entries_that_are_not_versions_are_skipped(
    deploy: config.DeployConfig,
) -> None:
    state = json.dumps(
        {"history": [{"version": "v1", "image": V1}, {"version": 3}, "v0", {"image": V2}]}
    )
    found = survey.truth(survey.parse(f"state {state}\n", "app"), deploy)
    assert found.history == (Deployed("v1", V1),)
    broken = survey.truth(survey.parse('state {"history": "v1"}\n', "app"), deploy)
    assert broken.history == ()


def test_record_after_puts_the_new_version_first_without_duplicates() -> None:
    before = Truth(
        "blue",
        Deployed("v2", V2),
        False,
        (),
        (Deployed("v2", V2), Deployed("v1", V1), Deployed("v2", V2)),
    )
    state = json.loads(
        survey.record_after("green", Deployed("v3", V3), truth_before=before, when="T")
    )
    assert state == {
        "slot": "green",
        "version": "v3",
        "image": V3,
        "history": [
            {"version": "v3", "image": V3, "at": "T"},
            {"version": "v2", "image": V2},
            {"version": "v1", "image": V1},
        ],
    }


def test_record_after_a_rollback_does_not_list_the_image_twice() -> None:
    before = Truth("green", Deployed("v2", V2), False, (), (Deployed("v2", V2), Deployed("v1", V1)))
    state = json.loads(
        survey.record_after("blue", Deployed("v1", V1), truth_before=before, when="T")
    )
    assert [(e["version"], e["image"]) for e in state["history"]] == [("v1", V1), ("v2", V2)]


def test_record_after_keeps_the_newest(deploy: config.DeployConfig) -> None:
    history = tuple(Deployed(f"v{i}", f"reg/app@sha256:{i:064d}") for i in range(20, 0, -1))
    before = Truth("blue", history[0], False, (), history)
    text = survey.record_after("green", Deployed("v21", V3), truth_before=before, when="T", keep=4)
    versions = [e["version"] for e in json.loads(text)["history"]]
    assert versions == ["v21", "v20", "v19", "v18"]
    # What it writes is what the next survey reads back.
    again = survey.truth(survey.parse(f"state {text}\n", "app"), deploy)
    assert [d.version for d in again.history] == versions
