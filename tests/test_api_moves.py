"""Moves over HTTP: a placed package offered to another provider keeps its care and holds room at
both providers until the offer is answered; acceptance moves it, a decline or withdrawal leaves it
where it is; every refusal says why; the audit trail tells the move with its explanation; and a
rebalance job's proposed move is offered citing the job.

The tiny book, all in North: K (60 morning minutes) is placed with A, which has no room left; B
(150 minutes) has room for K beside PIN (30 minutes, pinned there); FULL has no morning capacity
and EMB is embargoed. WAIT (60 minutes) has excluded B, so only A could take it: moving K to B
makes room, and B still takes W2 (60); W3 (90) waits on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_support import Service, running_service, tiny_book, wait_for
from sqlalchemy import select
from test_store_support import package, provider

from store.tables import AuditEventRow, OfferState

BOOK = tiny_book(
    [
        provider("A", morning=60, zones=[{"zone": "North", "tier": 1, "rank": 1}]),
        provider("B", morning=150, zones=[{"zone": "North", "tier": 1, "rank": 2}]),
        provider("FULL", morning=0),
        provider("EMB", status="embargoed"),
    ],
    [
        package("K", current_provider="A"),
        package("PIN", minutes=30, current_provider="B", pinned=True),
        package("WAIT", excluded_providers=["B"]),
        package("W2"),
        package("W3", minutes=90),
    ],
)
PROVIDERS = ["A", "B"]


@pytest.fixture
def service(tmp_path: Path):
    with running_service(tmp_path, BOOK, PROVIDERS) as running:
        yield running


def move(service: Service, provider_id: str, who: str = "alice", **fields: Any) -> Any:
    return service.post(
        who, "/moves", json={"package_id": "K", "provider_id": provider_id, **fields}
    )


def offer(service: Service, package_id: str, provider_id: str) -> Any:
    return service.post(
        "bob", "/offers", json={"package_id": package_id, "provider_id": provider_id}
    )


def where(service: Service, package_id: str) -> tuple[str, str | None]:
    found = service.get("alice", f"/packages/{package_id}").json()
    return found["state"], found["package"]["current_provider"]


def trail(service: Service, package_id: str) -> list[dict[str, Any]]:
    return service.get("carol", f"/audit/packages/{package_id}").json()


def test_a_move_holds_both_rooms_until_accepted_then_frees_the_old_one(service: Service) -> None:
    made = move(service, "B")
    assert made.status_code == 201, made.text
    moved = made.json()
    assert (moved["kind"], moved["from_provider_id"], moved["state"]) == ("move", "A", "offered")
    assert where(service, "K") == ("placed", "A")  # care goes on meanwhile

    refused = offer(service, "WAIT", "A")  # A still holds K
    assert refused.status_code == 409
    assert refused.json()["shortfalls"][0]["free_minutes"] == 0
    refused = offer(service, "W3", "B")  # and B holds K's room: 150 - 30 - 60 left
    assert refused.status_code == 409
    assert refused.json()["shortfalls"][0]["free_minutes"] == 60

    as_b = service.get("B", f"/offers/{moved['id']}").json()
    assert (as_b["kind"], as_b["from_provider_id"]) == ("move", None)
    assert service.get("B", "/packages/K").json()["package"]["current_provider"] is None
    accepted = service.post("B", f"/offers/{moved['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert where(service, "K") == ("placed", "B")
    assert service.get("A", "/packages/K").status_code == 404
    assert offer(service, "WAIT", "A").status_code == 201  # A's room is free again
    started = service.post("B", f"/offers/{moved['id']}/start")
    assert started.json()["state"] == OfferState.STARTED

    events = trail(service, "K")
    assert [(e["action"], e["actor"]) for e in events] == [
        ("make_move_offer", "alice"),
        ("accept_move", "B"),
        ("start_placement", "B"),
    ]
    assert "move from A to B offered" in events[0]["explanation"]
    assert "its room with A freed" in events[1]["explanation"]
    assert "moved from A" in events[2]["explanation"]


def test_a_declined_or_withdrawn_move_leaves_the_package_where_it_is(service: Service) -> None:
    first = move(service, "B").json()
    withdrawn = service.post("alice", f"/offers/{first['id']}/withdraw", json={"reason": "wait"})
    assert withdrawn.json()["state"] == "withdrawn"
    assert where(service, "K") == ("placed", "A")
    second = move(service, "B").json()  # withdrawn, the pair stays open
    declined = service.post(
        "B", f"/offers/{second['id']}/decline", json={"reason": "no morning carers"}
    )
    assert declined.status_code == 200
    assert declined.json()["offer"]["state"] == "declined"
    assert where(service, "K") == ("placed", "A")
    again = move(service, "B")
    assert again.status_code == 409
    assert any("excluded" in reason for reason in again.json()["reasons"])
    assert offer(service, "W3", "B").status_code == 201  # B's room was freed both times
    assert [e["action"] for e in trail(service, "K")] == [
        "make_move_offer",
        "withdraw_move",
        "make_move_offer",
        "decline_move",
        "offer_refused",
    ]


@pytest.mark.parametrize(
    ("package_id", "provider_id", "says"),
    [
        ("PIN", "A", "pinned to B: it never moves"),
        ("WAIT", "A", "is waiting, not placed"),
        ("K", "A", "placed with A already"),
        ("NOPE", "B", "no package 'NOPE'"),
    ],
    ids=["pinned", "not placed", "same provider", "unknown package"],
)
def test_a_move_the_book_does_not_allow_is_refused_saying_why(
    service: Service, package_id: str, provider_id: str, says: str
) -> None:
    refused = service.post(
        "alice", "/moves", json={"package_id": package_id, "provider_id": provider_id}
    )
    assert refused.status_code == (404 if package_id == "NOPE" else 409)
    assert says in refused.json()["detail"]


def test_a_move_to_a_provider_without_room_or_ruled_out_is_refused(service: Service) -> None:
    full = move(service, "FULL")
    assert full.status_code == 409
    assert full.json()["shortfalls"] == [
        {"provider_id": "FULL", "limit": "morning", "needed_minutes": 60, "free_minutes": 0}
    ]
    assert full.json()["shortlist"]["package_id"] == "K"
    embargoed = move(service, "EMB")
    assert embargoed.status_code == 409
    assert any("embargo" in reason for reason in embargoed.json()["reasons"])
    assert move(service, "B", job_id="nope").status_code == 404
    assert move(service, "B").status_code == 201
    busy = move(service, "FULL")
    assert busy.status_code == 409 and "has an open offer" in busy.json()["detail"]


def finished(service: Service, job_id: str) -> dict[str, Any] | None:
    status = service.get("carol", f"/jobs/{job_id}").json()
    return status if status["state"] in ("succeeded", "failed") else None


def rebalanced(service: Service, **budget: Any) -> dict[str, Any]:
    submitted = service.post("alice", "/jobs/rebalance", json={"time_limit_s": 5, **budget})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]
    status = wait_for(lambda: finished(service, job_id))
    assert status["state"] == "succeeded", status["error"]
    assert (status["kind"], status["time_limit_s"], status["apply"]) == ("rebalance", 5.0, False)
    return service.get("carol", f"/jobs/{job_id}/result").json()


def test_a_rebalance_job_proposes_the_move_and_a_broker_offers_it(service: Service) -> None:
    # Two people in care: the default budget (5 % of them) moves no one.
    cautious = rebalanced(service)
    assert (cautious["budget"]["max_share"], cautious["moves"]) == (0.05, [])
    result = rebalanced(service, max_moves=1)
    assert (result["budget"]["max_moves"], result["pinned_for_run"]) == (1, [])
    (proposed,) = result["moves"]
    assert (proposed["package_id"], proposed["from_provider"], proposed["to_provider"]) == (
        "K",
        "A",
        "B",
    )
    assert proposed["frees"].startswith("room at A, where 1 waiting package(s) are placed (WAIT")
    assert sorted(result["newly_placed"]) == ["W2", "WAIT"]
    assert (result["summary"]["waiting_before"], result["summary"]["waiting_after"]) == (3, 1)
    assert where(service, "K") == ("placed", "A")  # nothing applied

    job_id = result["job_id"]
    elsewhere = move(service, "FULL", job_id=job_id)
    assert elsewhere.status_code == 409
    assert "proposed no move of K to FULL" in elsewhere.json()["detail"]
    made = move(service, "B", job_id=job_id)
    assert made.status_code == 201, made.text
    assert made.json()["job_id"] == job_id
    assert made.json()["proposal"] == f"frees {proposed['frees']}; {proposed['gains']}"
    assert service.get("B", f"/offers/{made.json()['id']}").json()["proposal"] is None
    service.post("B", f"/offers/{made.json()['id']}/accept")
    service.post("B", f"/offers/{made.json()['id']}/start")
    again = rebalanced(service, max_moves=1)  # K's care started today: it is not moved
    assert (again["pinned_for_run"], again["moves"]) == (["K"], [])
    cited = [e for e in trail(service, "K") if e["action"] != "offer_refused"]
    assert all(
        f"proposed by rebalance job {job_id}: frees room at A" in e["explanation"] for e in cited
    )
    assert len(cited) == 3
    with service.sessions() as session:
        query = select(AuditEventRow.action).where(AuditEventRow.action.like("%rebalance%"))
        assert list(session.scalars(query)) == ["submit_rebalance_job"] * 3
        query = select(AuditEventRow.explanation).where(AuditEventRow.action == "propose_moves")
        assert [e.split(" ", 3)[3][:18] for e in session.scalars(query)] == [
            "proposed 0 moves a",
            "proposed 1 moves a",
            "proposed 0 moves a",
        ]
