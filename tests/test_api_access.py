"""Who may do what, what a provider's key may see, and how bad requests are answered.

The role table sends each request with each role's key: a role that may not do it gets 403, one
that may gets past the check (the requests aim at unknown ids or carry invalid bodies, so nothing
changes in the book whoever asks). No key, an unknown key and a revoked key get 401.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import Service, running_service, tiny_book
from test_store_support import package, provider

A = provider("A", zones=[{"zone": "North", "tier": 1, "rank": 1}])
B = provider("B", zones=[{"zone": "North", "tier": 1, "rank": 2}])
BOOK = tiny_book(
    [A, B],
    [
        package("AT-A", current_provider="A"),
        package("AT-B", current_provider="B"),
        package("OFFERED-A", excluded_providers=["B"], preferred_provider="B"),
        package("WAITING"),
    ],
)
WHO = {"broker": "alice", "commissioner": "carol", "admin": "dan", "provider": "A"}
EVERYONE = set(WHO)
READERS = {"broker", "commissioner", "admin"}
BROKERS = {"broker", "admin"}
PLANNERS = {"commissioner", "admin"}
ADMIN = {"admin"}

CASES: list[tuple[str, str, dict[str, Any], set[str]]] = [
    ("GET", "/providers", {}, EVERYONE),
    ("GET", "/providers/NOPE", {}, EVERYONE),
    ("POST", "/providers", {"json": {}}, ADMIN),
    ("PATCH", "/providers/NOPE", {"json": {"name": "x"}}, ADMIN),
    ("PUT", "/providers/NOPE/status", {"json": {"status": "active"}}, ADMIN),
    ("PATCH", "/providers/NOPE/capacity", {"json": {"capacity_minutes": {"tea": 1}}}, ADMIN),
    ("GET", "/packages", {}, EVERYONE),
    ("GET", "/packages/NOPE", {}, EVERYONE),
    ("POST", "/packages", {"json": {}}, BROKERS),
    ("PATCH", "/packages/NOPE", {"json": {"urgency": "routine"}}, BROKERS),
    ("POST", "/packages/NOPE/hand-back", {"json": {"reason": "r"}}, BROKERS | {"provider"}),
    ("POST", "/brokerage/requests", {"json": {"package_ids": ["NOPE"]}}, BROKERS),
    ("POST", "/offers", {"json": {"package_id": "NOPE", "provider_id": "A"}}, BROKERS),
    ("POST", "/moves", {"json": {"package_id": "NOPE", "provider_id": "A"}}, BROKERS),
    ("GET", "/offers", {}, EVERYONE),
    ("GET", "/offers/999", {}, EVERYONE),
    ("POST", "/offers/999/accept", {}, BROKERS | {"provider"}),
    ("POST", "/offers/999/decline", {"json": {"reason": "r"}}, BROKERS | {"provider"}),
    ("POST", "/offers/999/start", {}, BROKERS | {"provider"}),
    ("POST", "/offers/999/withdraw", {}, BROKERS),
    ("GET", "/audit/packages/NOPE", {}, READERS),
    ("GET", "/kpis", {}, READERS),
    ("GET", "/policies", {}, READERS),
    (
        "POST",
        "/policies",
        {"content": "not = [toml", "headers": {"content-type": "text/plain"}},
        ADMIN,
    ),
    ("POST", "/policies/999/activate", {}, ADMIN),
    ("POST", "/jobs/solve", {"json": {"time_limit_s": -1}}, BROKERS),
    ("POST", "/jobs/rebalance", {"json": {"max_share": 2}}, BROKERS),
    (
        "POST",
        "/jobs/whatif",
        {"content": "not = [toml", "headers": {"content-type": "text/plain"}},
        PLANNERS,
    ),
    ("GET", "/jobs", {}, READERS),
    ("GET", "/jobs/nope", {}, READERS),
    ("GET", "/jobs/nope/result", {}, READERS),
    ("GET", "/jobs/nope/report.html", {}, READERS),
    ("GET", "/keys", {}, ADMIN),
    ("POST", "/keys", {"json": {}}, ADMIN),
    ("DELETE", "/keys/999", {}, ADMIN),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("access")
    with running_service(folder, BOOK, ["A", "B"]) as running:
        offered = running.post(
            "alice", "/offers", json={"package_id": "OFFERED-A", "provider_id": "A"}
        )
        assert offered.status_code == 201
        yield running


@pytest.mark.parametrize(
    ("method", "path", "request_", "allowed"), CASES, ids=[f"{m} {p}" for m, p, _, _ in CASES]
)
def test_each_role_is_refused_where_it_must_be(
    service: Service, method: str, path: str, request_: dict[str, Any], allowed: set[str]
) -> None:
    for role, who in WHO.items():
        answer = service.call(who, method, path, **request_)
        if role in allowed:
            assert answer.status_code not in (401, 403), (role, answer.json())
        else:
            assert answer.status_code == 403, (role, answer.status_code)
    for headers in ({}, {"X-API-Key": "not-a-key"}, {"Authorization": "Bearer not-a-key"}):
        assert service.client.request(method, path, headers=headers).status_code == 401


def test_a_bearer_token_works_like_the_key_header(service: Service) -> None:
    bearer = {"Authorization": f"Bearer {service.keys['carol']}"}
    assert service.client.get("/kpis", headers=bearer).status_code == 200


def test_a_revoked_key_is_refused_and_an_admin_cannot_revoke_its_own(service: Service) -> None:
    issued = service.post("dan", "/keys", json={"role": "commissioner", "label": "eve"})
    assert issued.status_code == 201
    key, key_id = issued.json()["key"], issued.json()["key_id"]
    assert service.client.get("/kpis", headers={"X-API-Key": key}).status_code == 200
    assert service.call("dan", "DELETE", f"/keys/{key_id}").json()["revoked"] is True
    assert service.client.get("/kpis", headers={"X-API-Key": key}).status_code == 401
    own = next(k["key_id"] for k in service.get("dan", "/keys").json() if k["label"] == "dan")
    assert service.call("dan", "DELETE", f"/keys/{own}").status_code == 409


def test_the_docs_and_health_need_no_key(service: Service) -> None:
    for path in ("/health", "/docs", "/openapi.json"):
        assert service.client.get(path).status_code == 200


def test_a_provider_sees_only_itself_and_what_is_placed_with_or_offered_to_it(
    service: Service,
) -> None:
    assert [p["id"] for p in service.get("A", "/providers").json()] == ["A"]
    assert service.get("A", "/providers/A").status_code == 200
    assert service.get("A", "/providers/B").status_code == 404
    seen = {p["package"]["id"]: p for p in service.get("A", "/packages").json()}
    assert set(seen) == {"AT-A", "OFFERED-A"}
    offered = seen["OFFERED-A"]["package"]
    assert (offered["excluded_providers"], offered["preferred_provider"]) == ([], None)
    staff_view = service.get("alice", "/packages/OFFERED-A").json()["package"]
    assert (staff_view["excluded_providers"], staff_view["preferred_provider"]) == (["B"], "B")
    for other in ("AT-B", "WAITING"):
        assert service.get("A", f"/packages/{other}").status_code == 404
    assert service.get("B", "/packages/OFFERED-A").status_code == 404
    assert [p["package"]["id"] for p in service.get("B", "/packages").json()] == ["AT-B"]


def test_a_provider_answers_only_its_own_offers(service: Service) -> None:
    (offer,) = service.get("A", "/offers").json()
    assert offer["package_id"] == "OFFERED-A"
    assert service.get("B", "/offers").json() == []
    assert service.get("B", "/offers", params={"provider_id": "A"}).json() == []
    assert service.get("B", f"/offers/{offer['id']}").status_code == 404
    assert service.post("B", f"/offers/{offer['id']}/accept").status_code == 404
    reason = {"reason": "not ours"}
    assert service.post("B", f"/offers/{offer['id']}/decline", json=reason).status_code == 404
    assert service.post("B", "/packages/AT-A/hand-back", json=reason).status_code == 404
    assert service.get("alice", f"/offers/{offer['id']}").json()["state"] == "offered"


def test_a_provider_declining_is_not_told_who_is_next(tmp_path: Path) -> None:
    with running_service(tmp_path, BOOK, ["A"]) as service:
        made = service.post("alice", "/offers", json={"package_id": "WAITING", "provider_id": "A"})
        declined = service.post(
            "A", f"/offers/{made.json()['id']}/decline", json={"reason": "full"}
        )
        assert declined.status_code == 200
        assert (declined.json()["next_best"], declined.json()["unplaced"]) == (None, None)


def locs(answer: Any) -> set[tuple[Any, ...]]:
    assert answer.status_code == 422, answer.text
    return {tuple(error["loc"]) for error in answer.json()["detail"]}


def test_invalid_requests_get_422_naming_every_field(service: Service) -> None:
    bad_package = {
        "id": "has space",
        "postcode": "nowhere",
        "visits": [],
        "referral_date": "yesterday",
        "urgency": "soon",
        "current_provider": "A",
        "colour": "blue",
    }
    assert locs(service.post("alice", "/packages", json=bad_package)) == {
        ("body", "id"),
        ("body", "postcode"),
        ("body", "visits"),
        ("body", "referral_date"),
        ("body", "urgency"),
        ("body", "current_provider"),
        ("body", "colour"),
    }
    assert locs(service.post("alice", "/offers", json={})) == {
        ("body", "package_id"),
        ("body", "provider_id"),
    }
    assert locs(service.post("alice", "/offers/1/decline", json={"reason": "   "})) == {
        ("body", "reason")
    }
    assert locs(service.get("alice", "/packages", params={"state": "lost", "limit": 0})) == {
        ("query", "state"),
        ("query", "limit"),
    }
    assert locs(service.call("alice", "PATCH", "/packages/WAITING", json={})) == {("body",)}
    assert locs(service.post("dan", "/keys", json={"role": "provider", "label": "x"})) == {
        ("body",)
    }
    twice = {"package_ids": ["WAITING", "WAITING"]}
    assert locs(service.post("alice", "/brokerage/requests", json=twice)) == {
        ("body", "package_ids")
    }


def test_records_that_do_not_fit_the_book_get_422_with_every_problem(service: Service) -> None:
    elsewhere = {
        "id": "FAR",
        "postcode": "S66 2AB",
        "zone": "Atlantis",
        "visits": [{"days": ["mon"], "band": "morning", "minutes": 30}],
        "excluded_providers": ["GHOST"],
        "referral_date": "2026-11-01",
        "lat": 53.4,
        "lon": -1.35,
    }
    answer = service.post("alice", "/packages", json=elsewhere)
    messages = " ".join(e["msg"] for e in answer.json()["detail"])
    assert answer.status_code == 422
    assert "Atlantis" in messages and "GHOST" in messages
    assert service.get("alice", "/packages/FAR").status_code == 404


def test_policies_are_checked_as_toml_then_as_rules(service: Service) -> None:
    text = {"headers": {"content-type": "text/plain"}}
    broken = service.post("dan", "/policies", content="name = [", **text)
    assert locs(broken) == {("body",)}
    not_utf8 = service.post("dan", "/policies", content=b"\xff\xfe", **text)
    assert locs(not_utf8) == {("body",)}
    wrong = service.post("dan", "/policies", content='name = "X"\ngoals = ["speed"]\n', **text)
    assert ("body", "version") in locs(wrong) and ("body", "goals", 0) in locs(wrong)
    no_north = 'name = "Other"\nversion = "2"\n\n[zones.South]\npostcodes = ["S25"]\n'
    refused = service.post("dan", "/policies", params={"activate": True}, content=no_north, **text)
    assert refused.status_code == 422
    assert "North" in refused.text
    assert [p["active"] for p in service.get("dan", "/policies").json()] == [True]


def test_unknown_ids_get_404(service: Service) -> None:
    for who, method, path, body in [
        ("alice", "GET", "/providers/NOPE", None),
        ("alice", "GET", "/packages/NOPE", None),
        ("alice", "GET", "/offers/999", None),
        ("alice", "POST", "/offers/999/accept", None),
        ("alice", "POST", "/offers", {"package_id": "NOPE", "provider_id": "A"}),
        ("alice", "POST", "/offers", {"package_id": "WAITING", "provider_id": "NOPE"}),
        ("alice", "POST", "/brokerage/requests", {"package_ids": ["NOPE"]}),
        ("alice", "POST", "/packages/NOPE/hand-back", {"reason": "gone"}),
        ("carol", "GET", "/audit/packages/NOPE", None),
        ("carol", "GET", "/jobs/nope", None),
        ("carol", "GET", "/jobs/nope/result", None),
        ("dan", "PATCH", "/providers/NOPE", {"name": "x"}),
        ("dan", "POST", "/policies/999/activate", None),
        ("dan", "DELETE", "/keys/999", None),
    ]:
        answer = service.call(who, method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert (
            "NOPE" in answer.json()["detail"]
            or "999" in answer.json()["detail"]
            or "nope" in answer.json()["detail"]
        )
