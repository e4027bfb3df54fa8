"""Offers of a placed package to another provider (a move, perhaps proposed by a rebalance job),
and offers that ended because their package moved away.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "'offered', 'accepted', 'declined', 'withdrawn', 'started', 'handed_back'"


def upgrade() -> None:
    # Batch mode: SQLite alters constraints by copying the table, PostgreSQL in place.
    with op.batch_alter_table("offers") as offers:
        offers.add_column(
            sa.Column("kind", sa.String(16), server_default="placement", nullable=False)
        )
        offers.add_column(sa.Column("from_provider_id", sa.String(64), nullable=True))
        offers.add_column(sa.Column("job_id", sa.String(32), nullable=True))
        offers.add_column(sa.Column("proposal", sa.Text(), nullable=True))
        offers.create_foreign_key(
            "fk_offers_from_provider_id_providers", "providers", ["from_provider_id"], ["id"]
        )
        offers.create_foreign_key("fk_offers_job_id_jobs", "jobs", ["job_id"], ["id"])
        offers.drop_constraint(op.f("ck_offers_state"), type_="check")
        offers.create_check_constraint(op.f("ck_offers_state"), f"state IN ({STATES}, 'moved')")
        offers.create_check_constraint(op.f("ck_offers_kind"), "kind IN ('placement', 'move')")
        offers.create_check_constraint(
            op.f("ck_offers_move_has_from_provider"),
            "(kind = 'move') = (from_provider_id IS NOT NULL)",
        )


def downgrade() -> None:
    # A move leaves an ordinary placement behind; an offer that ended by a move ended as if
    # handed back.
    op.execute("UPDATE offers SET state = 'handed_back' WHERE state = 'moved'")
    with op.batch_alter_table("offers") as offers:
        offers.drop_constraint(op.f("ck_offers_move_has_from_provider"), type_="check")
        offers.drop_constraint(op.f("ck_offers_kind"), type_="check")
        offers.drop_constraint(op.f("ck_offers_state"), type_="check")
        offers.create_check_constraint(op.f("ck_offers_state"), f"state IN ({STATES})")
        offers.drop_constraint("fk_offers_job_id_jobs", type_="foreignkey")
        offers.drop_constraint("fk_offers_from_provider_id_providers", type_="foreignkey")
        for column in ("proposal", "job_id", "from_provider_id", "kind"):
            offers.drop_column(column)
