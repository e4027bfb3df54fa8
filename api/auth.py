"""Who is calling: every endpoint but health and the docs needs a key, and each role may do only
its own work (broker: requests, offers and responses; commissioner: read and what-if; admin:
providers and policy; provider: its own offers and nothing else).

Keys are issued by the operator (`allocator db create-key`) and sent as `Authorization: Bearer
KEY` or `X-API-Key: KEY`. A checked key is trusted for a few seconds (`key_cache_s`) so that a
shortlist does not pay a database read for it; revoking a key takes effect within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from store.api_keys import KeyIdentity, key_hash, role_for_key
from store.tables import Role

_bearer = HTTPBearer(auto_error=False, description="An API key issued by the operator.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key.")


class KeyCheck:
    """Keys to identities, remembered for `ttl_s` seconds."""

    def __init__(self, session_factory: sessionmaker[Session], ttl_s: float) -> None:
        self._sessions = session_factory
        self._ttl_s = ttl_s
        self._known: dict[str, tuple[float, KeyIdentity | None]] = {}
        self._lock = threading.Lock()

    def identity(self, key: str) -> KeyIdentity | None:
        digest = key_hash(key)
        now = time.monotonic()
        with self._lock:
            cached = self._known.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self._sessions() as session:
            identity = role_for_key(session, key)
        with self._lock:
            self._known[digest] = (now + self._ttl_s, identity)
        return identity


def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> KeyIdentity:
    key = bearer.credentials if bearer is not None else header
    identity = request.app.state.keys.identity(key) if key else None
    if identity is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key is required (Authorization: Bearer KEY, or X-API-Key: KEY)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return identity


def allow(*roles: Role) -> Callable[[KeyIdentity], KeyIdentity]:
    """A dependency admitting only these roles (403 for the others)."""

    def check(identity: Annotated[KeyIdentity, Depends(caller)]) -> KeyIdentity:
        if identity.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs one of the roles {allowed}; this key's role is {identity.role}",
            )
        return identity

    return check


Caller = Annotated[KeyIdentity, Depends(caller)]
"""Any valid key (a provider's included): the endpoint narrows what it shows."""
Broker = Annotated[KeyIdentity, Depends(allow(Role.BROKER, Role.ADMIN))]
Reader = Annotated[KeyIdentity, Depends(allow(Role.BROKER, Role.COMMISSIONER, Role.ADMIN))]
Admin = Annotated[KeyIdentity, Depends(allow(Role.ADMIN))]
Planner = Annotated[KeyIdentity, Depends(allow(Role.COMMISSIONER, Role.ADMIN))]
"""Commissioners test the market with what-if studies."""
BrokerOrProvider = Annotated[KeyIdentity, Depends(allow(Role.BROKER, Role.ADMIN, Role.PROVIDER))]
"""Brokers record a provider's answer; a provider may give its own (the endpoint checks it is)."""


def provider_scope(identity: KeyIdentity) -> str | None:
    """The provider a key is confined to; None for the council's own keys, which see the book."""
    return identity.provider_id if identity.role is Role.PROVIDER else None
