"""The load generator counts what it sends, what fails and which version answered."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.load import Load
from support.sandbox import free_port


class Handler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        body = json.dumps({"version": "v7"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    Handler.status = 200


def url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/health"


def test_a_healthy_service_counts_every_request_by_version(server: ThreadingHTTPServer) -> None:
    with Load(url(server), threads=2) as load:
        time.sleep(0.3)
    assert load.sent > 0
    assert load.failed == 0
    assert load.versions == {"v7": load.sent}


def test_errors_are_counted_and_the_first_ten_kept(server: ThreadingHTTPServer) -> None:
    Handler.status = 502
    with Load(url(server), threads=1, max_requests=25) as load:
        deadline = time.monotonic() + 10
        while load.sent < 25 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert (load.sent, load.failed) == (25, 25)
    assert load.failures == ["HTTP 502"] * 10
    assert load.versions == {}


def test_a_refused_connection_is_a_failure() -> None:
    with Load(f"http://127.0.0.1:{free_port()}/health", threads=1, max_requests=3) as load:
        deadline = time.monotonic() + 10
        while load.sent < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert load.failed == load.sent == 3
    assert load.failures[0].startswith("ConnectError")
