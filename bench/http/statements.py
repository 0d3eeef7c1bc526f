"""SQL statements per request, counted in this process: an app made by
``idp.create_app`` on the run's database, driven by Flask's test client through the same
request kinds the load sends (:mod:`bench.http.kinds`), with a ``before_cursor_execute``
listener on the app's engine. Commits are counted apart (a COMMIT is a round trip too, but
not a statement the listener sees). No hook in the product code.

Also here: one Argon2id verification alone, timed in this process, to set the password
login's CPU against.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from flask import Flask
from sqlalchemy import event

from bench.http.agents import TestAgent
from bench.http.kinds import KINDS, Setup
from idp.auth import passwords


class StatementCounter:
    def __init__(self, app: Flask) -> None:
        self.statements = 0
        self.commits = 0
        self.on = False
        self.seen: list[str] = []  # the statements' text, for the JSON
        engine = app.extensions["avain.engine"]
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if self.on:
            self.statements += 1
            self.seen.append(" ".join(statement.split()))

    def _commit(self, conn: Any) -> None:
        # a connection outside a transaction (idp.db.without_transaction) has none to commit
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.commits += self.on


def count(app: Flask, setup: Setup, signed_in: TestAgent, repeat: int = 3) -> dict[str, Any]:
    """Per kind: statements and commits of one unit (the smallest of ``repeat``, after a
    first unwarmed one: caches the app fills once are not per-request work) and of the
    first one. Kinds without the SSO cookie run as a new visitor each time; the password
    login's answer signs the visitor in, and the next POST must again be a visitor's."""
    counter = StatementCounter(app)
    out: dict[str, Any] = {}
    for kind in KINDS.values():
        agent = signed_in
        state = kind.prepare(agent, setup, 0) if kind.needs_sso else None
        if kind.back_channel:
            agent = TestAgent(app.test_client())  # without the browser's cookies
        seen: list[tuple[int, int]] = []
        texts: list[list[str]] = []
        for _ in range(repeat + 1):
            if not kind.needs_sso:  # a visitor each time (the test client keeps cookies)
                agent = TestAgent(app.test_client())
                state = kind.prepare(agent, setup, 0)
            counter.statements = counter.commits = 0
            counter.seen = []
            counter.on = True
            try:
                kind.once(agent, setup, state)
            finally:
                counter.on = False
            seen.append((counter.statements, counter.commits))
            texts.append(counter.seen)
        steady = min(range(1, len(seen)), key=lambda i: seen[i])
        out[kind.name] = {
            "statements": seen[steady][0],
            "commits": seen[steady][1],
            "first": seen[0],
            # the unit's statements, and those sent more than once in it
            "sql": texts[steady],
            "repeated": {t: n for t, n in Counter(texts[steady]).most_common() if n > 1},
        }
    return out


def argon2_verification(repeat: int = 5) -> dict[str, float]:
    """CPU ms of one ``passwords.verify`` of a right password (the app's Argon2id
    parameters), the best and median of ``repeat``."""
    stored = passwords.hash_password("an argon2 benchmark password")
    runs = []
    for _ in range(repeat):
        c0 = time.process_time()
        ok, _ = passwords.verify("an argon2 benchmark password", stored)
        runs.append((time.process_time() - c0) * 1000)
        if not ok:
            raise RuntimeError("Argon2id verification failed")
    runs.sort()
    return {"best_ms": round(runs[0], 2), "median_ms": round(runs[len(runs) // 2], 2)}
