"""The gate's thin loop: ask GitHub what the commit's checks say, decide, wait, again.

Everything the gate concludes is `shipline.checkgate.decide`'s; this module only
finds the commit and the repository (flags, else the Actions variables), polls
through `shipline.githubapi` with a backoff that resets whenever something
changed, and stops at the verdict or the timeout.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from shipline import checkgate, githubapi, inputs
from shipline.config import QualityGateConfig
from shipline.errors import UsageError

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_TOKEN = re.compile(r"[\x21-\x7e]+")
_SECONDS = re.compile(r"[0-9]{1,9}(?:\.[0-9]*)?|\.[0-9]+")
BACKOFF = 1.5
MOST_INTERVALS = 4.0
"""The poll interval grows while nothing changes, up to this many times the first."""


@dataclass(frozen=True)
class Target:
    api: str
    token: str
    repo: str
    sha: str


def target(environ: Mapping[str, str], *, sha: str | None, repo: str | None) -> Target:
    """The commit to gate, from the flags or the Actions variables; a usage error says
    which one is missing and how to give it."""
    token = environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "GITHUB_TOKEN is not set; give the step env GITHUB_TOKEN: ${{ github.token }} "
            "and the job permissions checks: read, statuses: read"
        )
    if not _TOKEN.fullmatch(token):  # an HTTP library's error would quote the header
        raise UsageError(
            "GITHUB_TOKEN is not a token (it holds spaces, control or non-ASCII characters); "
            "set it to the token alone"
        )
    repo = repo or environ.get("GITHUB_REPOSITORY", "")
    if not _REPO.fullmatch(repo):
        raise UsageError(
            f"no repository to gate ({repo!r}); pass --repo OWNER/NAME or set GITHUB_REPOSITORY"
            if repo
            else "no repository to gate; pass --repo OWNER/NAME or set GITHUB_REPOSITORY"
        )
    sha = sha or environ.get("GITHUB_SHA", "")
    if not _REF.fullmatch(sha) or ".." in sha:
        raise UsageError(
            f"no commit to gate ({sha!r}); pass --sha COMMIT or set GITHUB_SHA"
            if sha
            else "no commit to gate; pass --sha COMMIT or set GITHUB_SHA"
        )
    api = environ.get("GITHUB_API_URL", "").strip() or githubapi.DEFAULT_API
    if not re.fullmatch(r"https?://[^\s]+", api):
        raise UsageError(f"GITHUB_API_URL {api!r}: expected an http(s) URL")
    return Target(api=api, token=token, repo=repo, sha=sha)


def rules(
    cfg: QualityGateConfig, environ: Mapping[str, str], *, timeout: str | None
) -> checkgate.Rules:
    """The configured rules, the gate's own job and workflow run left out."""
    own_job = environ.get("GITHUB_JOB", "").strip()
    seconds = cfg.timeout if timeout is None else _seconds(timeout, "--timeout")
    return checkgate.Rules(
        exclude=(*cfg.exclude, *((own_job,) if own_job else ())),
        require=cfg.require,
        own_run=environ.get("GITHUB_RUN_ID", "").strip() or None,
        timeout=seconds,
        settle=min(cfg.settle, seconds),
    )


def interval(cfg: QualityGateConfig, text: str | None) -> float:
    if text is None:
        return cfg.interval
    return _seconds(text, "--interval")


def _seconds(text: str, flag: str) -> float:
    """A flag's seconds: a plain decimal more than 0, at most a day."""
    if _SECONDS.fullmatch(text) and 0 < float(text) <= inputs.MAX_SECONDS:
        return float(text)
    raise UsageError(
        f"{flag} {text!r}: expected a number of seconds more than 0 and at most "
        f"{inputs.MAX_SECONDS:.0f}, such as 600"
    )


def observe(client: githubapi.Client, commit: Target) -> checkgate.Observed:
    """One poll: the commit's check runs, statuses and check suites, every page."""
    base = f"/repos/{commit.repo}/commits/{quote(commit.sha, safe='')}"
    runs = client.items(f"{base}/check-runs?per_page=100", "check_runs")
    statuses = client.items(f"{base}/status?per_page=100", "statuses")
    suites = client.items(f"{base}/check-suites?per_page=100", "check_suites")
    return checkgate.Observed(
        checks=(*checkgate.check_runs(runs), *checkgate.statuses(statuses)),
        suites=tuple(checkgate.suites(suites)),
    )


@dataclass(frozen=True)
class Poll:
    """How the loop waits: the first interval, and the clock (tests pass fakes)."""

    interval: float
    say: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def wait(commit: Target, gate_rules: checkgate.Rules, poll: Poll) -> checkgate.Verdict:
    """Poll until the verdict is pass or fail; the timeout bounds rate-limit waits too."""
    start = poll.clock()
    deadline = start + gate_rules.timeout
    pause = poll.interval
    last: tuple[str, ...] | None = None
    client = githubapi.Client(
        commit.api, commit.token, deadline=deadline, sleep=poll.sleep, clock=poll.clock
    )
    with client:
        while True:
            verdict = checkgate.decide(observe(client, commit), gate_rules, poll.clock() - start)
            if verdict.state != "wait":
                return verdict
            if verdict.pending != last:
                poll.say(_waiting(verdict, gate_rules))
                pause, last = poll.interval, verdict.pending
            else:
                pause = min(pause * BACKOFF, poll.interval * MOST_INTERVALS)
            poll.sleep(max(0.0, min(pause, deadline - poll.clock())))


def _waiting(verdict: checkgate.Verdict, gate_rules: checkgate.Rules) -> str:
    if verdict.reason == "settling":
        return (
            "shipline: gate: no quality checks reported yet; waiting up to "
            f"{gate_rules.settle:g}s for them to register"
        )
    done = sum(1 for c in verdict.checks if c.outcome == "pass")
    return (
        f"shipline: gate: {done} of {len(verdict.checks)} quality checks passed; "
        f"waiting for {', '.join(verdict.pending)}"
    )
