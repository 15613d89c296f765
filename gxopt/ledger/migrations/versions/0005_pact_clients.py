"""Buyers' systems that fetch their footprints over the PACT host API (issue #13): one client per customer of
the order book, its secret stored only as a salted argon2 hash, and the URL its requests may be answered at.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create pact_clients."""
    op.create_table(
        "pact_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("callback_url", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("client_id"),
    )


def downgrade() -> None:
    """Drop pact_clients."""
    op.drop_table("pact_clients")
