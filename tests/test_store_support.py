"""Helpers shared by the store's tests (this module holds no tests).

Every test works on a real database: a SQLite file in the test's `tmp_path`, or, where
`ALLOCATOR_TEST_POSTGRES_URL` names a PostgreSQL database, a schema of its own there that is
dropped afterwards. Tiny books are made of records given coordinates and zones, so no postcode
table is read.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from allocator.model import CarePackage, Provider
from allocator.scenario import Scenario
from store.book import import_scenario
from store.database import make_engine, make_session_factory, write_transaction
from store.migrate import upgrade
from store.policies import parse_policy

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "small_council"
POSTGRES_ENV = "ALLOCATOR_TEST_POSTGRES_URL"

POLICY_TOML = """\
name = "Store test framework"
version = "1"

[zones.North]
postcodes = ["S66"]
"""
"""One zone, North, and the default filters and goals."""
LOT_POLICY_TOML = """\
name = "Store test framework"
version = "1"

[zones.North]
postcodes = ["S66"]

[[lots]]
name = "backup"
providers = ["LOT-A", "LOT-B"]
max_weekly_hours = 2
"""
"""Providers LOT-A and LOT-B share a lot capped at 2 hours (120 minutes) a week."""


@dataclass
class Book:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


@contextmanager
def sqlite_book(folder: Path) -> Iterator[Book]:
    """A migrated, empty book in a SQLite file inside `folder`."""
    url = f"sqlite:///{folder / 'book.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        yield Book(url, engine, make_session_factory(engine))
    finally:
        engine.dispose()


@contextmanager
def postgres_book() -> Iterator[Book]:
    """A migrated, empty book in a fresh schema of `$ALLOCATOR_TEST_POSTGRES_URL`; skips the
    test when it is not set."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    schema = f"store_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    engine = make_engine(rendered)
    try:
        upgrade(rendered)
        yield Book(rendered, engine, make_session_factory(engine))
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def any_book(kind: str, folder: Path) -> Iterator[Book]:
    """`kind` is "sqlite" or "postgres"."""
    with sqlite_book(folder) if kind == "sqlite" else postgres_book() as book:
        yield book


def provider(pid: str, morning: int = 10_000, tea: int = 10_000, **fields: Any) -> Provider:
    """A North provider with `morning` and `tea` weekly carer minutes, 10,000 at lunch and bed
    time and none at night."""
    capacity = {"morning": morning, "lunch": 10_000, "tea": tea, "bed": 10_000, "night": 0}
    record = {
        "id": pid,
        "name": f"Provider {pid}",
        "zones": [{"zone": "North", "tier": 1}],
        "base_postcode": "S66 2AA",
        "capacity_minutes": capacity,
        "rate_gbp_per_hour": 22.0,
        "cqc_rating": "good",
        "lat": 53.41,
        "lon": -1.35,
    }
    return Provider.model_validate(record | fields)


def package(kid: str, minutes: int = 60, band: str = "morning", **fields: Any) -> CarePackage:
    """A North package needing one Monday call of `minutes` in `band`."""
    record = {
        "id": kid,
        "postcode": "S66 2AB",
        "zone": "North",
        "visits": [{"days": ["mon"], "band": band, "minutes": minutes}],
        "referral_date": date(2026, 11, 2),
        "lat": 53.40,
        "lon": -1.35,
    }
    return CarePackage.model_validate(record | fields)


def fill(
    book: Book,
    providers: Iterable[Provider],
    packages: Iterable[CarePackage],
    policy_toml: str = POLICY_TOML,
) -> None:
    """Import a tiny scenario as the book."""
    scenario = Scenario(
        policy=parse_policy(policy_toml), providers=tuple(providers), packages=tuple(packages)
    )
    with write_transaction(book.sessions) as session:
        import_scenario(session, scenario, policy_toml)


Race = Callable[[sessionmaker[Session], str, Any], list[bool]]
"""One broker's side of a race: its session factory, its side's name, the shared barrier."""


def race_processes(url: str, sides: Sequence[str], race: Race) -> dict[str, list[bool]]:
    """Each side's `race` in a forked process of its own, with its own engine, released together
    by a barrier; each side's outcome (or the repr of what it raised).

    Forked workers start at once with everything imported; no connection may cross the fork
    (SQLite forbids it), so the caller empties its own pool first."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(sides)), context.Queue()
    workers = [
        context.Process(target=_race_in_process, args=(url, side, barrier, results, race))
        for side in sides
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=120) for _ in sides)
    for worker in workers:
        worker.join(timeout=30)
    return outcomes


def _race_in_process(url: str, side: str, barrier: Any, results: Any, race: Race) -> None:
    engine = make_engine(url)
    try:
        results.put((side, race(make_session_factory(engine), side, barrier)))
    except BaseException as failed:
        results.put((side, repr(failed)))
    finally:
        engine.dispose()
