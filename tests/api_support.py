"""Helpers shared by the API's tests (this module holds no tests).

Every test talks HTTP to the real app over a real database of its own (a SQLite file in its
folder, or a PostgreSQL schema where `ALLOCATOR_TEST_POSTGRES_URL` names a server): `create_app`
migrates it, a book is imported, and a key is issued for every role. Tiny books are
built with `test_store_support`'s records (coordinates given, so no postcode table is read);
bigger ones are the shipped example.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from test_store_support import EXAMPLE, POLICY_TOML, any_book

from allocator.model import CarePackage, Provider
from allocator.scenario import Scenario
from api.app import create_app
from api.settings import Settings
from store.api_keys import create_key
from store.book import import_folder, import_scenario
from store.database import write_transaction
from store.policies import parse_policy

STAFF = {"alice": "broker", "bob": "broker", "carol": "commissioner", "dan": "admin"}
"""Key label -> role of the council's own keys every service has."""

Filler = Callable[[Session], Any]


@dataclass
class Service:
    url: str
    app: FastAPI
    client: TestClient
    keys: dict[str, str]
    """Who -> key: the staff by name, providers by their id."""

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who]}

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **self.headers(who)}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, who: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(who, "GET", path, **kwargs)

    def post(self, who: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(who, "POST", path, **kwargs)

    @property
    def sessions(self) -> Any:
        return self.app.state.sessions


def tiny_book(
    providers: Iterable[Provider], packages: Iterable[CarePackage], policy_toml: str = POLICY_TOML
) -> Filler:
    scenario = Scenario(
        policy=parse_policy(policy_toml), providers=tuple(providers), packages=tuple(packages)
    )
    return lambda session: import_scenario(session, scenario, policy_toml)


def example_book(session: Session) -> None:
    """The shipped small council: 300 packages (83 waiting), 13 providers."""
    import_folder(session, EXAMPLE)


@contextmanager
def running_service(
    folder: Path,
    fill: Filler,
    provider_keys: Iterable[str] = (),
    kind: str = "sqlite",
    **settings: Any,
) -> Iterator[Service]:
    """The app over a new database (`kind` "sqlite": a file in `folder`; "postgres": a schema of
    its own, skipping without a server) holding the book `fill` imports, with a key for every
    staff member and for each provider named; its lifespan runs (and ends) with it."""
    with any_book(kind, folder) as book:
        app = create_app(Settings(database_url=book.url, key_cache_s=0, **settings))
        with write_transaction(app.state.sessions) as session:
            fill(session)
            keys = {who: create_key(session, role, who) for who, role in STAFF.items()}
            keys |= {pid: create_key(session, "provider", pid, pid) for pid in provider_keys}
        with TestClient(app) as client:
            yield Service(book.url, app, client, keys)


def wait_for(check: Callable[[], Any], timeout_s: float = 60, every_s: float = 0.1) -> Any:
    """Poll until `check()` returns something truthy; return it (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(every_s)
    raise AssertionError(f"nothing after {timeout_s} s")
