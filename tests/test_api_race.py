"""Two brokers racing for a provider's last morning capacity, with real concurrent HTTP requests
to a real server (uvicorn on a loopback port), on SQLite and (when configured) PostgreSQL: exactly
one wins each round, the other gets 409
with a fresh shortlist, and the book never holds a double booking.

Each round has its own provider R<n> with room for one 60-minute morning call, and two packages
that each need it; a tier-2 provider ALT has room for all of them, so the loser's fresh shortlist
always recommends someone with room (R<n> now shows none).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from api_support import running_service, tiny_book, wait_for
from fastapi import FastAPI
from test_store_support import package, provider

from store.capacity import committed_minutes
from store.offers import list_offers
from store.tables import OfferState

ROUNDS = 10
BROKERS = ("alice", "bob")
RACERS = [provider(f"R{r:02}", morning=60) for r in range(ROUNDS)]
ALT = provider("ALT", zones=[{"zone": "North", "tier": 2}])
BOOK = tiny_book(
    [*RACERS, ALT], [package(f"{who}-{r:02}") for who in BROKERS for r in range(ROUNDS)]
)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a background thread; its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout_s=30, every_s=0.02)
        (port,) = {s.getsockname()[1] for srv in server.servers for s in srv.sockets}
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_brokers_racing_for_the_last_morning_capacity(kind: str, tmp_path: Path) -> None:
    with running_service(tmp_path, BOOK, kind=kind) as service, served(service.app) as base_url:
        barrier = threading.Barrier(len(BROKERS))

        def race(who: str) -> list[httpx.Response]:
            answers = []
            with httpx.Client(base_url=base_url, headers=service.headers(who)) as client:
                for r in range(ROUNDS):
                    offer = {"package_id": f"{who}-{r:02}", "provider_id": f"R{r:02}"}
                    barrier.wait(timeout=30)
                    answers.append(client.post("/offers", json=offer, timeout=60))
            return answers

        with ThreadPoolExecutor(len(BROKERS)) as pool:
            rounds = list(zip(*pool.map(race, BROKERS), strict=True))

        for r, answers in enumerate(rounds):
            assert sorted(a.status_code for a in answers) == [201, 409], r
            lost = next(a.json() for a in answers if a.status_code == 409)
            assert lost["shortfalls"] == [
                {
                    "provider_id": f"R{r:02}",
                    "limit": "morning",
                    "needed_minutes": 60,
                    "free_minutes": 0,
                }
            ]
            shortlist = lost["shortlist"]
            loser = next(b for b, a in zip(BROKERS, answers, strict=True) if a.status_code == 409)
            assert shortlist["package_id"] == f"{loser}-{r:02}"
            room = {o["provider_id"]: o["has_room"] for o in shortlist["options"]}
            assert room[f"R{r:02}"] is False  # fresh: the winner's offer holds its room
            assert room[shortlist["recommended"]["provider_id"]] is True

        with service.sessions() as session:
            offered = list_offers(session, state=OfferState.OFFERED)
            committed = committed_minutes(session, [p.id for p in RACERS])
        assert Counter(o.provider_id for o in offered) == {p.id: 1 for p in RACERS}
        assert all(used["morning"] == 60 for used in committed.values())
