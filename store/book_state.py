"""The book's version: one number that moves with every change a solve would see."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.tables import BookStateRow


def book_version(session: Session) -> int:
    """The version of the book as this session sees it."""
    return int(session.scalar(select(BookStateRow.version).where(BookStateRow.id == 1)) or 0)


def bump_version(session: Session) -> int:
    """Count one change to providers, packages, placements or policy; return the new version.

    On PostgreSQL the update also locks the row until commit, so versions are never shared.
    """
    session.execute(
        update(BookStateRow).where(BookStateRow.id == 1).values(version=BookStateRow.version + 1)
    )
    return book_version(session)
