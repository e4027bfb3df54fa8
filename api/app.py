"""The brokerage service: FastAPI over the store and the core.

`create_app` migrates the database, fails the jobs whose process is gone (so they can be
resubmitted; jobs another live worker runs are left alone), and wires the routers. Routers stay
thin: they check who is calling, call the store or the core, and shape the answer. Solve jobs run
in child processes (`api.job_runner`), stopped with the app.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from api import errors
from api.auth import KeyCheck
from api.book_cache import BookCache
from api.job_runner import JobRunner
from api.routers import (
    audit,
    brokerage,
    health,
    jobs,
    keys,
    kpis,
    offers,
    packages,
    policies,
    providers,
    rebalance,
    whatif,
)
from api.settings import Settings
from store.database import make_engine, make_session_factory
from store.errors import NotFound
from store.migrate import upgrade

DESCRIPTION = """Places home care packages with a council's framework providers.

Every endpoint but `/health` and the docs needs an API key (`Authorization: Bearer KEY` or
`X-API-Key: KEY`) issued by the operator with `allocator db create-key` or by an admin
(`POST /keys`). Roles: **broker** (requests, offers and moves, providers' answers, solve and
rebalance jobs), **commissioner** (reads, KPIs and what-if studies), **admin** (all a broker or
commissioner may do, and providers, policies, keys), **provider** (its own offers and placements,
and nothing about other providers)."""

TAGS = [
    {"name": "brokerage", "description": "Ranked, explained shortlists and recommendations."},
    {"name": "offers", "description": "Offer (or move), accept or decline, start, hand back."},
    {"name": "packages", "description": "The people referred for care, and where they stand."},
    {"name": "providers", "description": "Framework providers: status and capacity by band."},
    {
        "name": "jobs",
        "description": "Full solves, rebalances and what-if studies, run in the background.",
    },
    {"name": "kpis", "description": "Placed and unmet hours, the waiting list, utilisation."},
    {"name": "audit", "description": "Every decision about a package, oldest first."},
    {"name": "policies", "description": "The published allocation rules."},
    {"name": "keys", "description": "API keys and their roles."},
    {"name": "health", "description": "For the operator's monitoring; no key needed."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    runner = JobRunner(settings.database_url, sessions, settings.solve_workers)
    runner.fail_orphaned()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_warm, app.state.books)
        try:
            yield
        finally:
            runner.shutdown()
            engine.dispose()

    app = FastAPI(
        title="care-allocator",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.books = BookCache(sessions)
    app.state.keys = KeyCheck(sessions, settings.key_cache_s)
    app.state.jobs = runner
    errors.install(app)
    for module in (
        health,
        brokerage,
        offers,
        packages,
        providers,
        jobs,
        rebalance,
        whatif,
        kpis,
        audit,
        policies,
        keys,
    ):
        app.include_router(module.router)
    return app


def _warm(books: BookCache) -> None:
    """Build the in-memory book before the first request rather than in it (1.5 s at 20,000
    packages; each worker process holds its own). An empty database has none to build yet."""
    with contextlib.suppress(NotFound):
        books.view()
