from __future__ import annotations

import pytest

from shipline.errors import UsageError
from shipline.remote import HostSpec


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("deploy@app1", HostSpec("deploy", "app1", 22)),
        ("deploy@app1:2222", HostSpec("deploy", "app1", 2222)),
        ("root@198.18.0.11", HostSpec("root", "198.18.0.11", 22)),
        ("ops@[::1]:22022", HostSpec("ops", "::1", 22022)),
    ],
)
def test_host_specs(text: str, spec: HostSpec) -> None:
    assert HostSpec.parse(text) == spec


@pytest.mark.parametrize(
    "text",
    [
        "app1",
        "deploy@",
        "@app1",
        "deploy@app1:0",
        "deploy@app1:99999",
        "deploy@app 1",
        "Deploy@app1",
    ],
)
def test_malformed_host_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        HostSpec.parse(text)
    assert str(caught.value) == (
        f"--host {text!r}: expected user@host or user@host:port, e.g. deploy@app1"
    )
    assert caught.value.exit_code == 2


def test_host_spec_prints_like_ssh() -> None:
    assert str(HostSpec("deploy", "app1", 22)) == "deploy@app1"
    assert str(HostSpec("deploy", "app1", 2222)) == "deploy@app1:2222"
