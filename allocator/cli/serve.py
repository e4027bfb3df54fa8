"""`allocator serve`: the brokerage service (FastAPI under uvicorn) over the database's book.

Settings come from `ALLOCATOR_*` environment variables (`api/settings.py`); the options here
override the address and the number of worker processes. Each worker holds the book in memory
and checks the database's book version on every request, so workers never disagree; more than one
uses more cores (and memory) for more requests per second.
"""

from __future__ import annotations

import argparse

import uvicorn

from api.settings import Settings
from store.migrate import upgrade


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "serve",
        help="run the brokerage service (API docs at /docs)",
        description="Serve the brokerage API over the book in $ALLOCATOR_DATABASE_URL "
        "(default sqlite:///allocator.db), migrating the database first.",
    )
    settings = Settings()
    run.add_argument("--host", default=settings.host, help="default %(default)s")
    run.add_argument("--port", type=int, default=settings.port, help="default %(default)s")
    run.add_argument(
        "--workers", type=int, default=1, help="worker processes (default %(default)s)"
    )
    run.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    upgrade(Settings().database_url)  # once, before any worker starts: workers would race
    uvicorn.run(
        "api.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers
    )
    return 0
