from __future__ import annotations

from pathlib import Path

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


def test_a_key_from_a_ci_secret_and_its_fingerprint(tmp_path: Path) -> None:
    import base64
    import hashlib
    import subprocess

    from shipline.remote import _load_pkey, fingerprint

    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    key = _load_pkey((tmp_path / "k").read_text())
    public = (tmp_path / "k.pub").read_text().split()[1]
    expected = base64.b64encode(hashlib.sha256(base64.b64decode(public)).digest()).decode()
    assert fingerprint(key) == "SHA256:" + expected.rstrip("=")
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "k.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert fingerprint(key) == listed


def test_a_ci_secret_that_is_not_a_key() -> None:
    from shipline.remote import KEY_ENV, _load_pkey

    with pytest.raises(UsageError, match=f"{KEY_ENV} does not hold a private key"):
        _load_pkey("not a key")


def test_unknown_host_key_policy_refuses_or_records(tmp_path: Path) -> None:
    import paramiko

    from shipline.remote import Remote, RemoteError

    key = paramiko.Ed25519Key.generate() if hasattr(paramiko.Ed25519Key, "generate") else None
    if key is None:
        key = paramiko.ECDSAKey.generate()
    client = paramiko.SSHClient()
    strict = Remote(HostSpec("d", "h"), known_hosts=tmp_path / "kh")._policy()
    with pytest.raises(RemoteError, match=r"unknown host key for d@h: .* SHA256:"):
        strict.missing_host_key(client, "h", key)
    trusting = Remote(HostSpec("d", "h"), known_hosts=tmp_path / "kh", accept_new=True)._policy()
    trusting.missing_host_key(client, "h", key)
    assert (tmp_path / "kh").read_text().startswith(f"h {key.get_name()} ")
