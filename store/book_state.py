"""The book's version: one number that moves with every change a solve would see.

A copy of the book (the service's `api.book_cache`) catches up with a newer version by reading
only the provider and package rows stamped since its own (`changed_in`); a change that names no
rows (an import replacing the book, a policy switch) makes every copy read the book again whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.tables import BookStateRow, PackageRow, ProviderRow


@dataclass(frozen=True)
class BookState:
    version: int
    whole_book_changed_in: int
    """The last version whose change named no rows; a copy older than it is read again whole."""


def book_version(session: Session) -> int:
    """The version of the book as this session sees it."""
    return int(session.scalar(select(BookStateRow.version).where(BookStateRow.id == 1)) or 0)


def book_state(session: Session) -> BookState:
    row = session.execute(
        select(BookStateRow.version, BookStateRow.whole_book_changed_in).where(BookStateRow.id == 1)
    ).one()
    return BookState(row.version, row.whole_book_changed_in)


def bump_version(session: Session, *changed: ProviderRow | PackageRow) -> int:
    """Count one change to providers, packages, placements or policy; return the new version.

    `changed` are the rows the change touched (an offer's change is its package's), stamped with
    the new version; a change that names none counts as a change to the whole book. On
    PostgreSQL the update also locks the row until commit, so versions are never shared and
    commit in order.
    """
    bumped = {"version": BookStateRow.version + 1}
    if not changed:
        bumped["whole_book_changed_in"] = BookStateRow.version + 1
    session.execute(update(BookStateRow).where(BookStateRow.id == 1).values(bumped))
    version = book_version(session)
    for row in changed:
        row.changed_in = version
    session.flush()
    return version
