"""Table definitions of the ledger (SQLAlchemy Core). Amounts are integers in g CO2e: exact sums, exact checks.

``pool_balance`` is derived from ``journal`` (maintained in the same transaction and reconciled by
``gxopt ledger verify``); its CHECK constraints make the database itself refuse a negative balance.
"""

from __future__ import annotations

import sqlalchemy as sa

G_PER_T = 1_000_000

metadata = sa.MetaData()

ledger_lock = sa.Table(
    "ledger_lock", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("holder", sa.String(200)),
    sa.Column("since", sa.String(40)),
)

pools = sa.Table(
    "pools", metadata,
    sa.Column("pool_id", sa.String(200), primary_key=True),
    sa.Column("project_id", sa.String(100), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("gas", sa.String(10), nullable=False),
    sa.Column("verifier", sa.String(200)),
    sa.Column("statement_id", sa.String(200)),
    sa.Column("expires", sa.Date, nullable=False),
)

pool_balance = sa.Table(
    "pool_balance", metadata,
    sa.Column("pool_id", sa.String(200), sa.ForeignKey("pools.pool_id"), primary_key=True),
    sa.Column("credited_g", sa.BigInteger, nullable=False, default=0),
    sa.Column("adjusted_g", sa.BigInteger, nullable=False, default=0),
    sa.Column("issued_g", sa.BigInteger, nullable=False, default=0),
    sa.Column("reversed_g", sa.BigInteger, nullable=False, default=0),
    sa.Column("expired_g", sa.BigInteger, nullable=False, default=0),
    sa.Column("remaining_g", sa.BigInteger, nullable=False, default=0),
    sa.CheckConstraint("remaining_g >= 0", name="ck_pool_balance_never_negative"),
    sa.CheckConstraint("remaining_g = credited_g + adjusted_g - issued_g + reversed_g - expired_g",
                       name="ck_pool_balance_reconciles"),
    sa.CheckConstraint("reversed_g <= issued_g", name="ck_pool_balance_reverse_le_issue"),
)

journal = sa.Table(
    "journal", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("batch_id", sa.String(64)),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("pool_id", sa.String(200), sa.ForeignKey("pools.pool_id")),
    sa.Column("amount_g", sa.BigInteger, nullable=False),
    sa.Column("certificate_id", sa.String(100)),
    sa.Column("reason", sa.Text),
    sa.Column("meta", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.CheckConstraint("kind in ('credit','issue','reverse','expire','adjust','attribute')", name="ck_journal_kind"),
)

certificates = sa.Table(
    "certificates", metadata,
    sa.Column("certificate_id", sa.String(100), primary_key=True),
    sa.Column("order_id", sa.String(200), nullable=False),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("customer", sa.String(200), nullable=False),
    sa.Column("product_id", sa.String(200), nullable=False),
    sa.Column("tonnage_t", sa.Float, nullable=False),
    sa.Column("reps_g", sa.BigInteger, nullable=False),
    sa.Column("general_cfp", sa.Float, nullable=False),
    sa.Column("residual_cfp", sa.Float),
    sa.Column("allocated_cfp", sa.Float),
    sa.Column("alpha", sa.Float, nullable=False),
    sa.Column("gx_tonnage_t", sa.Float, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.String(40), nullable=False),
    sa.Column("voided_at", sa.String(40)),
    sa.Column("void_reason", sa.Text),
    # revision 0003; NULL on certificates issued before it (their digests do not include them)
    sa.Column("basis_cfp", sa.Float),  # General CFP + REPs already reflected in it, per t (= residual_cfp, 8.3.3)
    sa.Column("claimed_cfp", sa.Float),  # the CFP per t the buyer may use (7.3.3; the Allocated CFP, 8.1.1)
    sa.CheckConstraint("status in ('issued','void')", name="ck_certificate_status"),
    sa.CheckConstraint("method in ('mass_balance','allocation')", name="ck_certificate_method"),
    sa.CheckConstraint("reps_g > 0", name="ck_certificate_positive"),
)
sa.Index("uq_one_active_certificate_per_order", certificates.c.order_id, unique=True,
         sqlite_where=certificates.c.status == "issued", postgresql_where=certificates.c.status == "issued")

certificate_lines = sa.Table(
    "certificate_lines", metadata,
    sa.Column("certificate_id", sa.String(100), sa.ForeignKey("certificates.certificate_id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("pool_id", sa.String(200), sa.ForeignKey("pools.pool_id"), nullable=False),
    sa.Column("project_id", sa.String(100), nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("gas", sa.String(10), nullable=False),
    sa.Column("reps_g", sa.BigInteger, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.CheckConstraint("reps_g > 0", name="ck_line_positive"),
)

attribute_transfers = sa.Table(
    "attribute_transfers", metadata,
    sa.Column("transfer_id", sa.String(120), primary_key=True),
    sa.Column("certificate_id", sa.String(100), sa.ForeignKey("certificates.certificate_id"), nullable=False),
    sa.Column("parent_transfer_id", sa.String(120), sa.ForeignKey("attribute_transfers.transfer_id")),
    sa.Column("from_customer", sa.String(200), nullable=False),
    sa.Column("to_customer", sa.String(200), nullable=False),
    sa.Column("reps_g", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.CheckConstraint("reps_g > 0", name="ck_transfer_positive"),
)

journal_head = sa.Table(
    "journal_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

counters = sa.Table(
    "counters", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

batches = sa.Table(
    "batches", metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("scenario", sa.String(500), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("input_sha256", sa.String(64), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)

holds = sa.Table(
    "holds", metadata,
    sa.Column("hold_id", sa.String(100), primary_key=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_on", sa.Date, nullable=False),
    sa.Column("customer", sa.String(200)),
    sa.Column("product_id", sa.String(200), nullable=False),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("delivery_date", sa.Date, nullable=False),
    sa.Column("tonnage_t", sa.Float, nullable=False),
    sa.Column("reps_g", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("order_id", sa.String(200)),
    sa.Column("created_by", sa.String(100)),
    sa.CheckConstraint("status in ('active','converted','lapsed','released')", name="ck_hold_status"),
    sa.CheckConstraint("reps_g > 0", name="ck_hold_positive"),
)

hold_lines = sa.Table(
    "hold_lines", metadata,
    sa.Column("hold_id", sa.String(100), sa.ForeignKey("holds.hold_id"), primary_key=True),
    sa.Column("pool_id", sa.String(200), sa.ForeignKey("pools.pool_id"), primary_key=True),
    sa.Column("reps_g", sa.BigInteger, nullable=False),
    sa.CheckConstraint("reps_g > 0", name="ck_hold_line_positive"),
)

ROLES = ("planner", "operator", "auditor", "admin")

users = sa.Table(
    "users", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("token_id", sa.String(32), nullable=False, unique=True),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.CheckConstraint("role in ('planner','operator','auditor','admin')", name="ck_user_role"),
)

actions = sa.Table(  # who did what through the service or the users command (REP movements are in the journal)
    "actions", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("user_name", sa.String(100), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.String(200)),
    sa.Column("detail", sa.Text, nullable=False),
)

booked_orders = sa.Table(  # orders booked through the service from a hold; the next batch takes them with the book
    "booked_orders", metadata,
    sa.Column("order_id", sa.String(200), primary_key=True),
    sa.Column("customer", sa.String(200)),
    sa.Column("product_id", sa.String(200), nullable=False),
    sa.Column("tonnage_t", sa.Float, nullable=False),
    sa.Column("delivery_date", sa.Date, nullable=False),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("premium", sa.Float, nullable=False),
    sa.Column("hold_id", sa.String(100), sa.ForeignKey("holds.hold_id"), nullable=False, unique=True),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.CheckConstraint("tonnage_t > 0", name="ck_booked_tonnage_positive"),
    sa.CheckConstraint("premium >= 0", name="ck_booked_premium_not_negative"),
)

service_keys = sa.Table(  # keys every service process on this ledger shares (e.g. to sign session cookies)
    "service_keys", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

pact_clients = sa.Table(  # buyers' systems on the PACT host API: each sees its customer's footprints only
    "pact_clients", metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("customer", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(100)),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("callback_url", sa.String(500)),  # where answers to the client's requests may go (events); None: nowhere
)

pact_outbox = sa.Table(  # PACT events to send (answers to requests), kept until sent or given up (events.Outbox)
    "pact_outbox", metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),  # the CloudEvent's id (the receiver's key to deduplicate)
    sa.Column("client_id", sa.String(64), nullable=False),  # whose request it answers
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("event", sa.Text, nullable=False),  # the complete CloudEvent as JSON, exactly what is POSTed
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("due_at", sa.String(40), nullable=False),  # when the next attempt may start (or a claim's lease ends)
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", sa.String(40)),
    sa.CheckConstraint("status in ('pending','sent','gave_up')", name="ck_pact_outbox_status"),
    sa.CheckConstraint("attempts >= 0", name="ck_pact_outbox_attempts"),
)
sa.Index("ix_pact_outbox_due", pact_outbox.c.status, pact_outbox.c.due_at)
