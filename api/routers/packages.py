"""Care packages: listed and read by anyone with a key, created and changed by brokers.

A provider's key sees only the packages placed with it or offered to it now, and in them nothing
about other providers (not whom the person excluded, nor a preference for someone else). Where a
package is placed moves only through offers and hand-backs (`api.routers.offers`).
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Query, Request, status

from allocator.model import CarePackage
from api.audit_trail import record_change
from api.auth import Broker, Caller, provider_scope
from api.record_models import changes_of, record_changes, record_without
from api.schema import KEYED, LARGEST_INTEGER, Answer, documented
from store.api_keys import KeyIdentity
from store.database import write_transaction
from store.errors import NotFound
from store.package_queries import is_visible_to, search_packages
from store.packages import create_package, get_package, update_package
from store.records import BookPackage
from store.tables import PackageState

router = APIRouter(prefix="/packages", tags=["packages"], responses=KEYED)

PLACEMENT = ("current_provider", "pinned")
"""Set only through offers: a package is created waiting."""

NewPackage = record_without(
    CarePackage,
    "NewPackage",
    leave_out=PLACEMENT,
    doc="A package referred for care; it waits from its referral date until placed by an offer.",
)
PackageChanges = record_changes(
    CarePackage,
    "PackageChanges",
    fixed=("id", *PLACEMENT),
    doc="Fields of a package to change (after a review, a new exclusion, ...); absent fields "
    "stay as they are.",
)


class BookPackageOut(Answer):
    """A package as the book holds it: the person's needs and where brokerage stands."""

    package: CarePackage
    """Its `current_provider` is where it is placed."""
    state: PackageState
    waiting_since: date | None
    """While waiting or offered: since its referral, or the day it was handed back."""
    updated_at: datetime


@router.get("")
def list_all(
    request: Request,
    identity: Caller,
    state: PackageState | None = None,
    zone: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=LARGEST_INTEGER),
) -> list[BookPackageOut]:
    """Packages by id, a page at a time, optionally in one state or zone."""
    own = provider_scope(identity)
    with request.app.state.sessions() as session:
        found = search_packages(
            session, state=state, zone=zone, visible_to=own, limit=limit, offset=offset
        )
    return [shown_to(identity, package) for package in found]


@router.get("/{package_id}", responses=documented(404))
def get_one(package_id: str, request: Request, identity: Caller) -> BookPackageOut:
    """One package; a provider's key sees it only while it is placed with or offered to it."""
    own = provider_scope(identity)
    with request.app.state.sessions() as session:
        if own is not None and not is_visible_to(session, package_id, own):
            raise NotFound("package", package_id)
        return shown_to(identity, get_package(session, package_id))


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(409))
def create(body: NewPackage, request: Request, identity: Broker) -> BookPackageOut:
    """Add a referral to the waiting list (409 if its id is taken; 422 when it does not fit the
    policy or the book, e.g. an unknown zone, postcode or provider)."""
    record = body.model_dump(mode="json")
    with write_transaction(request.app.state.sessions) as session:
        package = create_package(session, record)
        record_change(
            session,
            identity,
            "create_package",
            {"package": record},
            {"package": package.package, "state": package.state},
            f"referred: {package.package.carer_minutes_per_week / 60:.2f} carer hours a week "
            f"in {package.package.zone}, waiting since {package.waiting_since}",
            package_id=package.id,
        )
    return shown_to(identity, package)


@router.patch("/{package_id}", responses=documented(404))
def update(
    package_id: str, body: PackageChanges, request: Request, identity: Broker
) -> BookPackageOut:
    """Change a package's record: what is given replaces what was there."""
    changes = changes_of(body)
    with write_transaction(request.app.state.sessions) as session:
        package = update_package(session, package_id, changes)
        record_change(
            session,
            identity,
            "update_package",
            {"package_id": package_id, "changes": changes},
            {"package": package.package, "state": package.state},
            f"changed: {', '.join(sorted(changes))}",
            package_id=package_id,
        )
    return shown_to(identity, package)


def shown_to(identity: KeyIdentity, held: BookPackage) -> BookPackageOut:
    """The package as this key may see it: a provider sees no other provider's name in it."""
    package = held.package
    own = provider_scope(identity)
    if own is not None:
        package = package.model_copy(
            update={
                "excluded_providers": (),
                "preferred_provider": own if package.preferred_provider == own else None,
                # Offered a move, it is placed with another provider for now.
                "current_provider": own if package.current_provider == own else None,
            }
        )
    return BookPackageOut(
        package=package,
        state=held.state,
        waiting_since=held.waiting_since,
        updated_at=held.updated_at,
    )
