"""Each kind of customer search is answered from its index (migration 0016), on PostgreSQL
and SQLite: the planner's own choice over a few thousand customers after ANALYZE, nothing
switched off. bench/admin_search.py measures the same statements at 1,000,000."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, select, text

from idp.admin import customer_search
from idp.admin.customer_search import Kind, Query
from idp.models import User
from idp.models.users import phone_digits

N = 4000
FAMILIES = ["Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine"]
GIVEN = ["Aino", "Matti", "Leena", "Juha", "Sanna", "Eero", "Helmi", "Ville", "Kaisa", "Otto"]


def _seed(db) -> str:
    rows = []
    for i in range(N):
        given, family = GIVEN[i % len(GIVEN)], f"{FAMILIES[i % len(FAMILIES)]}{i // 70}"
        phone = f"+358 40 {i:07d}"
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "email": f"{given.lower()}.{family.lower()}.{i}@example.com",
                "name": f"{given} {family}",
                "given_name": given,
                "family_name": family,
                "phone_number": phone,
                "phone_digits": phone_digits(phone),
            }
        )
    db.execute(insert(User), rows)
    db.commit()
    db.execute(text("ANALYZE"))
    db.commit()
    return rows[1234]["id"]


def _plan(db, query: Query) -> str:
    stmt = customer_search.statement(db, query)
    bind = db.get_bind()
    sql = str(stmt.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN" if bind.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    return "\n".join(str(row) for row in db.execute(text(f"{prefix} {sql}")))


@pytest.fixture
def seeded(db):
    return _seed(db)


def test_each_search_uses_its_index(db, seeded):
    pg = db.get_bind().dialect.name == "postgresql"
    suffix = "" if pg else "_lite"
    cases = {
        Kind.EMAIL: (Query(Kind.EMAIL, "leena.mäkelä1"), ["ix_users_search_email"]),
        Kind.NAME: (
            Query(Kind.NAME, "ville korhonen2"),
            ["ix_users_search_name", "ix_users_search_family_name"],
        ),
        Kind.PHONE: (Query(Kind.PHONE, "358400001"), ["ix_users_search_phone"]),
        Kind.ID: (Query(Kind.ID, seeded), ["pk_users" if pg else "sqlite_autoindex_users"]),
    }
    for kind, (query, indexes) in cases.items():
        plan = _plan(db, query)
        for index in indexes:
            name = index + suffix if index.startswith("ix_") else index
            if name == "ix_users_search_email_lite":  # SQLite: the sign-in index serves it
                name = "ix_users_email_lower"
            assert name in plan, f"{kind}:\n{plan}"
        assert "Seq Scan" not in plan and "SCAN users" not in plan, f"{kind}:\n{plan}"


def test_the_indexed_search_finds_what_a_scan_would(db, seeded):
    """The ranges on the byte-ordered keys are exactly prefixes (ä and all), page by page,
    each customer in the order of the key it matched: whole name or family name."""
    expected = []
    for u in db.scalars(select(User)):
        for key in {u.name.lower(), (u.family_name or "").lower()}:
            if key.startswith("mäk"):
                expected.append((key, u.id))
    query = customer_search.parse("mäk", "name")
    found, after = [], None
    while True:
        page = customer_search.search(db, query, after)
        found += [u.id for u in page.customers]
        after = page.next
        if after is None:
            break
    assert found == [user_id for _, user_id in sorted(expected)]
    assert len(found) > 3 * customer_search.PAGE_SIZE


def test_a_name_matching_twice_is_shown_once_on_a_page(db):
    db.execute(
        insert(User),
        [
            {
                "id": str(uuid.uuid4()),
                "email": "v@example.com",
                "name": "Virta Virtanen",
                "family_name": "Virtanen",
            }
        ],
    )
    page = customer_search.search(db, customer_search.parse("virta", "name"))
    assert [u.email for u in page.customers] == ["v@example.com"]
