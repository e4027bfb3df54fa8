"""Framework providers: read by anyone with a key (a provider sees only itself), changed by an
admin. An embargo, a lifted one or new capacity takes effect at once: the book's version moves,
so the next shortlist and the next offer see it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, status
from pydantic import Field
from sqlalchemy.orm import Session

from allocator.model import Band, Provider, ProviderStatus
from api.audit_trail import record_change
from api.auth import Admin, Caller, provider_scope
from api.record_models import changes_of, record_changes
from api.schema import KEYED, RequestBody, documented
from store.api_keys import KeyIdentity
from store.database import lock_rows, write_transaction
from store.errors import NotFound
from store.providers import create_provider, get_provider, list_providers, update_provider
from store.tables import ProviderRow

router = APIRouter(prefix="/providers", tags=["providers"], responses=KEYED)

ProviderChanges = record_changes(
    Provider,
    "ProviderChanges",
    fixed={"id"},
    doc="Fields of a provider to change; absent fields stay as they are.",
)


MOST_MINUTES = 10_000_000
"""Weekly carer minutes in one band no framework provider comes near (about 1,000 full-time
carers); more is a typing error, and would overflow the core's arrays."""


class StatusChange(RequestBody):
    status: ProviderStatus
    """`embargoed` stops new packages at once (existing care carries on); `active` lifts it."""
    reason: str | None = Field(default=None, max_length=2000)


class CapacityChange(RequestBody):
    capacity_minutes: dict[Band, Annotated[int, Field(ge=0, le=MOST_MINUTES)]] = Field(min_length=1)
    """Weekly carer minutes offered in each band named; bands not named keep their capacity."""
    reason: str | None = Field(default=None, max_length=2000)


@router.get("")
def list_all(request: Request, identity: Caller) -> list[Provider]:
    """Every provider, by id; a provider's key lists only itself."""
    own = provider_scope(identity)
    with request.app.state.sessions() as session:
        if own is not None:
            return [get_provider(session, own)]
        return list_providers(session)


@router.get("/{provider_id}", responses=documented(404))
def get_one(provider_id: str, request: Request, identity: Caller) -> Provider:
    """One provider; a provider's key sees no other (404)."""
    own = provider_scope(identity)
    if own is not None and own != provider_id:
        raise NotFound("provider", provider_id)
    with request.app.state.sessions() as session:
        return get_provider(session, provider_id)


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(409))
def create(body: Provider, request: Request, identity: Admin) -> Provider:
    """Add a provider to the framework (409 if its id is taken; 422 when it does not fit the
    policy in force, e.g. an unknown zone or specialism, or its postcode is unknown)."""
    with write_transaction(request.app.state.sessions) as session:
        provider = create_provider(session, body)
        record_change(
            session,
            identity,
            "create_provider",
            {"provider": body},
            {"provider": provider},
            f"provider {provider.id} ({provider.name}) added to the framework",
        )
    return provider


@router.patch("/{provider_id}", responses=documented(404))
def update(provider_id: str, body: ProviderChanges, request: Request, identity: Admin) -> Provider:
    """Change a provider's record: what is given replaces what was there."""
    changes = changes_of(body)
    with write_transaction(request.app.state.sessions) as session:
        what = f"changed: {', '.join(sorted(changes))}"
        return _changed(session, identity, provider_id, changes, "update_provider", what)


@router.put("/{provider_id}/status", responses=documented(404))
def set_status(provider_id: str, body: StatusChange, request: Request, identity: Admin) -> Provider:
    """Embargo a provider (no new packages from now on) or lift its embargo."""
    why = f": {body.reason}" if body.reason else ""
    with write_transaction(request.app.state.sessions) as session:
        return _changed(
            session,
            identity,
            provider_id,
            {"status": body.status.value},
            "set_provider_status",
            f"now {body.status.value}{why}",
        )


@router.patch("/{provider_id}/capacity", responses=documented(404))
def set_capacity(
    provider_id: str, body: CapacityChange, request: Request, identity: Admin
) -> Provider:
    """Change a provider's weekly capacity in the bands named."""
    named = ", ".join(f"{band.value} {mins:,}" for band, mins in body.capacity_minutes.items())
    why = f": {body.reason}" if body.reason else ""
    with write_transaction(request.app.state.sessions) as session:
        lock_rows(session, ProviderRow.id, [provider_id])
        capacity = {**get_provider(session, provider_id).capacity_minutes, **body.capacity_minutes}
        return _changed(
            session,
            identity,
            provider_id,
            {"capacity_minutes": {band.value: minutes for band, minutes in capacity.items()}},
            "set_provider_capacity",
            f"weekly carer minutes now {named}{why}",
        )


def _changed(
    session: Session,
    identity: KeyIdentity,
    provider_id: str,
    changes: dict[str, Any],
    action: str,
    what: str,
) -> Provider:
    provider = update_provider(session, provider_id, changes)
    record_change(
        session,
        identity,
        action,
        {"provider_id": provider_id, "changes": changes},
        {"provider": provider},
        f"provider {provider_id} {what}",
    )
    return provider
