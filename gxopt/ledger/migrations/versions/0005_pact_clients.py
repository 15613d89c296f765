"""Buyers' systems that fetch their footprints over the PACT host API (issue #13): one client per customer of
the order book, its secret stored only as a salted argon2 hash, and the URL its requests may be answered at;
and ``pact_outbox``, the answers to their requests until sent or given up (v2.3 §6.8, v3.0 "Action Events").

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
    """Create pact_clients and pact_outbox."""
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
    op.create_table(
        "pact_outbox",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("due_at", sa.String(length=40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.String(length=40), nullable=True),
        sa.CheckConstraint("status in ('pending','sent','gave_up')", name="ck_pact_outbox_status"),
        sa.CheckConstraint("attempts >= 0", name="ck_pact_outbox_attempts"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_pact_outbox_due", "pact_outbox", ["status", "due_at"])


def downgrade() -> None:
    """Drop pact_outbox and pact_clients."""
    op.drop_index("ix_pact_outbox_due", table_name="pact_outbox")
    op.drop_table("pact_outbox")
    op.drop_table("pact_clients")
