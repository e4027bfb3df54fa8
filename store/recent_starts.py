"""Care that started recently: people a rebalance must not move (a new carer team twice in a
fortnight is the disruption the move budget exists to prevent)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.tables import OfferRow, OfferState


def started_since(session: Session, since: datetime) -> set[str]:
    """Packages whose care started (their offer moved to `started`) at or after `since` and
    is still going (a hand-back ends it)."""
    query = select(OfferRow.package_id).where(
        OfferRow.state == OfferState.STARTED, OfferRow.updated_at >= since
    )
    return set(session.scalars(query))
