"""Quote reservations: holds and their pool lines.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create holds and hold_lines."""
    op.create_table(
        "holds",
        sa.Column("hold_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=True),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("tonnage_t", sa.Float(), nullable=False),
        sa.Column("reps_g", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.CheckConstraint("status in ('active','converted','lapsed','released')", name="ck_hold_status"),
        sa.CheckConstraint("reps_g > 0", name="ck_hold_positive"),
        sa.PrimaryKeyConstraint("hold_id"),
    )
    op.create_table(
        "hold_lines",
        sa.Column("hold_id", sa.String(length=100), nullable=False),
        sa.Column("pool_id", sa.String(length=200), nullable=False),
        sa.Column("reps_g", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("reps_g > 0", name="ck_hold_line_positive"),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.hold_id"]),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.pool_id"]),
        sa.PrimaryKeyConstraint("hold_id", "pool_id"),
    )


def downgrade() -> None:
    """Drop holds and hold_lines."""
    op.drop_table("hold_lines")
    op.drop_table("holds")
