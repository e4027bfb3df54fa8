"""Each provider and package row records the book version that last changed it, and the book
state the last version that changed the whole book, so a copy of the book catches up row by row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMPED = ("providers", "packages")
CURRENT_VERSION = "(SELECT version FROM book_state WHERE id = 1)"


def upgrade() -> None:
    # Rows already held count as changed in the current version, and so does the whole book: a
    # copy made before the upgrade is read again whole.
    for table in STAMPED:
        op.add_column(table, _version_column("changed_in"))
        op.execute(f"UPDATE {table} SET changed_in = {CURRENT_VERSION}")
        op.create_index(f"ix_{table}_changed_in", table, ["changed_in"])
    op.add_column("book_state", _version_column("whole_book_changed_in"))
    op.execute("UPDATE book_state SET whole_book_changed_in = version")


def _version_column(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def downgrade() -> None:
    op.drop_column("book_state", "whole_book_changed_in")
    for table in STAMPED:
        op.drop_index(f"ix_{table}_changed_in", table)
        op.drop_column(table, "changed_in")
