import socket
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from service.db import DEFAULT_URL, TIMEOUT, Database, Target, UnsupportedDatabase, parse_url


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("sqlite:///./service.db", Target("sqlite", "./service.db")),
        ("sqlite:///relative/dir/app.db", Target("sqlite", "relative/dir/app.db")),
        ("sqlite:////var/lib/app.db", Target("sqlite", "/var/lib/app.db")),
        ("sqlite:///app.db?mode=rwc", Target("sqlite", "app.db")),
        ("sqlite:///:memory:", Target("sqlite", ":memory:")),
        ("sqlite://", Target("sqlite", ":memory:")),
        (
            "postgresql://app:pw@db:5432/app",
            Target("postgresql", "postgresql://app:pw@db:5432/app"),
        ),
        (
            "postgresql+psycopg://app@127.0.0.1/app?sslmode=disable",
            Target("postgresql", "postgresql://app@127.0.0.1/app?sslmode=disable"),
        ),
    ],
)
def test_parse_url(url: str, target: Target) -> None:
    assert parse_url(url) == target


def test_the_default_is_a_sqlite_file() -> None:
    assert parse_url(DEFAULT_URL) == Target("sqlite", "data/service.db")


def test_a_sqlite_file_gets_its_directory(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'data' / 'service.db'}")
    assert database.ping()
    assert (tmp_path / "data" / "service.db").is_file()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://app:s3cret@db/app",
        "postgres+asyncpg://app:s3cret@db/app",
        "sqlite:///",
        "sqlite:///?mode=memory",
        "sqlite:app.db",
        "",
        "s3cret",
        "app:s3cret@db/app",
    ],
)
def test_unsupported_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(UnsupportedDatabase, match="unsupported DATABASE_URL") as caught:
        parse_url(url)
    assert "s3cret" not in str(caught.value)


def test_unsupported_database_never_raises_and_is_unhealthy() -> None:
    database = Database("mysql://db/app")
    assert database.target is None
    assert database.ping() is False


def test_in_memory_database_keeps_its_rows_across_calls() -> None:
    database = Database("sqlite:///:memory:")
    try:
        assert database.ping()
        assert database.add_item("first") == (1, "first")
        assert database.add_item("second") == (2, "second")
        assert database.list_items() == [(1, "first"), (2, "second")]
    finally:
        database.close()
    assert database.ping() is False  # closed


def test_names_are_parameters_not_sql() -> None:
    database = Database("sqlite:///:memory:")
    name = "x'); DROP TABLE items; --"
    assert database.add_item(name) == (1, name)
    assert database.list_items() == [(1, name)]
    database.close()


def test_a_postgres_that_never_answers_fails_within_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        # Even a longer connect_timeout in the URL does not lift the limit.
        database = Database(f"postgresql://app@127.0.0.1:{port}/app?connect_timeout=60")
        started = time.monotonic()
        assert database.ping() is False
        elapsed = time.monotonic() - started
    assert TIMEOUT - 0.5 < elapsed < TIMEOUT + 3


def test_a_locked_sqlite_file_fails_within_the_timeout_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    database = Database(f"sqlite:///{path}")
    assert database.ping()
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        assert database.ping() is False
        elapsed = time.monotonic() - started
        holder.execute("ROLLBACK")
    assert TIMEOUT - 0.5 < elapsed < TIMEOUT + 3
    assert database.ping()
