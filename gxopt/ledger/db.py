"""Connecting to the ledger database, migrating it, and the one writer lock every change goes through.

SQLite: each transaction starts with ``BEGIN IMMEDIATE`` (the write lock is taken at once, so a second
writer waits up to ``wait`` seconds, then stops with :class:`LedgerBusy`); foreign keys are on.
PostgreSQL: the writer lock is the row lock on ``ledger_lock``, taken with ``lock_timeout``.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import operator
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gxopt.errors import GxoptError
from gxopt.ledger.tables import ledger_lock

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class LedgerError(GxoptError):
    """A ledger rule refused the change (nothing was written)."""

    exit_code = 2
    headline = "refused"


class LedgerBusy(LedgerError):
    """Another writer holds the ledger lock and did not release it in time."""

    exit_code = 5
    headline = "ledger busy"


_ENGINES: dict[tuple[str, float], sa.Engine] = {}


def dispose_all() -> None:
    """Close every pooled connection of every engine this process opened."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


atexit.register(dispose_all)


def connect(url: str, wait: float = 60.0) -> sa.Engine:
    """Engine for ``url`` (``sqlite:///gx.db`` or ``postgresql+psycopg://...``), migrated to the newest schema.

    Engines are kept per (url, wait) for the life of the process, so their connection pools are reused.
    """
    key = (url, wait)
    if key not in _ENGINES:
        try:
            _ENGINES[key] = _create(url, wait)
        except LedgerBusy:
            raise
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            msg = f"--db {url!r} is not a database URL (e.g. sqlite:///gx.db or postgresql+psycopg://user@host/db): {exc}"
            raise LedgerError(msg) from None
        except sa.exc.OperationalError as exc:
            shown = sa.engine.make_url(url).render_as_string(hide_password=True)
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            msg = f"cannot open the ledger database {shown}: {first}"
            raise LedgerError(msg) from None
    return _ENGINES[key]


def _create(url: str, wait: float) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": wait})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # let the 'begin' hook below emit BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
            cur.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            write = conn.get_execution_options().get("gx_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    engine.info = {"wait": wait}  # type: ignore[attr-defined]
    upgrade(engine)
    return engine


def _alembic_config(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: sa.Engine) -> None:
    """Bring the database to the newest migration (no-op when it is there already)."""
    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()  # type: ignore[arg-type]
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    with _busy_errors(engine), engine.connect() as conn:
        conn.execution_options(gx_write=True)
        with conn.begin():
            command.upgrade(_alembic_config(conn), "head")


def now() -> str:
    """UTC timestamp as ISO text (what the journal stores)."""
    return stamp(dt.datetime.now(dt.UTC))


def stamp(at: dt.datetime) -> str:
    """``at`` (timezone-aware) as the ledger's timestamp text: UTC, ISO, microseconds, so text order is time order."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


@contextlib.contextmanager
def writer(engine: sa.Engine, holder: str) -> Iterator[sa.Connection]:
    """One write transaction holding the ledger lock; everything in it commits together or not at all."""
    wait = _wait(engine)
    with _busy_errors(engine), engine.connect() as conn:
        conn.execution_options(gx_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'")
            conn.execute(sa.update(ledger_lock).where(ledger_lock.c.id == 1)
                         .values(holder=f"{holder} pid {os.getpid()}", since=now()))
            yield conn


def _wait(engine: sa.Engine) -> float:
    return float(getattr(engine, "info", {}).get("wait", 60.0))


@contextlib.contextmanager
def _busy_errors(engine: sa.Engine) -> Iterator[None]:
    """Turn the database's lock-wait failures into :class:`LedgerBusy` with a plain message."""
    wait = _wait(engine)
    try:
        yield
    except sa.exc.OperationalError as exc:
        text = str(exc.orig).lower()
        if "locked" in text or "lock timeout" in text or "canceling statement" in text:
            msg = (f"the ledger is busy: another writer (e.g. a batch) held the lock for more than {wait:g} s; "
                   "nothing was written - try again when it has finished")
            raise LedgerBusy(msg) from None
        raise


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """Insert ``rows`` (all with the same keys) in the caller's transaction by the driver's bulk path.

    Values go through each column type's own bind processor (as SQLAlchemy would), then PostgreSQL takes
    them by ``COPY`` and SQLite by one ``executemany``: the rows of a large batch without building a
    statement's parameters per row.
    """
    if not rows:
        return
    cols = list(rows[0])
    procs = [(i, p) for i, c in enumerate(cols) if (p := table.c[c].type.bind_processor(conn.dialect)) is not None]
    take = operator.itemgetter(*cols)
    data = [take(r) for r in rows] if len(cols) > 1 else [(r[cols[0]],) for r in rows]
    if procs:
        data = [list(v) for v in data]
        for values in data:
            for i, p in procs:
                values[i] = p(values[i])
    names = ", ".join(cols)
    if conn.dialect.name == "postgresql":
        cur = conn.connection.driver_connection.cursor()  # the same connection, so the same transaction
        with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for values in data:
                copy.write_row(values)
        return
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(cols))})",
                         [tuple(v) for v in data] if procs else data)
