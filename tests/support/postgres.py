"""A throwaway PostgreSQL cluster on a loopback port, started and stopped by the tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from support.sandbox import free_port


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    raise RuntimeError(
        "PostgreSQL server binaries not found; run scripts/provision (installs Debian's postgresql)"
    )


@contextlib.contextmanager
def cluster(database: str = "app_test") -> Iterator[str]:
    """Yield a DATABASE_URL for a fresh cluster; PostgreSQL refuses to run as root."""
    bindir = _bindir()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="shipline-pg-"))
    data = base / "data"
    if as_postgres:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()

    def pg(*argv: str) -> None:
        subprocess.run([*as_postgres, *argv], check=True, capture_output=True, text=True)

    try:
        pg(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        pg(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off",
            "start",
        )
        try:
            pg(
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                database,
            )
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
        finally:
            pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"PostgreSQL failed: {exc.cmd[-1]}: {exc.stderr.strip()}") from None
    finally:
        shutil.rmtree(base, ignore_errors=True)
