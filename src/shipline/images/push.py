"""Pushing the image's tags to its registry.

Credentials go to the engine through the SDK (the X-Registry-Auth header), never
on a command line, and the token is never printed. Transient registry errors are
retried with backoff; a tag that still fails stops the push, and the report says
which tags made it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenacity import (
    RetryError,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from shipline.config import Config
from shipline.errors import ShiplineError, UsageError
from shipline.images.meta import ImageMeta
from shipline.progress import Echo

TRANSIENT = re.compile(
    r"\b5\d\d\b|timeout|timed out|connection reset|connection refused|broken pipe|\bEOF\b"
    r"|TLS handshake|temporarily unavailable|too many requests|\b429\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Credentials:
    registry: str
    username: str
    token: str = field(repr=False)

    def scrub(self, text: str) -> str:
        """Text safe to print: the token, should anything echo it, replaced."""
        return text.replace(self.token, "***") if self.token else text


class TransientPushError(ShiplineError):
    """A registry error worth retrying: 5xx, 429, timeouts, dropped connections."""


@dataclass(frozen=True)
class PushReport:
    digest: str
    pushed: tuple[str, ...]


def require_tags(meta: ImageMeta) -> None:
    if not meta.tags:
        raise UsageError(
            "no tag rule matches this git context, so there is nothing to push; check "
            "tool.shipline.image.tags or pass --ref (see `invoke tags`)"
        )


def credentials(cfg: Config, meta: ImageMeta, environ: Mapping[str, str]) -> Credentials:
    username = cfg.image.username or environ.get("GITHUB_ACTOR", "")
    if not username:
        raise UsageError("no registry user: set GITHUB_ACTOR or tool.shipline.image.username")
    token = environ.get(cfg.image.token_env, "")
    if not token:
        raise UsageError(
            f"no registry token: set {cfg.image.token_env} (the variable named by "
            "tool.shipline.image.token-env)"
        )
    return Credentials(meta.registry, username, token)


def login(client: Any, creds: Credentials) -> None:
    from docker.errors import APIError

    try:
        client.login(
            username=creds.username, password=creds.token, registry=creds.registry, reauth=True
        )
    except APIError as exc:
        reason = creds.scrub(str(exc.explanation or exc))
        raise ShiplineError(
            f"registry {creds.registry} refused the login for {creds.username!r}: {reason}; "
            "check the user and the token"
        ) from None


def _push_tag(client: Any, *, name: str, tag: str, creds: Credentials, echo: Echo) -> str:
    auth = {"username": creds.username, "password": creds.token}
    digest = ""
    seen: dict[str, str] = {}
    try:
        stream = client.api.push(name, tag=tag, stream=True, decode=True, auth_config=auth)
        for chunk in stream:
            if "error" in chunk:
                message = creds.scrub(
                    str(chunk.get("errorDetail", {}).get("message") or chunk["error"])
                )
                kind = TransientPushError if TRANSIENT.search(message) else ShiplineError
                raise kind(message)
            layer, status = chunk.get("id"), chunk.get("status")
            done = status in ("Pushed", "Layer already exists") or str(status).startswith(
                "Mounted from"
            )
            if layer and done and seen.get(layer) != status:
                seen[layer] = status
                echo(f"  {layer}: {status}")
            aux = chunk.get("aux")
            if isinstance(aux, dict) and aux.get("Digest"):
                digest = str(aux["Digest"])
    except OSError as exc:  # requests' connection errors included
        raise TransientPushError(creds.scrub(str(exc))) from None
    if not digest:
        raise ShiplineError("the engine reported no digest for the push")
    return digest


def push(
    client: Any,
    meta: ImageMeta,
    *,
    creds: Credentials,
    echo: Echo,
    attempts: int = 4,
    wait_seconds: float = 1.0,
) -> PushReport:
    """Push every tag; retry transient failures; stop, naming what made it, on a hard one."""
    require_tags(meta)
    login(client, creds)

    @retry(
        retry=retry_if_exception_type(TransientPushError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=wait_seconds, max=wait_seconds * 8),
        before_sleep=lambda state: echo(
            f"  transient registry error, retrying ({state.attempt_number}/{attempts - 1}): "
            f"{state.outcome.exception() if state.outcome else ''}"
        ),
    )
    def one(tag: str) -> str:
        return _push_tag(client, name=meta.name, tag=tag, creds=creds, echo=echo)

    pushed: list[str] = []
    digest = ""
    for tag in meta.tags:
        echo(f"pushing {meta.name}:{tag}")
        try:
            digest = one(tag)
        except (RetryError, ShiplineError) as exc:
            cause = exc.last_attempt.exception() if isinstance(exc, RetryError) else exc
            made = ", ".join(pushed) if pushed else "none"
            left = [t for t in meta.tags if t not in pushed]
            raise ShiplineError(
                f"push of {meta.name}:{tag} failed: {cause}; pushed: {made}; "
                f"not pushed: {', '.join(left)}"
            ) from None
        pushed.append(tag)
        echo(f"pushed {meta.name}:{tag} {digest}")
    return PushReport(digest, tuple(pushed))
