"""The console's customer search at 1,000,000 customers on PostgreSQL (issue 12: under
100 ms), for each kind of query: email prefix, name, phone number, id.

A fresh database ``avain_bench_search_*`` is migrated (so the search indexes are migration
0016's own), filled with ``--customers`` generated customers by COPY, and ANALYZEd. The
customers are fake but shaped like a Finnish retailer's: given names and family names that
repeat as real ones do (a few very common, a long tail), addresses
``given.family<n>@<domain>``, mobile numbers ``+358 4x ...`` written in a few styles.

Each query is a random real customer's: the start of their address (``aino.virt``), of their
family name (``virta``) or whole name (``aino virt``), of their number typed the national
way (``040 123``), or their id, parsed by :func:`idp.admin.customer_search.parse` and run by
:func:`idp.admin.customer_search.search` (first page, then the next one by its keyset cursor), in
a session as the app makes one. The worst case is measured too: a two-letter name prefix,
the shortest the console takes. Per kind: median, p95 and max wall-clock ms (the client's
time, round trip included), and ``EXPLAIN (ANALYZE, BUFFERS)`` of one query, which names
the index it used.

    .venv/bin/python -m bench.admin_search                      # 1,000,000 (~5 min here)
    .venv/bin/python -m bench.admin_search --customers 100000 --queries 100

Results are printed and written to ``bench/results/admin-search-<date>.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bench.ledger.backends import DEFAULT_PG, Backend
from idp.admin import customer_search
from idp.db import make_engine
from idp.migrate import upgrade
from idp.models.users import phone_digits

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 100.0
GIVEN = [
    "Aino",
    "Aleksi",
    "Anna",
    "Antti",
    "Eero",
    "Eino",
    "Elina",
    "Emma",
    "Helmi",
    "Hanna",
    "Ilmari",
    "Jari",
    "Johanna",
    "Juha",
    "Jukka",
    "Kaisa",
    "Kalle",
    "Katja",
    "Lauri",
    "Leena",
    "Liisa",
    "Maria",
    "Marja",
    "Matti",
    "Mika",
    "Mikko",
    "Niko",
    "Oona",
    "Otto",
    "Pekka",
    "Pirjo",
    "Riikka",
    "Sanna",
    "Satu",
    "Tapio",
    "Tuomas",
    "Veera",
    "Ville",
    "Väinö",
    "Ästrid",
]
COMMON = [
    "Korhonen",
    "Virtanen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
    "Niemi",
    "Heikkilä",
    "Kinnunen",
    "Salonen",
    "Turunen",
]
STEMS = [
    "Aho",
    "Alan",
    "Hakka",
    "Hirvo",
    "Ilmo",
    "Jokel",
    "Kallio",
    "Karh",
    "Kivel",
    "Kokko",
    "Kuus",
    "Lahti",
    "Lind",
    "Luoma",
]
STEMS += [
    "Mets",
    "Mylly",
    "Nurmi",
    "Oja",
    "Palo",
    "Peura",
    "Pohjo",
    "Rauta",
    "Rinne",
    "Saari",
    "Sirvi",
    "Suo",
    "Talvi",
    "Tuomi",
]
ENDS = ["nen", "la", "lä", "sto", "maa", "niemi", "koski", "lahti", "vaara", "berg"]
DOMAINS = ["example.com", "esimerkki.fi", "posti.example", "mail.example", "koti.example"]


def _family(rng: random.Random) -> str:
    """A fifth of customers share the 20 commonest names, the rest a long tail (~300 stems
    x endings, each with an occasional double-barrelled variant)."""
    if rng.random() < 0.2:
        return rng.choice(COMMON)
    name = rng.choice(STEMS) + rng.choice(ENDS)
    return name if rng.random() < 0.9 else f"{name}-{rng.choice(COMMON)}"


def _phone(rng: random.Random, n: int) -> str:
    digits = f"4{rng.choice('0145')}{n:07d}"
    style = rng.random()
    if style < 0.6:
        return f"+358 {digits[:2]} {digits[2:5]} {digits[5:]}"
    if style < 0.9:
        return f"0{digits[:2]} {digits[2:]}"
    return f"+358{digits}"


def customers_rows(n: int, seed: int) -> Iterator[tuple[str, ...]]:
    """(id, email, name, given, family, phone, phone digits, created) of ``n`` customers."""
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)  # the phone numbers are unique but not in id order
    now = datetime.now(UTC).isoformat()
    for i in range(n):
        given, family = rng.choice(GIVEN), _family(rng)
        phone = _phone(rng, order[i])
        email = f"{given}.{family}{i}@{rng.choice(DOMAINS)}".lower().replace("-", "")
        yield (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            email,
            f"{given} {family}",
            given,
            family,
            phone,
            phone_digits(phone) or "",
            now,
        )


def load(session: Session, n: int, seed: int) -> float:
    """COPY the customers in; returns the seconds it took (ANALYZE included)."""
    started = time.perf_counter()
    raw = cast("psycopg.Connection[Any]", session.connection().connection.dbapi_connection)
    columns = "id, email, name, given_name, family_name, phone_number, phone_digits, created_at"
    with (
        raw.cursor() as cur,
        cur.copy(
            f"COPY users ({columns}, updated_at, email_verified, phone_number_verified, "
            "passkey_second_factor) FROM STDIN"
        ) as copy,
    ):
        batch = io.StringIO()
        for k, row in enumerate(customers_rows(n, seed), 1):
            batch.write("\t".join((*row, row[-1], "t", "f", "f")) + "\n")
            if k % 50_000 == 0:
                copy.write(batch.getvalue())
                batch = io.StringIO()
                print(f"  {k:,} customers", end="\r", flush=True)
        copy.write(batch.getvalue())
    raw.commit()
    session.execute(text("ANALYZE users"))
    session.commit()
    return time.perf_counter() - started


def samples(session: Session, count: int, seed: int) -> list[tuple[str, str, str, str]]:
    """(id, email, name, phone) of ``count`` random customers."""
    rows = session.execute(
        text(
            "SELECT id, email, name, phone_number FROM users TABLESAMPLE SYSTEM (1) "
            "REPEATABLE (:seed) LIMIT :n"
        ),
        {"seed": seed, "n": count},
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def queries(people: list[tuple[str, str, str, str]], rng: random.Random) -> dict[str, list[str]]:
    """What a support agent would type to find each of them, per kind."""

    def national(phone: str) -> str:
        digits = phone_digits(phone) or ""
        return "0" + digits[3:5] + " " + digits[5:8]

    return {
        "email prefix": [email[: rng.randint(5, 12)] for _, email, _, _ in people],
        "family name": [name.split()[1][: rng.randint(4, 8)] for _, _, name, _ in people],
        "whole name": [
            f"{name.split()[0]} {name.split()[1][:3]}".lower() for _, _, name, _ in people
        ],
        "phone": [national(phone) for _, _, _, phone in people],
        "id": [user_id for user_id, _, _, _ in people],
        "2-letter name (worst)": [name[:2] for _, _, name, _ in people],
    }


def _kind(label: str) -> str:
    """What the agent picks in the form's "search by" for each kind of query."""
    return "email" if "email" in label else "name" if "name" in label else label


def _server_ms(session: Session, query: customer_search.Query, after: str | None) -> float:
    """What PostgreSQL itself spent on the page (planning and execution), from
    ``EXPLAIN (ANALYZE)``: the figure the machine's other load leaves alone most."""
    stmt = customer_search.statement(session, query, after)
    sql = str(
        stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    )
    (plan,) = session.execute(text(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")).one()
    top = plan[0]
    return float(top["Planning Time"] + top["Execution Time"]) / 1000


def measure(factory: sessionmaker[Session], typed: list[str], kind: str) -> dict[str, Any]:
    """Each query's first page and, when there is one, the next, as the console runs them
    (wall clock in this process); then what the server spent on the first page."""
    wanted = _kind(kind)
    first: list[float] = []
    second: list[float] = []
    server: list[float] = []
    found = 0
    with factory() as session:
        for q in typed:
            query = customer_search.parse(q, wanted)
            started = time.perf_counter()
            page = customer_search.search(session, query)
            first.append(time.perf_counter() - started)
            found += bool(page.customers)
            if page.next:
                started = time.perf_counter()
                customer_search.search(session, query, page.next)
                second.append(time.perf_counter() - started)
            server.append(_server_ms(session, query, None))
            session.rollback()
    return {
        "queries": len(typed),
        "found_something": found,
        "first_page": _stats(first),
        "next_page": _stats(second),
        "server_first_page": _stats(server),
    }


def _stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def explain(factory: sessionmaker[Session], typed: str, kind: str) -> str:
    wanted = _kind(kind)
    with factory() as session:
        query = customer_search.parse(typed, wanted)
        stmt = customer_search.statement(session, query)
        bind = session.get_bind()
        sql = str(stmt.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True}))
        rows = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).all()
    return "\n".join(r[0] for r in rows)


def run(args: argparse.Namespace, say: Callable[[str], None] = print) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        backend = Backend("postgresql", args.pg_url, Path(tmp))
        url = args.reuse or backend.new_url("search")
        try:
            engine = make_engine(url)
            factory = sessionmaker(engine, expire_on_commit=False)
            with factory() as session:
                seconds = 0.0
                if not args.reuse:
                    upgrade(url)
                    say(f"loading {args.customers:,} customers by COPY ...")
                    seconds = load(session, args.customers, args.seed)
                    say(f"\n  loaded and analysed in {seconds:.1f} s")
                people = samples(session, args.queries, args.seed)
                version = session.scalar(text("SHOW server_version"))
            typed = queries(people, random.Random(args.seed))
            out: dict[str, Any] = {"load_seconds": round(seconds, 1), "postgresql": version}
            for kind, texts in typed.items():
                measure(factory, texts[:10], kind)  # warm the cache and the pool
                out[kind] = measure(factory, texts, kind)
                out[kind]["explain_of"] = texts[0]
                out[kind]["explain"] = explain(factory, texts[0], kind)
            engine.dispose()
            return out
        finally:
            if args.keep or args.reuse:
                say(f"kept the database: {url}")
            else:
                backend.drop_all()


def report(result: dict[str, Any]) -> None:
    print(
        f"\n{'kind':24} {'first page ms (median / p95 / max)':>36} {'next page p95':>14}"
        f" {'server p95 / max':>18}"
    )
    for kind, r in result.items():
        if not isinstance(r, dict):
            continue
        f, n, db = r["first_page"], r["next_page"], r["server_first_page"]
        mark = "ok" if f["p95_ms"] < GOAL_MS else "OVER GOAL"
        line = f"{f['median_ms']:>8} / {f['p95_ms']:>7} / {f['max_ms']:>7}"
        following = f"{n['p95_ms']:>10}" if n.get("n") else f"{'-':>10}"
        server = f"{db['p95_ms']:>7} / {db['max_ms']:>7}"
        print(f"{kind:24} {line:>36} {following:>14} {server:>18}  {mark}")
    for kind, r in result.items():
        if isinstance(r, dict):
            print(f"\nEXPLAIN {kind}: {r['explain_of']!r}\n{r['explain']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="per kind")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="URL", help="measure a database kept by --keep")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or DEFAULT_PG,
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    load_start = os.getloadavg()
    result = run(args)
    report(result)
    record = {
        "started": started.isoformat(),
        "python": platform.python_version(),
        "customers": args.customers,
        "queries_per_kind": args.queries,
        "goal_ms": GOAL_MS,
        "load_average": load_start,
        "load_average_end": os.getloadavg(),
        "results": result,
    }
    out = args.out or ROOT / "bench" / "results" / f"admin-search-{started:%Y%m%d-%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
