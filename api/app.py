"""The brokerage service: FastAPI over the store and the core.

`create_app` migrates the database, marks jobs a dead process left running as failed (so they can
be resubmitted), and wires the routers. Routers stay thin: they check who is calling, call the
store or the core, and shape the answer.
"""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.auth import KeyCheck
from api.book_cache import BookCache
from api.routers import brokerage, health
from api.settings import Settings
from store.database import make_engine, make_session_factory, write_transaction
from store.jobs import fail_abandoned
from store.migrate import upgrade

DESCRIPTION = """Places home care packages with a council's framework providers.

Every endpoint but `/health` and the docs needs an API key (`Authorization: Bearer KEY` or
`X-API-Key: KEY`) issued by the operator with `allocator db create-key`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    upgrade(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    with write_transaction(sessions) as session:
        fail_abandoned(session)
    app = FastAPI(title="care-allocator", version="0.1.0", description=DESCRIPTION)
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.books = BookCache(sessions)
    app.state.keys = KeyCheck(sessions, settings.key_cache_s)
    errors.install(app)
    for router in (health.router, brokerage.router):
        app.include_router(router)
    return app
