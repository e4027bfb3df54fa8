"""The live book's KPIs for commissioners: placed and unmet hours by zone and band, the waiting
list with how long each person has waited, and each provider's utilisation by band."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request

from allocator.kpis import BookKpis, book_kpis
from api.auth import Reader
from api.schema import KEYED
from store.package_queries import waiting_since

router = APIRouter(tags=["kpis"], responses=KEYED)


@router.get("/kpis")
def kpis(request: Request, _identity: Reader) -> BookKpis:
    """The book as it stands now; offers not yet answered count as unmet (and are shown apart)."""
    view = request.app.state.books.view()
    with request.app.state.sessions() as session:
        since = waiting_since(session)
    return book_kpis(view.book, since, date.today())
