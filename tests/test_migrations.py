"""Migrations: they build exactly the schema the models declare, and go down and up again."""

from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text
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


def _diff_from_the_models(url: str) -> list[object]:
    engine = create_engine(url)
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection cannot read an index on an expression (ix_users_email_lower),
        # so autogenerate skips it there; test_sign_in_finds_the_customer_by_index checks it
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _not_search_index}
        )
        diff = compare_metadata(ctx, _all_metadata())
    engine.dispose()
    return list(diff)


def _not_search_index(obj: object, name: str | None, kind: str, *_: object) -> bool:
    """The customer search's indexes differ per database and are made by migration 0016
    alone (idp/models/users.py says why); tests/admin/test_customer_search.py checks them."""
    return not (kind == "index" and (name or "").startswith("ix_users_search_"))


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_migrated_schema_matches_the_models(database_url):
    assert _diff_from_the_models(database_url) == []


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
    assert _tables(url) >= set(_all_metadata().tables)
    downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}  # every table of every migration dropped
    upgrade(url)
    assert _diff_from_the_models(url) == []


def test_sign_in_finds_the_customer_by_index(database_url):
    """Sign-in looks customers up by lower(email) (idp.auth.accounts.find_by_email): the
    planner must be able to use the expression index, not scan every customer."""
    from sqlalchemy import func, select

    from idp.models import User

    query = select(User.id).where(func.lower(User.email) == "aino@example.com")
    engine = create_engine(database_url)
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))  # a tiny table: ask what it can do
            plan = conn.execute(text(f"EXPLAIN {sql}")).all()
        else:
            plan = conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
        described = " ".join(str(row) for row in plan)
    engine.dispose()
    assert "ix_users_email_lower" in described, described
