"""The service end to end over HTTP: migrations at start-up, the offer lifecycle brokers run, the
audit trail it leaves, changes to providers and packages taking effect at once, and the KPIs.

The tiny book: in zone North, provider A (tier 1, rank 1) and B (tier 1, rank 2) each with room;
the cascade puts A first, so a package goes to A unless A declines.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from api_support import example_book, running_service, tiny_book
from sqlalchemy import select
from test_store_support import package, provider

from store.migrate import current_revision, head_revision
from store.tables import AuditEventRow

A = provider("A", zones=[{"zone": "North", "tier": 1, "rank": 1}])
B = provider("B", zones=[{"zone": "North", "tier": 1, "rank": 2}])


def test_the_app_migrates_an_empty_database_at_start_up(tmp_path: Path) -> None:
    with running_service(tmp_path, tiny_book([A, B], [package("P1")])) as service:
        assert current_revision(service.url) == head_revision()
        health = service.client.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"


def test_offer_lifecycle_end_to_end_with_its_audit_trail(tmp_path: Path) -> None:
    with running_service(tmp_path, tiny_book([A, B], [package("P1")]), ["A", "B"]) as service:
        asked = service.post("alice", "/brokerage/requests", json={"package_ids": ["P1"]})
        assert asked.status_code == 200
        (shortlist,) = asked.json()["shortlists"]
        assert shortlist["recommended"]["provider_id"] == "A"
        assert [o["provider_id"] for o in shortlist["options"]] == ["A", "B"]

        first = service.post("alice", "/offers", json={"package_id": "P1", "provider_id": "A"})
        assert first.status_code == 201
        assert first.json()["state"] == "offered"
        assert service.get("alice", "/packages/P1").json()["state"] == "offered"

        declined = service.post(
            "alice", f"/offers/{first.json()['id']}/decline", json={"reason": "no carers free"}
        )
        assert declined.status_code == 200
        assert declined.json()["offer"]["state"] == "declined"
        assert declined.json()["offer"]["reason"] == "no carers free"
        assert declined.json()["next_best"]["provider_id"] == "B"

        again = service.post("alice", "/offers", json={"package_id": "P1", "provider_id": "A"})
        assert again.status_code == 409
        assert any("excluded" in reason for reason in again.json()["reasons"])

        second = service.post("bob", "/offers", json={"package_id": "P1", "provider_id": "B"})
        assert second.status_code == 201
        offer_id = second.json()["id"]
        accepted = service.post("B", f"/offers/{offer_id}/accept")
        assert accepted.status_code == 200
        assert accepted.json()["state"] == "accepted"
        placed = service.get("alice", "/packages/P1").json()
        assert (placed["state"], placed["package"]["current_provider"]) == ("placed", "B")

        assert service.post("alice", f"/offers/{offer_id}/start").json()["state"] == "started"

        handed = service.post("B", "/packages/P1/hand-back", json={"reason": "carer left"})
        assert handed.status_code == 200
        assert handed.json()["offer"]["state"] == "handed_back"
        waiting = service.get("alice", "/packages/P1").json()
        assert waiting["state"] == "waiting"
        assert waiting["package"]["current_provider"] is None
        assert waiting["waiting_since"] == date.today().isoformat()

        trail = service.get("carol", "/audit/packages/P1")
        assert trail.status_code == 200
        events = trail.json()
        assert [(e["action"], e["actor"]) for e in events] == [
            ("recommend", "alice"),
            ("make_offer", "alice"),
            ("decline_offer", "alice"),
            ("offer_refused", "alice"),
            ("make_offer", "bob"),
            ("accept_offer", "B"),
            ("start_placement", "alice"),
            ("hand_back", "B"),
        ]
        assert all(len(e["inputs_hash"]) == 64 for e in events)
        assert {e["policy_version"] for e in events} == {"Store test framework v1"}
        assert "no carers free" in events[2]["explanation"]
        assert "carer left" in events[-1]["explanation"]


def test_an_embargo_and_new_capacity_take_effect_at_once(tmp_path: Path) -> None:
    with running_service(tmp_path, tiny_book([A, B], [package("P1"), package("P2")])) as service:
        embargo = {"status": "embargoed", "reason": "CQC inspection"}
        assert service.call("dan", "PUT", "/providers/A/status", json=embargo).status_code == 200
        (shortlist,) = service.post(
            "alice", "/brokerage/requests", json={"package_ids": ["P1"]}
        ).json()["shortlists"]
        assert shortlist["recommended"]["provider_id"] == "B"
        assert [r["provider_id"] for r in shortlist["ruled_out"]] == ["A"]
        refused = service.post("alice", "/offers", json={"package_id": "P1", "provider_id": "A"})
        assert refused.status_code == 409
        assert refused.json()["reasons"]

        lifted = service.call("dan", "PUT", "/providers/A/status", json={"status": "active"})
        assert lifted.json()["status"] == "active"
        cut = {"capacity_minutes": {"morning": 30}, "reason": "two carers left"}
        changed = service.call("dan", "PATCH", "/providers/A/capacity", json=cut)
        assert changed.status_code == 200
        assert changed.json()["capacity_minutes"]["morning"] == 30
        assert changed.json()["capacity_minutes"]["tea"] == 10_000  # bands not named are kept
        full = service.post("alice", "/offers", json={"package_id": "P2", "provider_id": "A"})
        assert full.status_code == 409
        body = full.json()
        assert body["shortfalls"] == [
            {"provider_id": "A", "limit": "morning", "needed_minutes": 60, "free_minutes": 30}
        ]
        assert body["shortlist"]["package_id"] == "P2"
        assert body["shortlist"]["recommended"]["provider_id"] == "B"

        with service.sessions() as session:
            actions = session.scalars(
                select(AuditEventRow.action).where(AuditEventRow.package_id.is_(None))
            ).all()
        assert actions[-3:] == [
            "set_provider_status",
            "set_provider_status",
            "set_provider_capacity",
        ]


def test_brokers_refer_and_review_packages_which_the_next_shortlist_sees(tmp_path: Path) -> None:
    with running_service(tmp_path, tiny_book([A, B], [])) as service:
        referral = {
            "id": "NEW-1",
            "postcode": "S66 2AB",
            "zone": "North",
            "visits": [{"days": ["mon", "tue"], "band": "tea", "minutes": 30}],
            "referral_date": "2026-11-20",
            "lat": 53.40,
            "lon": -1.35,
        }
        made = service.post("alice", "/packages", json=referral)
        assert made.status_code == 201
        assert (made.json()["state"], made.json()["waiting_since"]) == ("waiting", "2026-11-20")
        review = {"visits": [{"days": ["mon"], "band": "morning", "minutes": 45, "carers": 2}]}
        changed = service.call("alice", "PATCH", "/packages/NEW-1", json=review)
        assert changed.status_code == 200
        (shortlist,) = service.post(
            "alice", "/brokerage/requests", json={"package_ids": ["NEW-1"]}
        ).json()["shortlists"]
        assert shortlist["recommended"] is None  # neither provider staffs double-up calls
        assert {r["rule"] for r in shortlist["ruled_out"]} == {"double_up"}
        assert shortlist["unplaced"]["reason_code"] == "double_up"
        events = service.get("carol", "/audit/packages/NEW-1").json()
        assert [e["action"] for e in events] == ["create_package", "update_package", "recommend"]
        assert events[-1]["explanation"] == shortlist["unplaced"]["diagnosis"]


def test_kpis_of_a_tiny_book_match_hand_computed_numbers(tmp_path: Path) -> None:
    small = provider("A", morning=120)
    book = tiny_book(
        [small],
        [
            package("P1", current_provider="A"),
            package("P2", minutes=30),
            package("P3", minutes=45, band="tea", urgency="hospital_discharge"),
        ],
    )
    with running_service(tmp_path, book) as service:
        service.post("alice", "/offers", json={"package_id": "P2", "provider_id": "A"})
        kpis = service.get("carol", "/kpis").json()
    days = (date.today() - date(2026, 11, 2)).days
    assert kpis["summary"] == {
        "packages": 3,
        "packages_placed": 1,
        "packages_offered": 1,
        "packages_waiting": 1,
        "demand_hours": 2.25,
        "placed_hours": 1.0,
        "offered_hours": 0.5,
        "unmet_hours": 1.25,
        "longest_wait_days": days,
        "mean_wait_days": float(days),
    }
    assert kpis["by_zone_band"] == [
        {
            "zone": "North",
            "band": "morning",
            "demand_hours": 1.5,
            "placed_hours": 1.0,
            "offered_hours": 0.5,
            "unmet_hours": 0.5,
        },
        {
            "zone": "North",
            "band": "tea",
            "demand_hours": 0.75,
            "placed_hours": 0.0,
            "offered_hours": 0.0,
            "unmet_hours": 0.75,
        },
    ]
    assert [(w["package_id"], w["offered_to"], w["waiting_days"]) for w in kpis["waiting"]] == [
        ("P3", None, days),  # hospital discharge first
        ("P2", "A", days),
    ]
    morning = next(
        u for u in kpis["utilisation"] if (u["provider_id"], u["band"]) == ("A", "morning")
    )
    assert morning == {
        "provider_id": "A",
        "band": "morning",
        "capacity_hours": 2.0,
        "placed_hours": 1.0,
        "offered_hours": 0.5,
        "utilisation": 0.5,
    }
    night = next(u for u in kpis["utilisation"] if u["band"] == "night")
    assert night["utilisation"] is None  # no capacity offered


def test_kpis_of_the_shipped_example_add_up(tmp_path: Path) -> None:
    with running_service(tmp_path, example_book) as service:
        kpis = service.get("carol", "/kpis").json()
    summary = kpis["summary"]
    assert (summary["packages"], summary["packages_placed"], summary["packages_waiting"]) == (
        300,
        217,
        83,
    )
    assert len(kpis["waiting"]) == 83
    by_zone = kpis["by_zone_band"]
    assert round(sum(r["unmet_hours"] for r in by_zone), 2) == summary["unmet_hours"]
    assert round(sum(u["placed_hours"] for u in kpis["utilisation"]), 2) == summary["placed_hours"]
    assert all(u["utilisation"] is None or u["utilisation"] >= 0 for u in kpis["utilisation"])


def test_a_batch_is_placed_together_with_each_level_reported(tmp_path: Path) -> None:
    one_room = provider("A", morning=60, zones=[{"zone": "North", "tier": 1, "rank": 1}])
    book = tiny_book([one_room, B], [package("P1"), package("P2")])
    with running_service(tmp_path, book) as service:
        answer = service.post("alice", "/brokerage/requests", json={"package_ids": ["P1", "P2"]})
        assert answer.status_code == 200
        recommendation = answer.json()["recommendation"]
        placed = {p["package_id"]: p["provider_id"] for p in recommendation["placements"]}
        assert sorted(placed) == ["P1", "P2"]
        assert sorted(placed.values()) == ["A", "B"]  # A has room for one of them only
        levels = recommendation["levels"]
        assert levels[0]["goal"] == "existing_care"
        assert all(level["gap"] == 0 and level["optimal"] for level in levels)
        for package_id in ("P1", "P2"):
            (event,) = service.get("carol", f"/audit/packages/{package_id}").json()
            assert event["result"]["recommended"] == placed[package_id]
