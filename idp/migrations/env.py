"""Alembic environment: the database URL comes from Avain's settings."""

from __future__ import annotations

from alembic import context

import idp.models  # noqa: F401  (registers the tables)
from consent.store import LedgerBase
from idp.db import Base, make_engine

config = context.config
# The identity provider's tables and the consent ledger's (which has its own base).
target_metadata = [Base.metadata, LedgerBase.metadata]


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by idp.migrate"
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(
            connection=connectable,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
