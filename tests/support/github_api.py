"""A local stand-in for GitHub's REST API: the commit's check runs, status and check suites.

The bodies follow the example responses of GitHub's REST API docs ("List check runs
for a Git reference", "Get the combined status for a specific reference", "List
check suites for a Git reference"): the same fields, trimmed of nested objects the
gate does not read (`repository`, `output.annotations`, the app's owner). It serves
on 127.0.0.1 only, from a thread, with what the gate must cope with: pages linked
by `Link: <...>; rel="next"`, ETags answered with 304 to `If-None-Match`, rate
limits (403 with `X-RateLimit-Remaining: 0` and a reset, 429 with `Retry-After`),
5xx, and a token it checks.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
"""The commit of GitHub's own examples."""
REPO = "octocat/Hello-World"
TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
"""A token-shaped string: the tests assert it never reaches the gate's output."""
APP = {
    "id": 15368,
    "slug": "github-actions",
    "node_id": "MDM6QXBwMTUzNjg=",
    "name": "GitHub Actions",
}


def check_run(
    run_id: int, name: str, status: str, conclusion: str | None = None, *, suite: int = 5
) -> dict[str, Any]:
    """A check run as "List check runs for a Git reference" shows one."""
    done = status == "completed"
    return {
        "id": run_id,
        "head_sha": SHA,
        "node_id": "MDg6Q2hlY2tSdW40",
        "external_id": "",
        "url": f"https://api.github.com/repos/{REPO}/check-runs/{run_id}",
        "html_url": f"https://github.com/{REPO}/runs/{run_id}",
        "details_url": f"https://github.com/{REPO}/actions/runs/{suite}00/job/{run_id}",
        "status": status,
        "conclusion": conclusion if done else None,
        "started_at": "2018-05-04T01:14:52Z",
        "completed_at": "2018-05-04T01:14:52Z" if done else None,
        "output": {
            "title": "Mighty Readme report",
            "summary": "There are 0 failures, 2 warnings, and 1 notice.",
            "text": "",
            "annotations_count": 2,
            "annotations_url": f"https://api.github.com/repos/{REPO}/check-runs/{run_id}/annotations",
        },
        "name": name,
        "check_suite": {"id": suite},
        "app": APP,
        "pull_requests": [],
    }


def status(context: str, state: str) -> dict[str, Any]:
    """A status as "Get the combined status for a specific reference" lists one."""
    return {
        "url": f"https://api.github.com/repos/{REPO}/statuses/{SHA}",
        "avatar_url": "https://github.com/images/error/hubot_happy.gif",
        "id": 1,
        "node_id": "MDY6U3RhdHVzMQ==",
        "state": state,
        "description": "Build has completed successfully",
        "target_url": "https://ci.example.com/1000/output",
        "context": context,
        "created_at": "2012-07-20T01:19:13Z",
        "updated_at": "2012-07-20T01:19:13Z",
    }


def suite(suite_id: int, status_: str, runs: int) -> dict[str, Any]:
    """A check suite as "List check suites for a Git reference" shows one."""
    return {
        "id": suite_id,
        "node_id": "MDEwOkNoZWNrU3VpdGU1",
        "head_branch": "master",
        "head_sha": SHA,
        "status": status_,
        "conclusion": None if status_ != "completed" else "success",
        "url": f"https://api.github.com/repos/{REPO}/check-suites/{suite_id}",
        "before": "146e867f55c26428e5f9fade55a9bbf5e95a7912",
        "after": SHA,
        "pull_requests": [],
        "app": APP,
        "created_at": "2011-04-10T20:09:31Z",
        "updated_at": "2014-03-03T18:58:10Z",
        "latest_check_runs_count": runs,
        "check_runs_url": f"https://api.github.com/repos/{REPO}/check-suites/{suite_id}/check-runs",
    }


@dataclass(frozen=True)
class State:
    """What GitHub reports for the commit at one moment."""

    check_runs: tuple[dict[str, Any], ...] = ()
    statuses: tuple[dict[str, Any], ...] = ()
    suites: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Fault:
    """One scripted answer, given instead of the normal one to the next matching request."""

    path: str
    """A substring of the request path, e.g. "check-runs"."""
    code: int
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    path: str
    headers: Mapping[str, str]
    code: int


class FakeGitHub:
    """The API, answering from `scenario(poll)`: poll counts first-page check-run requests,
    so a check can finish on the third poll."""

    def __init__(
        self,
        scenario: Callable[[int], State],
        *,
        page_size: int = 2,
        faults: tuple[Fault, ...] = (),
    ) -> None:
        self.scenario = scenario
        self.page_size = page_size
        self.faults = list(faults)
        self.seen: list[Seen] = []
        self.polls = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code, headers, body = api.answer(self.path, dict(self.headers.items()))
                self.send_response(code)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        return Handler

    def answer(self, raw: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw)
        query = parse_qs(parts.query)
        lowered = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            code, out, body = self._answer(parts.path, query, lowered)
            self.seen.append(Seen(raw, lowered, code))
        return code, out, body

    def _answer(
        self, path: str, query: dict[str, list[str]], headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {}, b'{"message": "Bad credentials", "status": "401"}'
        page = int(query.get("page", ["1"])[0])
        if path.endswith("/check-runs") and page == 1:
            self.polls += 1
        for fault in self.faults:
            if fault.path in path:
                self.faults.remove(fault)
                return fault.code, dict(fault.headers), b'{"message": "scripted"}'
        prefix = f"/repos/{REPO}/commits/{SHA}"
        if not path.startswith(prefix):
            return 404, {}, b'{"message": "Not Found", "status": "404"}'
        state = self.scenario(self.polls)
        body, link = self._body(path.removeprefix(prefix), state, page)
        text = json.dumps(body).encode()
        etag = '"' + hashlib.sha1(text).hexdigest() + '"'  # noqa: S324 - an ETag, not security
        out = {"ETag": etag, "Content-Type": "application/json; charset=utf-8"}
        out.update({"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999"})
        if link:
            out["Link"] = link
        if headers.get("if-none-match") == etag:
            return 304, out, b""
        return 200, out, text

    def _body(self, tail: str, state: State, page: int) -> tuple[dict[str, Any], str]:
        if tail == "/check-runs":
            runs, link = self._page(tail, state.check_runs, page)
            return {"total_count": len(state.check_runs), "check_runs": runs}, link
        if tail == "/check-suites":
            return {"total_count": len(state.suites), "check_suites": list(state.suites)}, ""
        if tail == "/status":
            states = {s["state"] for s in state.statuses}
            combined = next((s for s in ("failure", "pending") if s in states), "success")
            return {
                "state": combined,
                "statuses": list(state.statuses),
                "sha": SHA,
                "total_count": len(state.statuses),
                "commit_url": f"https://api.github.com/repos/{REPO}/{SHA}",
                "url": f"https://api.github.com/repos/{REPO}/{SHA}/status",
            }, ""
        return {"message": "Not Found"}, ""

    def _page(
        self, tail: str, items: tuple[dict[str, Any], ...], page: int
    ) -> tuple[list[dict[str, Any]], str]:
        start = (page - 1) * self.page_size
        chunk = list(items[start : start + self.page_size])
        last = max(1, -(-len(items) // self.page_size))
        base = f"{self.url}/repos/{REPO}/commits/{SHA}{tail}?per_page=100"
        links = []
        if page < last:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
            links.append(f'<{base}&page={last}>; rel="last"')
        return chunk, ", ".join(links)

    def requests_to(self, part: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if part in s.path]

    def __enter__(self) -> FakeGitHub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def reset_in(seconds: float) -> str:
    """An `X-RateLimit-Reset` value: the epoch second the limit resets at."""
    return str(int(time.time() + seconds))


def serving(scenario: Callable[[int], State], **kwargs: Any) -> Iterator[FakeGitHub]:
    with FakeGitHub(scenario, **kwargs) as api:
        yield api
