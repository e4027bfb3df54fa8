"""Published allocation rules: readable by the council's staff, added and put in force by an admin.

A policy is stored as the exact TOML text signed off; a changed rule is a new version. Putting a
policy in force moves the book's version, so the next shortlist follows the new rule; a policy
the book does not fit (a zone its packages are in dropped, a lot naming an unknown provider) is
refused with every problem listed.
"""

from __future__ import annotations

import tomllib
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from allocator.policy import Policy
from api.audit_trail import record_change
from api.auth import Admin, Reader
from api.schema import KEYED, Answer, RowId, documented
from store.api_keys import KeyIdentity
from store.database import write_transaction
from store.errors import NotFound
from store.policies import StoredPolicy, activate_policy, add_policy, list_policies, parse_policy
from store.policy_fit import check_book_fits

router = APIRouter(prefix="/policies", tags=["policies"], responses=KEYED)

PolicyText = Annotated[
    str,
    Body(
        media_type="text/plain",
        description="The policy file (`policy.toml`) exactly as signed off.",
        examples=['name = "Example framework"\nversion = "2026.2"\n\n[zones.North]\n'],
    ),
]


class PolicyOut(Answer):
    id: int
    name: str
    version: str
    label: str
    """Name and version, as every decision cites it."""
    active: bool
    toml: str


@router.get("")
def list_all(request: Request, _identity: Reader) -> list[PolicyOut]:
    """Every policy stored, oldest first; one is in force."""
    with request.app.state.sessions() as session:
        return [_out(p) for p in list_policies(session)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(409))
def add(
    text: PolicyText,
    request: Request,
    identity: Admin,
    activate: Annotated[bool, Query(description="Put it in force at once.")] = False,
) -> PolicyOut:
    """Store a policy (the same text again is accepted as it is; different text under a version
    already held is refused, 409); with `activate`, put it in force."""
    policy = _parsed(text)
    with write_transaction(request.app.state.sessions) as session:
        if activate:
            check_book_fits(session, policy)
        stored = add_policy(session, text, activate=activate)
        what = "stored and in force" if activate else "stored"
        _record(session, identity, "add_policy", stored, what)
    return _out(stored)


@router.post("/{policy_id}/activate", responses=documented(404))
def activate(policy_id: RowId, request: Request, identity: Admin) -> PolicyOut:
    """Put a stored policy in force (the one in force before stops being so)."""
    with write_transaction(request.app.state.sessions) as session:
        chosen = next((p for p in list_policies(session) if p.id == policy_id), None)
        if chosen is None:
            raise NotFound("policy", policy_id)
        check_book_fits(session, chosen.policy)
        stored = activate_policy(session, chosen.policy.name, chosen.policy.version)
        _record(session, identity, "activate_policy", stored, "in force")
    return _out(stored)


def _parsed(text: str) -> Policy:
    """The policy the text publishes; 422 naming where the TOML or each field is wrong."""
    try:
        return parse_policy(text)
    except tomllib.TOMLDecodeError as bad:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": f"not TOML: {bad}", "type": "toml_invalid"}]
        ) from bad


def _record(
    session: Session, identity: KeyIdentity, action: str, stored: StoredPolicy, what: str
) -> None:
    record_change(
        session,
        identity,
        action,
        {"toml": stored.toml},
        {"policy": stored.label, "active": stored.active},
        f"policy {stored.label} {what}",
    )


def _out(stored: StoredPolicy) -> PolicyOut:
    return PolicyOut(
        id=stored.id,
        name=stored.policy.name,
        version=stored.policy.version,
        label=stored.label,
        active=stored.active,
        toml=stored.toml,
    )
