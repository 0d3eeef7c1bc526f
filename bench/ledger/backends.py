"""Databases for a measurement: a fresh one each time, the ledger's schema, sessions as the
app makes them, and the log's check afterwards.

The schema is made as in ``tests/consent/conftest.py``; engines come from
``idp.db.make_engine`` (SQLite in WAL mode, PostgreSQL with the app's pool and pre-ping).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bench.ledger.workload import ORIGIN
from consent import ledger as L
from consent.store import LedgerBase, append_only_ddl
from idp.db import make_engine  # the app's engine settings: WAL, pre-ping, pool

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

Sessions = tuple[Engine, L.LedgerKeys, sessionmaker[Session]]


@dataclass
class Backend:
    """SQLite files in ``tmp``, or PostgreSQL databases ``avain_bench_*`` made at ``pg_url``."""

    name: str
    pg_url: str
    tmp: Path
    created: list[str] = field(default_factory=list)

    def new_url(self, label: str) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.tmp / f'{label}-{uuid.uuid4().hex[:6]}.db'}"
        db = f"avain_bench_{label}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{db}"')
        self.created.append(db)
        return self._url_of(db)

    def drop(self, url: str) -> None:
        if self.name == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return
        db = urlsplit(url).path.lstrip("/")
        self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if db in self.created:
            self.created.remove(db)

    def drop_all(self) -> None:
        for db in list(self.created):
            try:
                self.drop(self._url_of(db))
            except Exception as exc:  # noqa: BLE001
                print(f"  ! could not drop {db}: {exc}", file=sys.stderr)

    def _url_of(self, db: str) -> str:
        return urlsplit(self.pg_url)._replace(path=f"/{db}").geturl()

    def _admin(self, statement: str) -> None:
        admin = create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(statement))
        admin.dispose()


def create_schema(engine: Engine) -> None:
    LedgerBase.metadata.create_all(engine)
    with engine.begin() as conn:
        for stmt in append_only_ddl(engine.dialect.name):
            conn.execute(text(stmt))


@contextmanager
def ledger_db(backend: Backend, label: str) -> Iterator[tuple[str, Engine]]:
    """A fresh database with the ledger's schema, dropped afterwards (also on errors)."""
    url = backend.new_url(label)
    engine = make_engine(url)
    try:
        create_schema(engine)
        yield url, engine
    finally:
        engine.dispose()
        backend.drop(url)


def new_keys(master: bytes | None = None) -> L.LedgerKeys:
    return L.LedgerKeys(master=master or L.random_master(), origin=ORIGIN)


@contextmanager
def sessions(url: str, master: bytes | None = None) -> Iterator[Sessions]:
    """An engine, the ledger's keys and ``sessionmaker(engine, expire_on_commit=False)`` as
    ``idp.db`` makes them, with a pooled connection opened before the clock starts."""
    engine = make_engine(url)
    try:
        keys = new_keys(master)
        factory = sessionmaker(engine, expire_on_commit=False)
        with engine.connect():
            pass
        yield engine, keys, factory
    finally:
        engine.dispose()


def check_log(url: str, expected: int) -> dict[str, Any]:
    """After a measurement: the log verifies and has the expected size."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            report = L.verify(session, ORIGIN)
        return {
            "ok": report.ok and report.entries == expected,
            "entries": report.entries,
            "problems": [p.what for p in report.problems[:3]],
        }
    finally:
        engine.dispose()
