"""A small FastAPI service with an aggregated /health and a protected endpoint."""

from __future__ import annotations

import os
import sqlite3
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Response

VERSION = os.environ.get("APP_VERSION", "dev")

app = FastAPI(title="service")


def database_ok() -> bool:
    """The database answers a trivial query."""
    url = os.environ.get("DATABASE_URL", "sqlite:///:memory:")
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ":memory:"
    try:
        with sqlite3.connect(path) as db:
            row: tuple[int] | None = db.execute("select 1").fetchone()
            return row == (1,)
    except sqlite3.Error:
        return False


def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
    expected = os.environ["API_TOKEN"]
    if authorization != f"Bearer {expected}":
        raise HTTPException(status_code=401, detail="missing or wrong token")


@app.get("/health")
def health(response: Response) -> dict[str, Any]:
    components = {"app": True, "database": database_ok()}
    ok = all(components.values())
    response.status_code = 200 if ok else 503
    return {
        "status": "ok" if ok else "degraded",
        "version": VERSION,
        "components": components,
    }


@app.get("/items", dependencies=[Depends(require_token)])
def items() -> list[dict[str, Any]]:
    return [{"id": 1, "name": "first"}]
