"""The wheel a session installs: where the running shipline came from, and its repack."""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import json
import zipfile
from pathlib import Path

import pytest

from shipline import selfwheel
from shipline.errors import ShiplineError

INFO = "demo_pkg-1.0.dist-info"


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install_fake(site: Path, direct_url: dict[str, object] | None = None) -> Path:
    """A distribution laid out as an installer leaves it: RECORD, scripts, bytecode."""
    files = {
        "demo_pkg/__init__.py": b"VALUE = 1\n",
        "demo_pkg/data/template.txt": b"hello\n",
        "demo_pkg/__pycache__/__init__.cpython-312.pyc": b"bytecode",
        f"{INFO}/METADATA": b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
        f"{INFO}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{INFO}/entry_points.txt": b"[console_scripts]\ndemo = demo_pkg:main\n",
        f"{INFO}/INSTALLER": b"uv\n",
        f"{INFO}/REQUESTED": b"",
        f"{INFO}/uv_cache.json": b"{}",
    }
    if direct_url is not None:
        files[f"{INFO}/direct_url.json"] = json.dumps(direct_url).encode()
    for name, data in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)
    rows = [[name, _hash(data), str(len(data))] for name, data in files.items()]
    rows += [["../../../bin/demo", _hash(b"#!"), "2"], [f"{INFO}/RECORD", "", ""]]
    with (site / INFO / "RECORD").open("w", newline="") as record:
        csv.writer(record).writerows(rows)
    return site / INFO


def dist_at(path: Path) -> importlib.metadata.Distribution:
    return importlib.metadata.PathDistribution(path)


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (None, selfwheel.Origin("index")),
        (
            {"url": "file:///w/shipline-0.1.0-py3-none-any.whl", "archive_info": {}},
            selfwheel.Origin("wheel", "file:///w/shipline-0.1.0-py3-none-any.whl"),
        ),
        (
            {"url": "https://x.invalid/shipline-0.1.0.tar.gz", "archive_info": {}},
            selfwheel.Origin("sdist", "https://x.invalid/shipline-0.1.0.tar.gz"),
        ),
        (
            {"url": "file:///repo", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
            selfwheel.Origin("git", "git+file:///repo@abc123"),
        ),
        ({"url": "file:///src/ship", "dir_info": {}}, selfwheel.Origin("checkout", "/src/ship")),
        (
            {"url": "file:///src/ship", "dir_info": {"editable": True}},
            selfwheel.Origin("editable", "/src/ship"),
        ),
    ],
)
def test_the_origin_is_read_from_direct_url(
    tmp_path: Path, direct_url: dict[str, object] | None, expected: selfwheel.Origin
) -> None:
    assert selfwheel.origin(dist_at(install_fake(tmp_path, direct_url))) == expected


def test_an_installed_distribution_is_repacked_from_its_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = {"url": "file:///gone/demo_pkg-1.0-py3-none-any.whl", "archive_info": {}}
    dist = dist_at(install_fake(tmp_path / "site", url))
    origin, wheel = selfwheel.session_wheel(dist)
    assert str(origin) == "from wheel file:///gone/demo_pkg-1.0-py3-none-any.whl"
    assert wheel.name == "demo_pkg-1.0-py3-none-any.whl"
    assert wheel.parent.parent == tmp_path / "cache" / "shipline" / "wheels"
    with zipfile.ZipFile(wheel) as built:
        names = built.namelist()
        record = built.read(f"{INFO}/RECORD").decode()
        assert built.read("demo_pkg/data/template.txt") == b"hello\n"
    # The package and the wheel's metadata; not what the installer wrote or made.
    assert sorted(names) == [
        "demo_pkg-1.0.dist-info/METADATA",
        "demo_pkg-1.0.dist-info/RECORD",
        "demo_pkg-1.0.dist-info/WHEEL",
        "demo_pkg-1.0.dist-info/entry_points.txt",
        "demo_pkg/__init__.py",
        "demo_pkg/data/template.txt",
    ]
    assert f"demo_pkg/__init__.py,{_hash(b'VALUE = 1' + bytes([10]))},10" in record
    # Cached by content: the same files give the same wheel, new content a new one.
    mtime = wheel.stat().st_mtime_ns
    assert selfwheel.installed_wheel(dist) == wheel
    assert wheel.stat().st_mtime_ns == mtime
    (tmp_path / "site" / "demo_pkg" / "__init__.py").write_bytes(b"VALUE = 2\n")
    assert selfwheel.installed_wheel(dist) != wheel


def test_a_missing_installed_file_is_one_line(tmp_path: Path) -> None:
    dist = dist_at(install_fake(tmp_path))
    (tmp_path / "demo_pkg" / "__init__.py").unlink()
    with pytest.raises(ShiplineError, match=r"installed file .*__init__.py is missing") as caught:
        selfwheel.installed_wheel(dist)
    assert "\n" not in str(caught.value)


def test_an_editable_install_whose_checkout_is_gone_is_one_line(tmp_path: Path) -> None:
    url = {"url": (tmp_path / "gone").as_uri(), "dir_info": {"editable": True}}
    dist = dist_at(install_fake(tmp_path / "site", url))
    with pytest.raises(ShiplineError, match=r"installed editable from .*gone.*reinstall shipline"):
        selfwheel.session_wheel(dist)
