"""Every lookup on a hot path is answered from an index, as PostgreSQL's planner itself
chooses it over tables the size of a real customer base (issue 14).

The statements are not written down here: each hot path is driven through the app, as in
tests/test_hot_path_statements.py, plus a password and a passkey sign-in, and every
statement the database sees is recorded with its parameters (``before_cursor_execute``). A
change to the SQL of a path is checked as it stands, with nothing to update here.

Every table those statements read or write, bar the small ones listed in ``BOUNDED``, is
then filled to ``ROWS`` rows by copies of the rows the flows themselves wrote, each column
that an index, a key or a constraint covers given fresh, spread values, and references to
customers pointed at the copied customers; then ``ANALYZE``. A table a new statement
touches is filled the same way, with nothing to add here. Each recorded statement is
EXPLAINed with its own parameters, and a plan that reads a whole growing table (a
``Seq Scan``, or an index scan with no condition, which walks all of the index) fails,
naming the path, the statement and the table.

PostgreSQL only: SQLite's planner is not the one production's lookups meet, and it plans
with no statistics unless asked. Under CI=true the test runs, never skips.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine

from idp import create_app, replay
from idp.auth import accounts
from idp.db import new_session
from idp.migrate import upgrade
from idp.oauth.clients import ClientSpec, create
from idp.outbound import policy_from
from tests.auth.passkey_flows import passkey_sign_in, register_passkey
from tests.conftest import (
    CI,
    PASSWORD,
    PG_URL,
    _drop_pg_database,
    _fresh_pg_database,
    authorize_params,
    exchange,
    login,
    query_of,
)
from tests.ledger.flows import consent
from tests.test_hot_path_statements import PATHS, Paths

ROWS = 20_000  # per growing table: enough that the planner would scan none of them for one row

# Tables whose size an operator sets, not the number of customers or tokens: a scan of one
# of these reads a few pages, and the planner rightly prefers it to an index.
BOUNDED = {
    "clients": "the partners an operator registers: dozens, not millions",
    "signing_keys": "the current, next and retiring signing keys of each algorithm",
    "instance_secrets": "a handful of named secrets, one row each",
    "consent_purpose_versions": "each catalogue purpose's versions",
    "consent_log_keys": "the consent log's signing keys",
    "consent_log_head": "one row: the head of the consent log",
}

PLANNED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@dataclass(frozen=True)
class Statement:
    """One statement a hot path sent, with the parameters it was sent with."""

    path: str
    sql: str
    params: Any

    def __str__(self) -> str:
        return f"{self.path}: {' '.join(self.sql.split())}\n  parameters: {self.params!r}"


@dataclass
class Recorder:
    path: str = ""
    statements: list[Statement] = field(default_factory=list)

    def __call__(self, _conn: Any, _cur: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if self.path and sql.lstrip().split(None, 1)[0].upper() in PLANNED:
            self.statements.append(Statement(self.path, sql, params[0] if many else params))


# -- the plan walker -----------------------------------------------------------------


def whole_table_reads(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(how, table) for each node of a JSON plan that reads all of a table: a sequential
    scan, or an index scan with no index condition (a walk of the whole index, for order)."""
    node = plan["Node Type"]
    table = plan.get("Relation Name", "")
    if node == "Seq Scan":
        yield "Seq Scan", table
    elif node in ("Index Scan", "Index Only Scan") and "Index Cond" not in plan:
        yield f"{node} of all of {plan['Index Name']}", table
    for child in plan.get("Plans", ()):
        yield from whole_table_reads(child)


def tables_in(plan: dict[str, Any]) -> Iterator[str]:
    if "Relation Name" in plan:
        yield plan["Relation Name"]
    for child in plan.get("Plans", ()):
        yield from tables_in(child)


def explain(engine: Engine, sql: str, params: Any = None, setting: str = "") -> dict[str, Any]:
    """PostgreSQL's plan for ``sql`` with ``params``, bound as the app's driver binds them;
    ``setting``, a SET statement, holds for this plan only (its transaction is rolled back)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if setting:
            cur.execute(setting)
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        row = cur.fetchone()
        cur.close()
        raw.rollback()
    finally:
        raw.close()
    assert row is not None
    doc = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    plan: dict[str, Any] = doc[0]["Plan"]
    return plan


def unbounded_reads(plan: dict[str, Any]) -> list[str]:
    return [f"{how} on {table}" for how, table in whole_table_reads(plan) if table not in BOUNDED]


# -- filling the tables ----------------------------------------------------------------


# The SQL below is built from the database's own table and column names (as the catalogue
# gives them, quoted by _q), never from input: hence its "noqa: S608".


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _python_type(column_type: Any) -> type | None:
    try:
        return column_type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:  # a type SQLAlchemy has no Python type for: copied as it is
        return None


def _fill(conn: Connection, table: str, filled: set[str]) -> None:
    """Copy ``table``'s rows until it holds ``ROWS`` more; see the module's docstring."""
    insp = inspect(conn)
    columns = insp.get_columns(table)
    pk = insp.get_pk_constraint(table)["constrained_columns"]
    keyed = set(pk)
    for index in insp.get_indexes(table):
        keyed.update(c for c in index["column_names"] if c)
    for unique in insp.get_unique_constraints(table):
        keyed.update(unique["column_names"])
    refers = {
        fk["constrained_columns"][0]: (fk["referred_table"], fk["referred_columns"][0])
        for fk in insp.get_foreign_keys(table)
        if len(fk["constrained_columns"]) == 1
    }
    names, values = [], []
    for col in columns:
        name, t = col["name"], f"t.{_q(col['name'])}"
        serial = "nextval" in str(col.get("default") or "") or col.get("identity")
        if name in pk and serial:
            continue  # the database numbers it
        python_type = _python_type(col["type"])
        if name in refers and refers[name][0] in filled:
            target, target_col = refers[name]
            ids = f"(SELECT array_agg({_q(target_col)}) FROM {_q(target)})"  # noqa: S608
            expr = f"({ids})[1 + (g.i * 7919) % cardinality({ids})]"
        elif name in refers or name not in keyed:
            expr = t
        elif python_type is str:
            length = getattr(col["type"], "length", None) or 64
            expr = f"left(md5(g.i::text || random()::text) || md5(random()::text), {length})"
        elif python_type is int:
            expr = f"(SELECT coalesce(max({_q(name)}), 0) FROM {_q(table)}) + g.i"  # noqa: S608
        elif python_type is datetime:
            expr = f"{t} + ((g.i % 7200) - 3600) * interval '1 second'"
        else:
            expr = t
        names.append(_q(name))
        values.append(f"CASE WHEN {t} IS NULL THEN NULL ELSE {expr} END")
    rows = f"(SELECT *, row_number() OVER () - 1 AS k_, count(*) OVER () AS n_ FROM {_q(table)})"  # noqa: S608
    conn.execute(
        text(
            f"INSERT INTO {_q(table)} ({', '.join(names)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM {rows} t "
            f"JOIN generate_series(1, {ROWS}) AS g(i) ON t.k_ = g.i % t.n_"
        )
    )


def fill(engine: Engine, tables: set[str]) -> dict[str, int]:
    """Fill ``tables``, each after the tables it refers to; then ANALYZE. Rows per table."""
    insp = inspect(engine)
    needs = {t: {fk["referred_table"] for fk in insp.get_foreign_keys(t)} & tables for t in tables}
    filled: set[str] = set()
    with engine.begin() as conn:
        while needs:
            ready = sorted(t for t, deps in needs.items() if deps <= filled | {t})
            assert ready, f"tables refer to each other in a cycle: {needs}"
            for table in ready:
                count = conn.scalar(text(f"SELECT count(*) FROM {_q(table)}"))  # noqa: S608
                assert count, f"{table}: the flows wrote no row to copy; let one of them write one"
                _fill(conn, table, filled)
                filled.add(table)
                del needs[table]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
        sizes = {}
        for table in sorted(tables):
            sizes[table] = int(conn.scalar(text(f"SELECT count(*) FROM {_q(table)}")) or 0)  # noqa: S608
        return sizes


# -- the hot paths ---------------------------------------------------------------------


@dataclass
class Recorded:
    engine: Engine
    statements: list[Statement]
    sizes: dict[str, int]


def _make_user(app: Flask) -> Any:
    def make(email: str | None = None) -> Any:
        with app.app_context(), new_session(app) as s:
            email = email or f"u{secrets.token_hex(4)}@example.com"
            user = accounts.register(s, email, "Testi Asiakas", PASSWORD)
            user.email_verified = True
            s.commit()
            s.expunge(user)
            return user

    return make


def _make_client(app: Flask) -> Any:
    def make(**kwargs: Any) -> tuple[Any, str | None]:
        with app.app_context(), new_session(app) as s:
            rp, secret = create(s, ClientSpec(**kwargs), policy_from(app.config["AVAIN"]))
            s.commit()
            s.expunge(rp)
            return rp, secret

    return make


def _queue_again(engine: Engine) -> None:
    """One consent event back in the intake, as it waits there until the sequencer takes
    it: without a sequencer thread the tests' app sequences at each commit, and the queue's
    table needs a row to copy."""
    insp = inspect(engine)
    event_columns = {c["name"] for c in insp.get_columns("consent_events")}
    common = [c["name"] for c in insp.get_columns("consent_intake") if c["name"] in event_columns]
    names = ", ".join(_q(c) for c in common)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO consent_intake ({names}, token, received_at) "  # noqa: S608
                f"SELECT {names}, left(md5(random()::text), 32), now() FROM consent_events "
                "ORDER BY seq DESC LIMIT 1"
            )
        )


def _drive(app: Flask, recorder: Recorder) -> None:
    client = app.test_client()
    paths = Paths(app, client, _make_user(app), _make_client(app))
    # a second customer, with a passkey and a consent to the garage
    other = _make_user(app)("passkey.customer@example.com")
    authenticator = register_passkey(app.test_client(), other)
    consent(app.test_client(), paths.rp, other.email)
    _queue_again(app.extensions["avain.engine"])

    def run(path: str, call: Any, expect: int = 200) -> Any:
        recorder.path = path
        resp = call()
        recorder.path = ""
        assert resp.status_code == expect, (path, resp.status_code, resp.data[:300])
        return resp

    for name in ("discovery", "jwks", "client_credentials", "userinfo", "introspection"):
        run(name, lambda name=name: PATHS[name](paths))
    params, verifier = authorize_params(paths.rp, scope=Paths.SCOPE)
    resp = run("authorize", lambda: client.get("/authorize", query_string=params), 302)
    code = query_of(resp.headers["Location"])["code"]
    run("authorization_code", lambda: exchange(client, paths.rp, paths.secret, code, verifier))
    run("refresh", lambda: PATHS["refresh"](paths))  # last: it rotates the refresh token
    run("password_login", lambda: login(app.test_client(), paths.user.email), 302)
    # the challenge's insertion into the replay cache is one that purges it too
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(replay, "_insertions", itertools.count(replay.PURGE_EVERY))
        run("passkey_login", lambda: passkey_sign_in(app.test_client(), authenticator)[0])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    if not PG_URL:
        if CI:
            pytest.fail("CI=true but IDP_TEST_DATABASE_URL is not set")
        pytest.skip("IDP_TEST_DATABASE_URL not set")
    url = _fresh_pg_database(PG_URL)
    upgrade(url)
    instance: Path = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "database_url": url,
            "instance_path": str(instance),
            "secret_key": "test-secret-key-" + "x" * 32,
            "issuer": "http://localhost",
        }
    )
    app.config["TESTING"] = True
    engine: Engine = app.extensions["avain.engine"]
    recorder = Recorder()
    try:
        event.listen(engine, "before_cursor_execute", recorder)
        _drive(app, recorder)
        event.remove(engine, "before_cursor_execute", recorder)
        touched = {
            t for s in recorder.statements for t in tables_in(explain(engine, s.sql, s.params))
        }
        sizes = fill(engine, touched - set(BOUNDED))
        yield Recorded(engine, recorder.statements, sizes)
    finally:
        for thread in app.extensions.get("avain.outbox_threads", []):
            thread.join(timeout=10)
        engine.dispose()
        _drop_pg_database(PG_URL, url)


# -- the checks ------------------------------------------------------------------------


def test_every_hot_path_statement_reads_growing_tables_by_index(recorded: Recorded) -> None:
    paths = {s.path for s in recorded.statements}
    assert paths >= {"userinfo", "refresh", "password_login", "passkey_login", "authorize"}
    assert all(n >= ROWS for n in recorded.sizes.values()), recorded.sizes
    failures = []
    for statement in recorded.statements:
        reads = unbounded_reads(explain(recorded.engine, statement.sql, statement.params))
        if reads:
            failures.append(f"{', '.join(reads)}\n{statement}")
    assert not failures, (
        f"{len(failures)} hot path statements read a whole table that grows with customers or "
        "tokens (give the lookup an index, by a migration, or add the table to BOUNDED with "
        "the reason its size is bounded):\n\n" + "\n\n".join(failures)
    )


def test_a_lookup_on_a_column_without_an_index_is_reported(recorded: Recorded) -> None:
    """The control: over the same filled tables, a customer looked up by a column no index
    covers is a sequential scan the walker names; looked up by id, nothing is reported."""
    by_phone = "SELECT id FROM users WHERE phone_number = %(phone)s"
    plan = explain(recorded.engine, by_phone, {"phone": "+358 40 1234567"})
    assert unbounded_reads(plan) == ["Seq Scan on users"], plan
    by_id = "SELECT id FROM users WHERE id = %(id)s"
    assert unbounded_reads(explain(recorded.engine, by_id, {"id": "x"})) == []


def test_a_walk_through_a_whole_index_is_reported(recorded: Recorded) -> None:
    """An index scan with no condition reads every row as surely as a sequential scan: with
    sequential scans made costly, the planner filters users in the primary key's order."""
    plan = explain(
        recorded.engine,
        "SELECT id FROM users WHERE phone_number = %(phone)s ORDER BY id",
        {"phone": "+358 40 1234567"},
        setting="SET enable_seqscan = off",
    )
    assert unbounded_reads(plan) == ["Index Scan of all of pk_users on users"], plan
    assert unbounded_reads({"Node Type": "Seq Scan", "Relation Name": "clients"}) == []
