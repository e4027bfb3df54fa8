"""The audit trail by package: every decision about it, oldest first, for the people who answer
for them (brokers, commissioners, admins; not providers)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth import Reader
from api.schema import KEYED, documented
from store.audit import AuditEvent, events_for_package
from store.errors import NotFound
from store.tables import PackageRow

router = APIRouter(prefix="/audit", tags=["audit"], responses=KEYED)


@router.get("/packages/{package_id}", responses=documented(404))
def package_trail(package_id: str, request: Request, _identity: Reader) -> list[AuditEvent]:
    """Who did what to the package, when, under which policy, with what result and why. The
    trail outlives the package (a book replaced by an import keeps it); 404 only for an id the
    book and the trail have never held."""
    with request.app.state.sessions() as session:
        events = events_for_package(session, package_id)
        if not events and session.get(PackageRow, package_id) is None:
            raise NotFound("package", package_id)
    return events
