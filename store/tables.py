"""The book's tables, as typed SQLAlchemy models.

Each provider and package is stored as the core's own record (`model_dump(mode="json")`) beside
the few columns that queries, joins and locks need: state, placement and, for packages, weekly
carer minutes per band, so a provider's free capacity is one SQL sum. The placement column
(`packages.provider_id`) is the authority; the record's `current_provider` is kept equal to it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from allocator.model import BANDS


class PackageState(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    """Offered to a provider that has not answered yet; the offer holds the capacity."""
    PLACED = "placed"


class OfferState(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    STARTED = "started"
    HANDED_BACK = "handed_back"
    MOVED = "moved"
    """The package left this provider for another, whose move offer it accepted."""


class OfferKind(StrEnum):
    PLACEMENT = "placement"
    """Of a waiting package."""
    MOVE = "move"
    """Of a placed package to another provider, while its care continues where it is."""


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Role(StrEnum):
    BROKER = "broker"
    COMMISSIONER = "commissioner"
    ADMIN = "admin"
    PROVIDER = "provider"


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant. SQLite keeps no time zone: stored there as naive UTC, read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a stored time needs a time zone, got {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names fixed by rule, so migrations can name what they alter on every database."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON_DOCUMENT}


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class PolicyRow(Base):
    """A published allocation rule, kept as the exact text the council signed off."""

    __tablename__ = "policies"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        # At most one active row; the code that activates one deactivates the others first.
        Index(
            "uq_policies_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    toml: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ProviderRow(Base):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    record: Mapped[dict[str, Any]]
    """`Provider.model_dump(mode="json")`."""
    changed_in: Mapped[int] = mapped_column(server_default=text("0"), index=True)
    """The book version that last changed the row (`store.book_state.bump_version`)."""
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class PackageRow(Base):
    __tablename__ = "packages"
    __table_args__ = (
        CheckConstraint(_one_of("state", PackageState), name="state"),
        CheckConstraint(
            "(state = 'placed') = (provider_id IS NOT NULL)", name="placed_has_provider"
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone: Mapped[str] = mapped_column(String(100))
    urgency: Mapped[str] = mapped_column(String(32))
    referral_date: Mapped[date]
    pinned: Mapped[bool]
    state: Mapped[str] = mapped_column(String(16), index=True)
    provider_id: Mapped[str | None] = mapped_column(ForeignKey("providers.id"), index=True)
    """The current placement: the authority for the record's `current_provider`."""
    morning_minutes: Mapped[int]
    lunch_minutes: Mapped[int]
    tea_minutes: Mapped[int]
    bed_minutes: Mapped[int]
    night_minutes: Mapped[int]
    record: Mapped[dict[str, Any]]
    """`CarePackage.model_dump(mode="json")`."""
    waiting_since: Mapped[date | None]
    """While waiting or offered: since when (the referral, or the day it was handed back)."""
    changed_in: Mapped[int] = mapped_column(server_default=text("0"), index=True)
    """The book version that last changed the row or its offers (`bump_version`)."""
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


BAND_COLUMNS = {band: getattr(PackageRow, f"{band.value}_minutes") for band in BANDS}
"""Each band's weekly carer minutes column of `packages`, for sums in SQL."""


class OfferRow(Base):
    """One offer of a package to a provider and where it went; never deleted while the book
    lives, so declines keep the pair apart and hand-backs keep their history."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(_one_of("state", OfferState), name="state"),
        CheckConstraint(_one_of("kind", OfferKind), name="kind"),
        CheckConstraint(
            "(kind = 'move') = (from_provider_id IS NOT NULL)", name="move_has_from_provider"
        ),
        Index("ix_offers_provider_id_state", "provider_id", "state"),
        # A package is offered to one provider at a time, whatever the locks do.
        Index(
            "uq_offers_one_open_per_package",
            "package_id",
            unique=True,
            sqlite_where=text("state = 'offered'"),
            postgresql_where=text("state = 'offered'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[str] = mapped_column(ForeignKey("packages.id"), index=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(
        String(16), default=OfferKind.PLACEMENT, server_default=OfferKind.PLACEMENT.value
    )
    from_provider_id: Mapped[str | None] = mapped_column(ForeignKey("providers.id"))
    """A move's provider the package is placed with while the offer is open."""
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    """The rebalance job that proposed a move, if one did."""
    proposal: Mapped[str | None] = mapped_column(Text)
    """What that job said the move frees and gains."""
    actor: Mapped[str] = mapped_column(String(200))
    """Who made the offer; who took each later step is in the audit trail."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class AuditEventRow(Base):
    """Who did what to the book, when, under which policy: append-only (the migration adds
    triggers that refuse UPDATE and DELETE)."""

    __tablename__ = "audit_events"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    package_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """Not a foreign key: the trail outlives the package (a book replaced by an import)."""
    inputs_hash: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str | None] = mapped_column(String(320))
    result: Mapped[dict[str, Any]]
    explanation: Mapped[str] = mapped_column(Text, default="")


class JobRow(Base):
    """Long work (a nightly rebalance, a what-if study) run outside the request that asked."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_one_of("state", JobState), name="state"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ApiKeyRow(Base):
    """A key to the service: only its SHA-256 is kept, so a leaked table opens nothing."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(_one_of("role", Role), name="role"),
        CheckConstraint(
            "(role = 'provider') = (provider_id IS NOT NULL)", name="provider_role_names_provider"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    """Not a foreign key: a key outlives a book replaced by an import; the service checks it."""
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked: Mapped[bool] = mapped_column(default=False)


class BookStateRow(Base):
    """One row whose `version` grows with every change to providers, packages, placements or
    policy, so a service process can tell cheaply whether its copy of the book is stale, and
    whether it can catch up row by row (the rows' `changed_in`) or must read the book again."""

    __tablename__ = "book_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1, autoincrement=False)
    version: Mapped[int] = mapped_column(default=0)
    whole_book_changed_in: Mapped[int] = mapped_column(server_default=text("0"))
    """The last version whose change named no rows (an import, a policy switch): a copy of the
    book older than it must be read again whole."""
