"""The ledger: a persistent, append-only, hash-chained account of REPs and the certificates drawn from it.

SQLAlchemy Core on SQLite (default) or PostgreSQL; schema changes through Alembic migrations.
"""
