"""The smoke checks against a real HTTP server in this process."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shipline.config import SmokeConfig
from shipline.smoke import run_checks, table

CFG = SmokeConfig("/health", ("/items",), True, 2.0, 1)


class Service:
    def __init__(self) -> None:
        self.health: tuple[int, Any] = (
            200,
            {"status": "ok", "version": "v2", "components": {"db": True, "cache": True}},
        )
        self.items = 401


@pytest.fixture
def service() -> Iterator[tuple[str, Service]]:
    state = Service()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, body = state.health if self.path == "/health" else (state.items, {})
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()


def test_a_healthy_service_passes_every_check(service: tuple[str, Service]) -> None:
    url, _ = service
    results = run_checks(url, CFG, "v2", pause=0)
    assert [(r.name, r.ok) for r in results] == [
        ("GET /health", True),
        ("GET /items without a token", True),
        ("version", True),
    ]
    assert results[0].detail == "status ok; components db, cache true"
    assert table(url, results).row_count == 3


@pytest.mark.parametrize(
    ("health", "items", "failed", "detail"),
    [
        ((503, {"status": "degraded"}), 401, "GET /health", "HTTP 503"),
        ((200, "<html>"), 401, "GET /health", "not JSON"),
        (
            (200, {"status": "ok", "version": "v2", "components": {"db": False}}),
            401,
            "GET /health",
            "components down: db",
        ),
        (
            (200, {"status": "ok", "version": "v2", "components": {}}),
            200,
            "GET /items without a token",
            "HTTP 200, expected 401",
        ),
        (
            (200, {"status": "ok", "version": "v1", "components": {}}),
            401,
            "version",
            "reports 'v1', deployed 'v2'",
        ),
    ],
)
def test_each_failure_is_named(
    service: tuple[str, Service], health: tuple[int, Any], items: int, failed: str, detail: str
) -> None:
    url, state = service
    state.health, state.items = health, items
    results = {r.name: r for r in run_checks(url, CFG, "v2", pause=0)}
    assert not results[failed].ok
    assert results[failed].detail == detail


def test_an_unreachable_service_fails_after_its_retries() -> None:
    results = run_checks("http://127.0.0.1:9", CFG, None, pause=0)
    assert [r.name for r in results] == ["GET /health", "GET /items without a token"]
    assert all(not r.ok and "ConnectError" in r.detail for r in results)
