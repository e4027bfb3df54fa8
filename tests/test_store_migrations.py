"""The schema: migrations run up from an empty database and build exactly `store.tables`; the
audit trail refuses changes; SQLite is set up for concurrent brokers; the core stays unaware."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DatabaseError
from test_store_support import any_book, fill, package, provider, sqlite_book

from store import audit
from store.book_state import book_version, bump_version
from store.database import write_transaction
from store.migrate import alembic_config, current_revision, head_revision, upgrade
from store.offers import accept_offer, list_offers, make_move_offer, make_offer
from store.providers import update_provider
from store.tables import AuditEventRow, Base, OfferKind

TABLES = {
    "policies",
    "providers",
    "packages",
    "offers",
    "audit_events",
    "jobs",
    "api_keys",
    "book_state",
}


@pytest.fixture(params=["sqlite", "postgres"])
def book(request: pytest.FixtureRequest, tmp_path: Path):
    with any_book(request.param, tmp_path) as book:
        yield book


def test_upgrade_from_empty_creates_every_table_at_head(book) -> None:
    assert set(inspect(book.engine).get_table_names()) >= TABLES
    assert current_revision(book.url) == head_revision() == "0003"
    with book.sessions() as session:
        assert book_version(session) == 0
    upgrade(book.url)  # a second run has nothing to do
    assert current_revision(book.url) == "0003"


def test_migration_builds_what_the_models_declare(book) -> None:
    with book.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_rows_held_before_0002_count_as_changed_in_the_version_it_finds(book) -> None:
    fill(book, [provider("P1"), provider("P2")], [package("K1", current_provider="P1")])
    with write_transaction(book.sessions) as session:
        update_provider(session, "P2", {"status": "embargoed"})  # P2 changed after the rest
        version = book_version(session)
    command.downgrade(alembic_config(book.url), "0001")
    assert "changed_in" not in {c["name"] for c in inspect(book.engine).get_columns("packages")}
    upgrade(book.url)
    with book.engine.connect() as connection:
        stamps = connection.scalars(
            text("SELECT changed_in FROM providers UNION SELECT changed_in FROM packages")
        )
        assert set(stamps) == {version}
        state = connection.execute(text("SELECT version, whole_book_changed_in FROM book_state"))
        assert tuple(state.one()) == (version, version)


def test_offers_held_before_0003_are_placements_and_a_move_goes_back_as_a_hand_back(
    book,
) -> None:
    fill(book, [provider("P1"), provider("P2")], [package("K1")])
    placing = make_offer(book.sessions, "K1", "P1", "alice", "broker")
    accept_offer(book.sessions, placing.id, "desk", "provider")
    moving = make_move_offer(book.sessions, "K1", "P2", "alice", "broker")
    accept_offer(book.sessions, moving.id, "desk", "provider")
    command.downgrade(alembic_config(book.url), "0002")
    with book.engine.connect() as connection:
        states = connection.execute(text("SELECT id, state FROM offers ORDER BY id")).all()
    assert [tuple(row) for row in states] == [(placing.id, "handed_back"), (moving.id, "accepted")]
    upgrade(book.url)
    with book.sessions() as session:
        kinds = [(o.kind, o.from_provider_id) for o in list_offers(session)]
    assert kinds == [(OfferKind.PLACEMENT, None)] * 2


def test_audit_events_refuse_update_and_delete(book) -> None:
    with write_transaction(book.sessions) as session:
        audit.record(session, actor="alice", role="broker", action="note", inputs_hash="0" * 64)
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DatabaseError, match="append-only"), book.engine.begin() as connection:
            connection.execute(text(statement))
    with book.sessions() as session:
        assert session.scalars(select(AuditEventRow.actor)).all() == ["alice"]


def test_book_version_counts_changes_and_a_rolled_back_change_does_not_count(book) -> None:
    with write_transaction(book.sessions) as session:
        assert bump_version(session) == 1
    with pytest.raises(RuntimeError), write_transaction(book.sessions) as session:
        bump_version(session)
        raise RuntimeError("the change fails")
    with book.sessions() as session:
        assert book_version(session) == 1


def test_sqlite_connections_enforce_foreign_keys_in_wal_mode(tmp_path: Path) -> None:
    with sqlite_book(tmp_path) as book, book.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_the_core_never_imports_the_store() -> None:
    core = Path(__file__).resolve().parents[1] / "allocator"
    modules = sorted(
        ".".join(("allocator", *path.relative_to(core).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for path in core.rglob("*.py")
        if "cli" not in path.relative_to(core).parts
    )
    probe = (
        f"import importlib, sys\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'store', 'sqlalchemy'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
