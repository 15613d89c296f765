"""Initial ledger schema: pools, balances, hash-chained journal, certificates, transfers, batches.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of revision 0001 and the single lock row."""
    op.create_table('batches',
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('scenario', sa.String(length=500), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('input_sha256', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.String(length=40), nullable=False),
    sa.Column('finished_at', sa.String(length=40), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('batch_id')
    )
    op.create_table('certificates',
    sa.Column('certificate_id', sa.String(length=100), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('product_id', sa.String(length=200), nullable=False),
    sa.Column('tonnage_t', sa.Float(), nullable=False),
    sa.Column('reps_g', sa.BigInteger(), nullable=False),
    sa.Column('general_cfp', sa.Float(), nullable=False),
    sa.Column('residual_cfp', sa.Float(), nullable=True),
    sa.Column('allocated_cfp', sa.Float(), nullable=True),
    sa.Column('alpha', sa.Float(), nullable=False),
    sa.Column('gx_tonnage_t', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.String(length=40), nullable=False),
    sa.Column('voided_at', sa.String(length=40), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("method in ('mass_balance','allocation')", name='ck_certificate_method'),
    sa.CheckConstraint("status in ('issued','void')", name='ck_certificate_status'),
    sa.CheckConstraint('reps_g > 0', name='ck_certificate_positive'),
    sa.PrimaryKeyConstraint('certificate_id')
    )
    op.create_index('uq_one_active_certificate_per_order', 'certificates', ['order_id'], unique=True, sqlite_where=sa.text("status = 'issued'"), postgresql_where=sa.text("status = 'issued'"))
    op.create_table('counters',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('journal_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ledger_lock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=True),
    sa.Column('since', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('pools',
    sa.Column('pool_id', sa.String(length=200), nullable=False),
    sa.Column('project_id', sa.String(length=100), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('gas', sa.String(length=10), nullable=False),
    sa.Column('verifier', sa.String(length=200), nullable=True),
    sa.Column('statement_id', sa.String(length=200), nullable=True),
    sa.Column('expires', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('pool_id')
    )
    op.create_table('attribute_transfers',
    sa.Column('transfer_id', sa.String(length=120), nullable=False),
    sa.Column('certificate_id', sa.String(length=100), nullable=False),
    sa.Column('parent_transfer_id', sa.String(length=120), nullable=True),
    sa.Column('from_customer', sa.String(length=200), nullable=False),
    sa.Column('to_customer', sa.String(length=200), nullable=False),
    sa.Column('reps_g', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.CheckConstraint('reps_g > 0', name='ck_transfer_positive'),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.certificate_id'], ),
    sa.ForeignKeyConstraint(['parent_transfer_id'], ['attribute_transfers.transfer_id'], ),
    sa.PrimaryKeyConstraint('transfer_id')
    )
    op.create_table('certificate_lines',
    sa.Column('certificate_id', sa.String(length=100), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.String(length=200), nullable=False),
    sa.Column('project_id', sa.String(length=100), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('gas', sa.String(length=10), nullable=False),
    sa.Column('reps_g', sa.BigInteger(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.CheckConstraint('reps_g > 0', name='ck_line_positive'),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.certificate_id'], ),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.pool_id'], ),
    sa.PrimaryKeyConstraint('certificate_id', 'line_no')
    )
    op.create_table('journal',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('pool_id', sa.String(length=200), nullable=True),
    sa.Column('amount_g', sa.BigInteger(), nullable=False),
    sa.Column('certificate_id', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('meta', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind in ('credit','issue','reverse','expire','adjust','attribute')", name='ck_journal_kind'),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.pool_id'], ),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('entry_id')
    )
    op.create_table('pool_balance',
    sa.Column('pool_id', sa.String(length=200), nullable=False),
    sa.Column('credited_g', sa.BigInteger(), nullable=False),
    sa.Column('adjusted_g', sa.BigInteger(), nullable=False),
    sa.Column('issued_g', sa.BigInteger(), nullable=False),
    sa.Column('reversed_g', sa.BigInteger(), nullable=False),
    sa.Column('expired_g', sa.BigInteger(), nullable=False),
    sa.Column('remaining_g', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('remaining_g = credited_g + adjusted_g - issued_g + reversed_g - expired_g', name='ck_pool_balance_reconciles'),
    sa.CheckConstraint('remaining_g >= 0', name='ck_pool_balance_never_negative'),
    sa.CheckConstraint('reversed_g <= issued_g', name='ck_pool_balance_reverse_le_issue'),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.pool_id'], ),
    sa.PrimaryKeyConstraint('pool_id')
    )
    op.execute("INSERT INTO ledger_lock (id, holder, since) VALUES (1, NULL, NULL)")


def downgrade() -> None:
    """Drop everything (only for an empty ledger)."""
    for table in ("pool_balance", "journal", "journal_head", "certificate_lines", "attribute_transfers", "pools", "ledger_lock",
                  "counters", "certificates", "batches"):
        op.drop_table(table)
