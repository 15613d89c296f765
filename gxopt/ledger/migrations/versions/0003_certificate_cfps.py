"""Certificates state the basis CFP and the CFP the buyer may claim (both nullable: older certificates lack them).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add certificates.basis_cfp and certificates.claimed_cfp (NULL for every existing row)."""
    op.add_column("certificates", sa.Column("basis_cfp", sa.Float(), nullable=True))
    op.add_column("certificates", sa.Column("claimed_cfp", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop the two columns again (their values are lost)."""
    op.drop_column("certificates", "claimed_cfp")
    op.drop_column("certificates", "basis_cfp")
