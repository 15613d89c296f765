"""Alembic environment: runs migrations on the connection gxopt hands over (or on sqlalchemy.url)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from gxopt.ledger.tables import metadata

config = context.config
target_metadata = metadata

connection = config.attributes.get("connection")
if connection is None:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
