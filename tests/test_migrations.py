"""Migrations: they build exactly the schema the models declare, and go down and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.exc import DatabaseError

from consent.store import LedgerBase
from idp.db import Base
from idp.migrate import downgrade, upgrade


def _all_metadata() -> MetaData:
    combined = MetaData()
    for metadata in (Base.metadata, LedgerBase.metadata):
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def test_migrated_schema_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, _all_metadata())
    engine.dispose()
    assert diff == []


def test_migrations_install_the_append_only_triggers(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO consent_events (seq, subject, recipient_id, purpose_id, "
                "purpose_version, type, at, actor, channel, claims, details, details_commitment, "
                "leaf_hash) VALUES (424242, 's', 'r', 'p', 1, 'given', CURRENT_TIMESTAMP, "
                "'customer', 'api', '[]', :d, 'c', 'h')"
            ),
            {"d": b"x"},
        )
        for statement in (
            "UPDATE consent_events SET type = 'refused' WHERE seq = 424242",
            "DELETE FROM consent_events WHERE seq = 424242",
        ):
            with pytest.raises(DatabaseError, match="append-only"), conn.begin_nested():
                conn.execute(text(statement))
        conn.rollback()
    engine.dispose()


def test_downgrade_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)
