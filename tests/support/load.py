"""Steady HTTP load through the proxy for the length of a deploy, counting every failure.

Each request opens its own connection, so a failure means the service did not
answer, not that a reused keep-alive connection raced the proxy closing it (a
case HTTP lets clients retry for idempotent requests). The deploy tests and the
demo's last stage (demo/pipeline.py) count with it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Load:
    url: str
    threads: int = 2
    max_seconds: float = 180.0
    max_requests: int = 200_000
    sent: int = 0
    failed: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            error = ""
            version = ""
            try:
                response = httpx.get(self.url, timeout=5, headers={"Connection": "close"})
                if response.status_code != 200:
                    error = f"HTTP {response.status_code}"
                else:
                    version = str(response.json().get("version"))
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.sent += 1
                if error:
                    self.failed += 1
                    if len(self.failures) < 10:
                        self.failures.append(error)
                else:
                    self.versions[version] = self.versions.get(version, 0) + 1
                if self.sent >= self.max_requests:
                    return

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._loop, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=10)
