"""Keys to the service: each names a role (and, for a provider's key, which provider).

Only the SHA-256 of a key is stored; the key itself is shown once, when it is made. A key is
32 random bytes, so a plain hash is enough (nothing to guess, unlike a password).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import NotFound, Refused
from store.tables import ApiKeyRow, ProviderRow, Role


@dataclass(frozen=True)
class KeyIdentity:
    """Who a key speaks for."""

    key_id: int
    role: Role
    provider_id: str | None
    label: str


@dataclass(frozen=True)
class KeyInfo:
    key_id: int
    role: Role
    provider_id: str | None
    label: str
    created_at: datetime
    revoked: bool


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    session: Session, role: Role | str, label: str, provider_id: str | None = None
) -> str:
    """Make a key and return it (the only time it is seen). A provider's key names a provider
    in the book; no other role's key may."""
    role = Role(role)
    if (role is Role.PROVIDER) != (provider_id is not None):
        raise Refused("a provider key needs --provider; other roles take none")
    if provider_id is not None and session.get(ProviderRow, provider_id) is None:
        raise NotFound("provider", provider_id)
    key = secrets.token_urlsafe(32)
    session.add(ApiKeyRow(key_hash=key_hash(key), role=role, provider_id=provider_id, label=label))
    session.flush()
    return key


def role_for_key(session: Session, key: str) -> KeyIdentity | None:
    """Who the key speaks for; None if it is unknown or revoked."""
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash(key)))
    if row is None or row.revoked:
        return None
    return KeyIdentity(row.id, Role(row.role), row.provider_id, row.label)


def revoke_key(session: Session, key_id: int) -> None:
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound("api key", key_id)
    row.revoked = True
    session.flush()


def list_keys(session: Session) -> list[KeyInfo]:
    rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))
    return [
        KeyInfo(r.id, Role(r.role), r.provider_id, r.label, r.created_at, r.revoked) for r in rows
    ]
