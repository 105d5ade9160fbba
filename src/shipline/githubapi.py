"""A small GitHub REST client for polling: pages, ETags, rate limits and retries.

The gate asks the same questions every few seconds for up to half an hour, so
every page is sent with the ETag of its last answer (`If-None-Match`): a 304
costs no rate limit and reuses the cached body. A rate limit (403 or 429 with
`Retry-After`, or `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset`) is waited
out while the caller's deadline allows; 5xx and dropped connections are retried
with backoff (tenacity). Every error is one line with the token scrubbed out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import tenacity

from shipline.errors import ShiplineError

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
SECONDARY_LIMIT_WAIT = 60.0
"""GitHub's advice for a secondary rate limit without Retry-After: wait a minute."""
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class ApiError(ShiplineError):
    """GitHub refused or failed: the message says what to fix."""


class _Retryable(Exception):
    """A 5xx or a dropped connection: worth asking again."""


@dataclass(frozen=True)
class Page:
    body: Any
    next: str | None


@dataclass
class Client:
    """GitHub's REST API at `base` (GITHUB_API_URL), authenticated with `token`."""

    base: str
    token: str
    deadline: float
    """The `clock()` after which no wait (rate limit, backoff) may end."""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    cache: dict[str, tuple[str, Page]] = field(default_factory=dict)
    """URL -> (ETag, page) of its last 200 answer."""
    _http: httpx.Client | None = None

    def __enter__(self) -> Client:
        self._http = httpx.Client(
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "shipline-gate",
            },
            timeout=30.0,
            follow_redirects=True,
        )
        return self

    def __exit__(self, *_: object) -> None:
        if self._http is not None:
            self._http.close()

    def scrub(self, text: str) -> str:
        """The text with the token replaced: error text may echo a request."""
        return text.replace(self.token, "***") if self.token else text

    def items(self, path: str, key: str | None) -> list[Mapping[str, Any]]:
        """Every item of a paged list (`key` names the list in the body; None: the body is
        the list), following `Link: rel="next"` from page to page."""
        url: str | None = f"{self.base.rstrip('/')}{path}"
        found: list[Mapping[str, Any]] = []
        while url:
            page = self.get(url)
            listed = page.body.get(key, []) if key and isinstance(page.body, dict) else page.body
            if not isinstance(listed, list):
                raise ApiError(f"GitHub answered {self._path(url)} with no {key or 'list'}")
            found += [item for item in listed if isinstance(item, dict)]
            url = page.next
        return found

    def get(self, url: str) -> Page:
        """One page, retried on 5xx and connection errors with backoff until the deadline."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            wait=tenacity.wait_exponential(multiplier=0.5, max=10),
            stop=tenacity.stop_after_attempt(6) | tenacity.stop_after_delay(self._left()),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(url)
        except _Retryable as exc:
            raise ApiError(self.scrub(f"GitHub kept failing on {self._path(url)}: {exc}")) from None
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    def _left(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def _path(self, url: str) -> str:
        return url.removeprefix(self.base.rstrip("/"))

    def _once(self, url: str) -> Page:
        if self._http is None:
            raise RuntimeError("use githubapi.Client as a context manager")
        while True:
            cached = self.cache.get(url)
            headers = {"If-None-Match": cached[0]} if cached else {}
            try:
                response = self._http.get(url, headers=headers)
            except httpx.TransportError as exc:
                raise _Retryable(f"{type(exc).__name__}: {exc}") from None
            if response.status_code == 304 and cached:
                return cached[1]
            wait = rate_limit_wait(
                response.status_code, response.headers, time.time(), text=response.text
            )
            if wait is None:
                return self._page(url, response)
            if wait > self._left():
                raise ApiError(
                    f"GitHub API rate limit: {self._path(url)} answered "
                    f"{response.status_code} and asks to wait {wait:.0f}s, past the gate's "
                    "timeout; rerun later or raise [tool.shipline.gate] timeout"
                )
            self.sleep(wait)

    def _page(self, url: str, response: httpx.Response) -> Page:
        status = response.status_code
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status != 200:
            raise ApiError(self.scrub(refusal(status, self._path(url), response.text)))
        try:
            body = response.json()
        except ValueError:
            raise ApiError(f"GitHub answered {self._path(url)} with no JSON") from None
        match = _NEXT.search(response.headers.get("link", ""))
        page = Page(body, match.group(1) if match else None)
        etag = response.headers.get("etag")
        if etag:
            self.cache[url] = (etag, page)
        return page


def rate_limit_wait(
    status: int, headers: Mapping[str, str], now: float, *, text: str = ""
) -> float | None:
    """Seconds a rate-limited answer asks to wait; None when it is not a rate limit.

    As GitHub's docs order it: `Retry-After`, else `X-RateLimit-Reset` when none
    remain, else (a secondary limit saying so in its message, or a 429) a minute."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after", "")
    if retry_after.strip().isdigit():
        return float(retry_after)
    if headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        if reset.strip().isdigit():
            return max(0.0, float(reset) - now) + 1.0  # the reset second itself, whole
        return SECONDARY_LIMIT_WAIT
    if status == 429 or "rate limit" in text.lower():
        return SECONDARY_LIMIT_WAIT
    return None


def refusal(status: int, path: str, text: str) -> str:
    """One line for a 4xx GitHub will not change its mind about."""
    if status == 401:
        return (
            f"GitHub rejected the token (401) on {path}; set GITHUB_TOKEN to a valid token "
            "(in a workflow: env GITHUB_TOKEN: ${{ github.token }})"
        )
    if status == 403:
        return (
            f"GitHub refused {path} (403): the token lacks checks: read or statuses: read; "
            "give the gate job `permissions: {checks: read, statuses: read, contents: read}`"
        )
    if status in (404, 422):
        return (
            f"GitHub found no {path} ({status}): check the repository (GITHUB_REPOSITORY or "
            "--repo, as owner/name) and the commit (GITHUB_SHA or --sha), and that the token "
            "can read the repository"
        )
    message = text.strip().splitlines()[0][:200] if text.strip() else ""
    return f"GitHub answered {path} with HTTP {status}" + (f": {message}" if message else "")
