"""The git context tags are computed for: GitHub's variables in Actions, git locally."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from shipline.errors import UsageError
from shipline.images.tags import GitContext, context_from_env


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def repository_from_remote(url: str) -> str:
    """owner/name from a GitHub remote URL (https or ssh), or "" when it is not one."""
    match = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?/?$", url)
    return match.group(1) if match else ""


def git_context(
    root: Path,
    environ: Mapping[str, str],
    *,
    default_branch: str,
    now: datetime,
    ref: str | None = None,
    sha: str | None = None,
    event: str | None = None,
) -> GitContext:
    """GitHub's variables when set (as in Actions), else the checkout; flags win over both."""
    if environ.get("GITHUB_REF") and environ.get("GITHUB_SHA"):
        ctx = context_from_env(environ, default_branch, now)
    else:
        head = _git(root, "rev-parse", "HEAD")
        if head is None and not (ref and sha):
            raise UsageError(
                f"{root} is not a git checkout with a commit and GITHUB_REF/GITHUB_SHA are not "
                "set; pass --ref refs/heads/NAME --sha SHA"
            )
        branch = _git(root, "symbolic-ref", "-q", "--short", "HEAD")
        tag = None if branch else _git(root, "describe", "--exact-match", "--tags", "HEAD")
        remote = _git(root, "remote", "get-url", "origin") or ""
        # The checkout, described the way GitHub would describe a push of it.
        local = {
            "GITHUB_REF": f"refs/heads/{branch}" if branch else f"refs/tags/{tag}" if tag else "",
            "GITHUB_SHA": head or "",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REPOSITORY": environ.get("GITHUB_REPOSITORY") or repository_from_remote(remote),
            "SOURCE_DATE_EPOCH": environ.get("SOURCE_DATE_EPOCH", ""),
        }
        ctx = context_from_env(local, default_branch, now)
    if ref is not None:
        if not ref.startswith("refs/"):
            raise UsageError(f"--ref {ref!r}: expected a full ref such as refs/heads/main")
        ctx = replace(ctx, ref=ref)
    if sha is not None:
        if not re.fullmatch(r"[0-9a-f]{7,40}", sha):
            raise UsageError(f"--sha {sha!r}: expected a hexadecimal commit SHA")
        ctx = replace(ctx, sha=sha)
    if event is not None:
        ctx = replace(ctx, event_name=event)
    return ctx
