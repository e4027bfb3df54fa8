"""Engines, sessions, the one kind of transaction that may change the book, and a consistent read.

Two brokers racing for a provider's last morning minutes must never both win, whether they run
in two threads, two processes or two servers. A write transaction therefore takes the write lock
before it reads anything it will decide on: on SQLite `BEGIN IMMEDIATE` (the whole file; other
writers wait, readers carry on thanks to WAL), on PostgreSQL `SELECT ... FOR UPDATE` on the rows
the decision depends on (`lock_rows`), inside an ordinary transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

DEFAULT_URL = "sqlite:///allocator.db"
"""A file beside where the command runs: nothing to set up."""
URL_ENV = "ALLOCATOR_DATABASE_URL"
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another to finish before giving up."""

_SQLITE_BEGIN = "allocator_sqlite_begin"
"""Execution option naming the BEGIN statement our SQLite begin hook emits."""


def url_from_env() -> str:
    """`$ALLOCATOR_DATABASE_URL`, else the default SQLite file."""
    return os.environ.get(URL_ENV) or DEFAULT_URL


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def safe_url(url: str | URL) -> str:
    """The URL with any password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str | URL) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL, a busy timeout and our own BEGIN."""
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite issues BEGIN only before INSERT/UPDATE/DELETE, so reads would sit outside the
    # transaction and BEGIN IMMEDIATE could not be asked for: switch its handling off and emit
    # BEGIN ourselves (SQLAlchemy's documented pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    connection.exec_driver_sql(connection.get_execution_options().get(_SQLITE_BEGIN, "BEGIN"))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (results are returned after it)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A new session in a transaction that serialises writers; commits, or rolls back on error.

    On SQLite the transaction starts with `BEGIN IMMEDIATE`, so it holds the write lock from its
    first statement. On PostgreSQL call `lock_rows` on the rows a decision depends on before
    reading them.
    """
    with session_factory() as session, session.begin():
        session.connection(execution_options={_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
        yield session


@contextmanager
def snapshot(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A new session in a read transaction whose every statement sees the same committed book,
    so a version read in it matches the rows read after it.

    SQLite (WAL) keeps a reader's snapshot for its whole transaction; PostgreSQL does so only
    from REPEATABLE READ (by default each statement sees what has committed by then).
    """
    with session_factory() as session, session.begin():
        if session.get_bind().dialect.name != "sqlite":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def lock_rows(session: Session, key: InstrumentedAttribute[Any], keys: Iterable[Any]) -> None:
    """Lock the rows whose `key` is in `keys` until the transaction ends.

    PostgreSQL: `SELECT ... FOR UPDATE`, in key order so that two writers never deadlock. SQLite
    has no row locks and needs none inside `write_transaction`: the statement is a plain SELECT.
    """
    ordered = sorted(set(keys))
    if ordered:
        session.execute(select(key).where(key.in_(ordered)).order_by(key).with_for_update())
