"""People and systems who use the service: a role each, secrets stored only as salted argon2 hashes; who made
each hold, a log of who did what, the orders booked from holds, and the keys service processes share.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create users and actions; holds get created_by."""
    op.create_table(
        "users",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint("role in ('planner','operator','auditor','admin')", name="ck_user_role"),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("token_id"),
    )
    op.create_table(
        "actions",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("holds") as b:
        b.add_column(sa.Column("created_by", sa.String(length=100), nullable=True))
    op.create_table(
        "booked_orders",
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=True),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("tonnage_t", sa.Float(), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("premium", sa.Float(), nullable=False),
        sa.Column("hold_id", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint("tonnage_t > 0", name="ck_booked_tonnage_positive"),
        sa.CheckConstraint("premium >= 0", name="ck_booked_premium_not_negative"),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.hold_id"]),
        sa.PrimaryKeyConstraint("order_id"),
        sa.UniqueConstraint("hold_id"),
    )
    op.create_table(
        "service_keys",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    """Drop users, actions, booked_orders and service_keys, and holds.created_by."""
    op.drop_table("service_keys")
    op.drop_table("booked_orders")
    with op.batch_alter_table("holds") as b:
        b.drop_column("created_by")
    op.drop_table("actions")
    op.drop_table("users")
