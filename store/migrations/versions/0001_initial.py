"""The book: policies, providers, packages, offers, audit trail, jobs, API keys, book state.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
APPEND_ONLY = "audit_events is append-only"


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("toml", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policies"),
        sa.UniqueConstraint("name", "version", name="uq_policies_name_version"),
    )
    op.create_index(
        "uq_policies_one_active",
        "policies",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("record", JSON, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_providers"),
    )
    op.create_table(
        "packages",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("zone", sa.String(100), nullable=False),
        sa.Column("urgency", sa.String(32), nullable=False),
        sa.Column("referral_date", sa.Date(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=True),
        *(
            sa.Column(f"{band}_minutes", sa.Integer(), nullable=False)
            for band in ("morning", "lunch", "tea", "bed", "night")
        ),
        sa.Column("record", JSON, nullable=False),
        sa.Column("waiting_since", sa.Date(), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_packages"),
        sa.CheckConstraint(
            "state IN ('waiting', 'offered', 'placed')", name=op.f("ck_packages_state")
        ),
        sa.CheckConstraint(
            "(state = 'placed') = (provider_id IS NOT NULL)",
            name=op.f("ck_packages_placed_has_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name="fk_packages_provider_id_providers"
        ),
    )
    op.create_index("ix_packages_provider_id", "packages", ["provider_id"])
    op.create_index("ix_packages_state", "packages", ["state"])
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.String(64), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
        sa.CheckConstraint(
            "state IN ('offered', 'accepted', 'declined', 'withdrawn', 'started', 'handed_back')",
            name=op.f("ck_offers_state"),
        ),
        sa.ForeignKeyConstraint(
            ["package_id"], ["packages.id"], name="fk_offers_package_id_packages"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name="fk_offers_provider_id_providers"
        ),
    )
    op.create_index("ix_offers_package_id", "offers", ["package_id"])
    op.create_index("ix_offers_provider_id_state", "offers", ["provider_id", "state"])
    op.create_index(
        "uq_offers_one_open_per_package",
        "offers",
        ["package_id"],
        unique=True,
        sqlite_where=sa.text("state = 'offered'"),
        postgresql_where=sa.text("state = 'offered'"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("package_id", sa.String(64), nullable=True),
        sa.Column("inputs_hash", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(320), nullable=True),
        sa.Column("result", JSON, nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_package_id", "audit_events", ["package_id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'succeeded', 'failed')", name=op.f("ck_jobs_state")
        ),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name=op.f("ck_jobs_progress")),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        sa.CheckConstraint(
            "role IN ('broker', 'commissioner', 'admin', 'provider')", name=op.f("ck_api_keys_role")
        ),
        sa.CheckConstraint(
            "(role = 'provider') = (provider_id IS NOT NULL)",
            name=op.f("ck_api_keys_provider_role_names_provider"),
        ),
    )
    book_state = op.create_table(
        "book_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_book_state"),
        sa.CheckConstraint("id = 1", name=op.f("ck_book_state_single_row")),
    )
    op.bulk_insert(book_state, [{"id": 1, "version": 0}])
    _audit_append_only()


def _audit_append_only() -> None:
    """Refuse UPDATE and DELETE (and on PostgreSQL TRUNCATE) of the audit trail."""
    if op.get_context().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb} BEFORE {verb.upper()} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    for table in (
        "book_state",
        "api_keys",
        "jobs",
        "audit_events",
        "offers",
        "packages",
        "providers",
        "policies",
    ):
        op.drop_table(table)  # a table's triggers go with it
    if op.get_context().dialect.name != "sqlite":
        op.execute("DROP FUNCTION audit_events_append_only()")
