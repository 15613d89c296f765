"""Helpers for ledger tests: fresh databases on SQLite and (when GXOPT_TEST_PG_URL is set) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("GXOPT_TEST_PG_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def fresh_db(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database; drop it afterwards (PostgreSQL)."""
    if backend == "sqlite":
        from gxopt.ledger.db import dispose_all

        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        dispose_all()
        return
    assert PG_URL
    name = f"gxopt_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from gxopt.ledger.db import dispose_all

        dispose_all()
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh ledger database URL per test, once per available backend."""
    yield from fresh_db(request.param, tmp_path)


def batched(root: Path, scenario: Path) -> str:
    """A fresh SQLite ledger in ``root`` after one batch of ``scenario``; its URL."""
    from gxopt.ledger.batch import batch

    url = f"sqlite:///{root / 'gx.db'}"
    batch(scenario, url)
    return url
