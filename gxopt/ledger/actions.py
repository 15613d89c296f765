"""Who did what: one row per write made through the service or the users command (the REPs themselves move only
by journal entries)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gxopt.ledger.canonical import canonical
from gxopt.ledger.db import now
from gxopt.ledger.tables import actions


def record(conn: sa.Connection, user: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
    """Append one action in the caller's transaction (so it commits with the change it describes)."""
    conn.execute(sa.insert(actions).values(at=now(), user_name=user, action=action, target=target,
                                           detail=canonical(detail)))


def listing(conn: sa.Connection, limit: int = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` actions, newest first."""
    q = sa.select(actions).order_by(actions.c.seq.desc()).limit(limit)
    return [dict(r) for r in conn.execute(q).mappings()]
