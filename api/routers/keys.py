"""API keys, managed by an admin: issue one (shown once, only its hash is kept), list, revoke.

A revoked key stops working within the service's key cache time (`key_cache_s`).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from pydantic import Field, model_validator

from api.audit_trail import record_change
from api.auth import Admin
from api.schema import KEYED, Answer, BookId, RequestBody, RowId, documented
from store.api_keys import create_key, list_keys, revoke_key, role_for_key
from store.database import write_transaction
from store.errors import Conflict
from store.tables import Role

router = APIRouter(prefix="/keys", tags=["keys"], responses=KEYED)


class NewKey(RequestBody):
    role: Role
    label: str = Field(min_length=1, max_length=200)
    """Whose key it is, e.g. a broker's name: every decision made with it cites this."""
    provider_id: BookId | None = None
    """The provider a `provider` key speaks for; no other role takes one."""

    @model_validator(mode="after")
    def _provider_for_provider_keys(self) -> NewKey:
        if (self.role is Role.PROVIDER) != (self.provider_id is not None):
            raise ValueError("a provider key names its provider_id; no other role's key does")
        return self


class IssuedKey(Answer):
    key: str
    """The key itself: shown this once, never stored."""
    key_id: int
    role: Role
    provider_id: str | None
    label: str


class KeyOut(Answer):
    key_id: int
    role: Role
    provider_id: str | None
    label: str
    created_at: datetime
    revoked: bool


@router.get("")
def list_all(request: Request, _identity: Admin) -> list[KeyOut]:
    with request.app.state.sessions() as session:
        return [KeyOut.model_validate(info, from_attributes=True) for info in list_keys(session)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(404))
def issue(body: NewKey, request: Request, identity: Admin) -> IssuedKey:
    """Issue a key for a role (404 if a provider key names a provider the book lacks)."""
    with write_transaction(request.app.state.sessions) as session:
        key = create_key(session, body.role, body.label, body.provider_id)
        key_id = role_for_key(session, key).key_id
        record_change(
            session,
            identity,
            "create_key",
            {"key": body},
            {"key_id": key_id},
            f"{body.role.value} key {key_id} issued for {body.label}",
        )
    return IssuedKey(key=key, key_id=key_id, **body.model_dump())


@router.delete("/{key_id}", responses=documented(404, 409))
def revoke(key_id: RowId, request: Request, identity: Admin) -> KeyOut:
    """Revoke a key for good (not the one making this request: 409)."""
    if key_id == identity.key_id:
        raise Conflict("a key cannot revoke itself; use another admin key")
    with write_transaction(request.app.state.sessions) as session:
        revoke_key(session, key_id)
        record_change(
            session, identity, "revoke_key", {"key_id": key_id}, {}, f"key {key_id} revoked"
        )
        (info,) = [k for k in list_keys(session) if k.key_id == key_id]
    return KeyOut.model_validate(info, from_attributes=True)
