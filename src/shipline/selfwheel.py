"""The running shipline as a wheel file, so each nox session installs the same shipline.

A session's pytest plugin must be the shipline that registered the session.
Asking the index for `shipline==VERSION` works only when shipline came from the
index the sessions use; installed from a wheel file, a git URL, another index or
a checkout, it failed every test session. So a session always installs a local
wheel, and where it comes from follows PEP 610's `direct_url.json`:

- editable (`dir_info.editable`): the code running is the checkout's current
  source, so a wheel is built from that checkout (uv never caches builds of a
  local tree, so the wheel is cached by a digest of the source);
- anything else (an index, a wheel or sdist file, a git URL, a plain checkout):
  the wheel is repacked from the installed files that RECORD lists, cached by a
  digest of their content. That needs no index, network, git or build backend,
  works after the original wheel or clone is gone, and a wheel rebuilt in place
  under the same file name cannot slip in a different shipline.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from shipline.errors import ShiplineError

DIST = "shipline"
INSTALLER_FILES = frozenset(
    {"INSTALLER", "REQUESTED", "RECORD", "RECORD.jws", "RECORD.p7s", "direct_url.json"}
)
"""dist-info files an installer writes, not part of the wheel (uv adds uv_*.json too)."""
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""A fixed timestamp, so the same files always make the same wheel bytes."""


@dataclass(frozen=True)
class Origin:
    """Where the installed shipline came from, as its installer recorded it (PEP 610)."""

    kind: str
    """`index`, `wheel`, `sdist`, `git` (or another VCS), `checkout` or `editable`."""
    url: str = ""

    def __str__(self) -> str:
        if self.kind == "index":
            return "from an index"
        if self.kind == "editable":
            return f"editable from {self.url}"
        if self.kind in {"wheel", "sdist", "checkout"}:
            return f"from {self.kind} {self.url}"
        return f"from {self.url}"  # a VCS URL says its kind: git+https://...@commit


def origin(dist: importlib.metadata.Distribution) -> Origin:
    """Read `direct_url.json`; no such file means an index (or a --find-links directory)."""
    text = dist.read_text("direct_url.json")
    if not text:
        return Origin("index")
    try:
        data = json.loads(text)
    except ValueError:
        return Origin("index")
    url = str(data.get("url", ""))
    if isinstance(data.get("vcs_info"), dict):
        vcs = data["vcs_info"]
        commit = vcs.get("commit_id")
        return Origin(str(vcs.get("vcs", "vcs")), f"{vcs.get('vcs', 'git')}+{url}@{commit}")
    if isinstance(data.get("dir_info"), dict):
        parsed = urlparse(url)
        path = unquote(parsed.path) if parsed.scheme == "file" else url
        return Origin("editable" if data["dir_info"].get("editable") else "checkout", path)
    if url.endswith(".whl"):
        return Origin("wheel", url)
    return Origin("sdist", url)


def session_wheel(dist: importlib.metadata.Distribution | None = None) -> tuple[Origin, Path]:
    """The wheel a session installs, and where the running shipline came from.

    Raises ShiplineError with one line when no wheel can be had.
    """
    if dist is None:
        try:
            dist = importlib.metadata.distribution(DIST)
        except importlib.metadata.PackageNotFoundError:
            raise ShiplineError(
                "shipline is not installed in the environment running nox, so sessions cannot "
                "install the same shipline; install it there (pip install shipline, or -e .)"
            ) from None
    found = origin(dist)
    if found.kind == "editable":
        source = Path(found.url)
        if not (source / "pyproject.toml").is_file():
            raise ShiplineError(
                f"shipline is installed editable from {source}, which has no pyproject.toml "
                "any more; reinstall shipline"
            )
        return found, checkout_wheel(source)
    return found, installed_wheel(dist)


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "shipline", "wheels")


def _cached(digest: str, build: Callable[[Path], None]) -> Path:
    """The wheel in the cache under `digest`, made by `build(directory)` the first time.

    Built in a staging directory and renamed into place, so a parallel session
    never sees half a wheel.
    """
    target = _cache() / digest
    built = sorted(target.glob("*.whl"))
    if built:
        return built[0]
    _cache().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=_cache()))
    try:
        build(staging)
        with contextlib.suppress(OSError):  # a parallel session may have won the race
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(target.glob("*.whl"))[0]


def source_digest(source: Path) -> str:
    """A hash of what goes into shipline's wheel: pyproject.toml and the package files."""
    digest = hashlib.sha256()
    files = [source / "pyproject.toml", *sorted((source / "src" / "shipline").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def checkout_wheel(source: Path) -> Path:
    """A wheel of a shipline checkout, built once per source state and cached.

    uv never caches builds of a local source tree, so installing the checkout
    itself cost a fresh build (0.6-1.1 s) in every new session.
    """

    def build(staging: Path) -> None:
        try:
            from uv import find_uv_bin

            command = [find_uv_bin(), "build", "--wheel", "--out-dir", str(staging), str(source)]
        except ImportError:
            command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(staging)]
            command.append(str(source))
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ShiplineError(f"could not build a wheel of shipline's checkout {source}: {last}")

    return _cached(source_digest(source), build)


def _written_by_installer(parts: tuple[str, ...]) -> bool:
    if len(parts) != 2 or not parts[0].endswith(".dist-info"):
        return False
    return parts[1] in INSTALLER_FILES or re.fullmatch(r"uv_.*\.json", parts[1]) is not None


def _packed_files(dist: importlib.metadata.Distribution) -> dict[str, Path]:
    """The installed files that belong in the wheel, by their path inside it."""
    if dist.files is None:
        raise ShiplineError(
            f"shipline {dist.version} was installed without a RECORD of its files, so sessions "
            "cannot install the same shipline; reinstall it with pip or uv"
        )
    found: dict[str, Path] = {}
    for record in dist.files:
        parts = PurePosixPath(record.as_posix()).parts
        if not parts or parts[0] == ".." or PurePosixPath(record.as_posix()).is_absolute():
            continue  # console scripts and data outside site-packages: made again on install
        if "__pycache__" in parts or record.name.endswith(".pyc"):
            continue
        if _written_by_installer(parts):
            continue
        path = Path(str(dist.locate_file(record)))
        if not path.is_file():
            raise ShiplineError(
                f"shipline's installed file {path} is missing (its RECORD lists it); "
                "reinstall shipline"
            )
        found[record.as_posix()] = path
    return found


def _wheel_name(files: dict[str, Path]) -> tuple[str, str]:
    """The wheel's file name and its dist-info directory, from the installed metadata."""
    info = next((name for name in files if name.endswith(".dist-info/WHEEL")), None)
    if info is None:
        raise ShiplineError(
            "shipline's installed files have no .dist-info/WHEEL; reinstall shipline"
        )
    dist_info = info.rsplit("/", 1)[0]
    tags = [
        line.split(":", 1)[1].strip()
        for line in files[info].read_text(encoding="utf-8").splitlines()
        if line.startswith("Tag:")
    ] or ["py3-none-any"]
    parts = [sorted({tag.split("-")[i] for tag in tags}) for i in range(3)]
    tag = "-".join(".".join(values) for values in parts)
    return f"{dist_info.removesuffix('.dist-info')}-{tag}.whl", dist_info


def installed_wheel(dist: importlib.metadata.Distribution) -> Path:
    """A wheel of the installed distribution's own files, cached by their content."""
    files = _packed_files(dist)
    name, dist_info = _wheel_name(files)
    contents = {arcname: path.read_bytes() for arcname, path in sorted(files.items())}
    digest = hashlib.sha256()
    for arcname, data in contents.items():
        digest.update(arcname.encode() + b"\0" + data + b"\0")

    def build(staging: Path) -> None:
        record = io.StringIO()
        writer = csv.writer(record, lineterminator="\n")
        with zipfile.ZipFile(staging / name, "w", zipfile.ZIP_DEFLATED) as wheel:
            for arcname, data in contents.items():
                wheel.writestr(zipfile.ZipInfo(arcname, ZIP_DATE), data, zipfile.ZIP_DEFLATED)
                hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                writer.writerow([arcname, f"sha256={hashed.decode()}", len(data)])
            writer.writerow([f"{dist_info}/RECORD", "", ""])
            info = zipfile.ZipInfo(f"{dist_info}/RECORD", ZIP_DATE)
            wheel.writestr(info, record.getvalue(), zipfile.ZIP_DEFLATED)

    return _cached(f"installed-{digest.hexdigest()[:20]}", build)
