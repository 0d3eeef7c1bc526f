"""Ledger fixtures without Flask: a session on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from consent.ledger import LedgerKeys, random_master
from consent.store import LedgerBase, append_only_ddl

PG_URL = os.environ.get("IDP_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def ledger_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        admin = None
        name = ""
    else:
        if not PG_URL:
            if os.environ.get("CI") == "true":
                pytest.fail("CI=true but IDP_TEST_DATABASE_URL is not set")
            pytest.skip("IDP_TEST_DATABASE_URL not set")
        name = f"avain_ledger_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = create_engine(urlsplit(PG_URL)._replace(path=f"/{name}").geturl())
    LedgerBase.metadata.create_all(engine)
    with engine.begin() as conn:
        for stmt in append_only_ddl(engine.dialect.name):
            conn.execute(text(stmt))
    yield engine
    engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def ledger_session(ledger_engine: Engine) -> Iterator[Session]:
    session = sessionmaker(ledger_engine, expire_on_commit=False)()
    yield session
    session.close()


@pytest.fixture
def keys() -> LedgerKeys:
    return LedgerKeys(master=random_master(), origin="localhost/consent-log")
