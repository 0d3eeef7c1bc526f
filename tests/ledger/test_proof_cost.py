"""A public proof request costs a bounded number of reads, however long the consent log.

Anyone may ask ``/consent-log/proof/*`` for any size: a proof that read every leaf hash up to
that size would let one unauthenticated request make the server read the whole log.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from consent import Actor, Channel, ConsentEvent, EventType, ledger as L, merkle
from idp.db import new_session

# A proof in a tree of fewer than 2**16 entries reads at most 3 * 255 hashes for each
# 8 levels of the tree (consent.tiles.max_reads), and one row for the newest checkpoint.
BOUND = 3 * 255 * 2 + 1
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _log(app, n):
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        for start in range(0, n, 1000):
            items = [
                (
                    ConsentEvent(
                        customer_id=f"c{i % 25}",
                        recipient_id="garage",
                        purpose_id="garage_booking",
                        purpose_version=1,
                        type=EventType.GIVEN if i % 3 else EventType.WITHDRAWN,
                        at=T0 + timedelta(seconds=i),
                        actor=Actor.CUSTOMER,
                        channel=Channel.CONSENT_SCREEN,
                        claims=frozenset({"email"}),
                    ),
                    {"language": "fi"},
                )
                for i in range(start, min(n, start + 1000))
            ]
            L.append_many(s, keys, items)
            L.checkpoint(s, keys)
            s.commit()
        return L.leaf_hashes(s, n)


class _Reads:
    def __init__(self, engine):
        self.statements = 0
        self.rows = 0
        self.engine = engine
        event.listen(engine, "after_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        self.statements += 1
        if statement.lstrip().upper().startswith("SELECT"):
            raw = conn.connection.dbapi_connection.cursor()
            raw.execute(f"SELECT count(*) FROM ({statement}) AS counted", parameters)  # noqa: S608
            self.rows += raw.fetchone()[0]
            raw.close()

    def close(self):
        event.remove(self.engine, "after_cursor_execute", self._seen)


def _b64(values):
    return [base64.b64decode(v) for v in values]


def test_proof_requests_read_a_bounded_number_of_rows(app, client):
    leaves = _log(app, 3000)
    reads = _Reads(app.extensions["avain.engine"])
    try:
        seen = []
        for size in (700, 3000):
            for seq in (1, size // 2, size):
                before = (reads.statements, reads.rows)
                resp = client.get(f"/consent-log/proof/inclusion?seq={seq}&size={size}")
                assert resp.status_code == 200
                path = _b64(resp.json["inclusion_path"])
                assert path == merkle.inclusion_proof(leaves, seq - 1, size)
                seen.append((reads.statements - before[0], reads.rows - before[1]))
            before = (reads.statements, reads.rows)
            resp = client.get(f"/consent-log/proof/consistency?old={size // 3}&new={size}")
            assert _b64(resp.json["consistency_path"]) == merkle.consistency_proof(
                leaves, size // 3, size
            )
            seen.append((reads.statements - before[0], reads.rows - before[1]))
    finally:
        reads.close()
    assert all(rows <= BOUND for _, rows in seen), seen  # the whole log is 3000 rows
    assert max(statements for statements, _ in seen) <= 3, seen  # checkpoint, leaves, hashes
