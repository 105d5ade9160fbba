"""A small FastAPI service: an aggregated /health and a protected items store."""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from service.db import DEFAULT_URL, Database, DatabaseUnavailable


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    database = Database(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    database.ping()  # creates the table; a failure is logged and /health says degraded
    app.state.database = database
    yield
    database.close()


app = FastAPI(title="service", lifespan=lifespan)


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    components: dict[str, bool]


class NewItem(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class Item(BaseModel):
    id: int
    name: str


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
    """`Authorization: Bearer $API_TOKEN`; with no API_TOKEN set, nothing gets in."""
    expected = os.environ.get("API_TOKEN", "").encode()
    scheme, _, given = (authorization or "").partition(" ")
    if not (
        expected and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected)
    ):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong token",
            headers={"WWW-Authenticate": "Bearer"},
        )


DatabaseDep = Annotated[Database, Depends(get_database)]
Protected = [Depends(require_token)]


@app.exception_handler(DatabaseUnavailable)
async def database_unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
    return JSONResponse({"detail": "database unavailable"}, status_code=503)


@app.get("/health")
def health(response: Response, database: DatabaseDep) -> Health:
    components = {"app": True, "database": database.ping()}
    ok = all(components.values())
    response.status_code = 200 if ok else 503
    return Health(
        status="ok" if ok else "degraded",
        version=os.environ.get("APP_VERSION", "dev"),
        components=components,
    )


@app.get("/items", dependencies=Protected)
def list_items(database: DatabaseDep) -> list[Item]:
    return [Item(id=id_, name=name) for id_, name in database.list_items()]


@app.post("/items", status_code=201, dependencies=Protected)
def add_item(item: NewItem, database: DatabaseDep) -> Item:
    id_, name = database.add_item(item.name)
    return Item(id=id_, name=name)
