"""The data a run needs: the confidential client and the bench customer, made through the
app's own services; then customers and issued tokens in bulk, straight into the tables.

Bulk customers share one Argon2id hash, made once with the app's ``hash_password`` (of a
password the login kind knows, so logins may go to any of them); the bench customer, who
signs in for the authorize, refresh, userinfo and introspection kinds, is registered
through ``accounts.register`` with its own. Bulk tokens are rows as ``tokens.issue``
writes them, with ``digest`` of random values for the token hashes, spread over the
customers and the client; nobody presents them, they are the table a lookup must not scan.
On PostgreSQL rows go in with ``COPY``, on SQLite with one executemany transaction; then
``ANALYZE`` so the planner knows the sizes.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.http.kinds import Setup
from idp.auth import accounts, passwords
from idp.db import new_session, utcnow
from idp.models import Token, User
from idp.models.tokens import digest
from idp.oauth.clients import ClientSpec, create
from idp.outbound import policy_from

BENCH_EMAIL = "bench.customer@example.com"
BENCH_PASSWORD = "bench horse battery staple"  # noqa: S105  # the bench customer's own
CUSTOMERS_PASSWORD = "many customers one password"  # noqa: S105
REDIRECT_URI = "https://garage.example/cb"
ID_BASE = 0xBE7C << 112  # bulk customer i has the id str(uuid.UUID(int=ID_BASE + i))
CHUNK = 10_000

USER_COLUMNS = (
    "id",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "phone_number",
    "phone_number_verified",
    "locale",
    "password_hash",
    "password_changed_at",
    "passkey_second_factor",
    "created_at",
    "updated_at",
)
TOKEN_COLUMNS = (
    "grant_id",
    "jti",
    "access_token_hash",
    "refresh_token_hash",
    "client_id",
    "user_id",
    "scope",
    "grant_scope",
    "auth_time",
    "acr",
    "issued_at",
    "access_expires_at",
    "refresh_expires_at",
    "refresh_used_at",
)


def customer_email(i: int) -> str:
    return f"customer{i:07d}@bench.example"


def customer_id(i: int) -> str:
    return str(uuid.UUID(int=ID_BASE + i))


def login_emails(customers: int, n: int = 64) -> list[str]:
    """``n`` bulk customers spread over the table, one per load connection."""
    return [customer_email(k * customers // n) for k in range(min(n, customers))]


def client_and_customer(app: Flask, client_kind: str, access_token_alg: str | None = None) -> Setup:
    """The bench's confidential client (authorization code, refresh, client credentials)
    and the bench customer, through ``clients.create`` and ``accounts.register``.

    ``catalogue``: the client is the garage of ``config/purposes.toml``, so the consent
    ledger decides its ``garage_booking`` claims on every release (the customer agrees once
    on the real consent screen). ``first-party``: a first-party client, resting on the
    customer contract, with no consent screen."""
    first_party = client_kind == "first-party"
    with app.app_context(), new_session(app) as s:
        user = accounts.register(s, BENCH_EMAIL, "Aino Virtanen", BENCH_PASSWORD)
        user.email_verified = True
        user.phone_number, user.car_registration = "+358 40 123 4567", "ABC-123"
        spec = ClientSpec(
            client_id="bench-own" if first_party else "garage",
            name="Bench first-party service" if first_party else "Korjaamo Virtanen",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            first_party=first_party,
            access_token_signed_response_alg=access_token_alg,
        )
        client, secret = create(s, spec, policy_from(app.config["AVAIN"]))
        s.commit()
        if secret is None:
            raise RuntimeError("the bench client should be confidential")
        return Setup(client.client_id, secret, REDIRECT_URI, BENCH_EMAIL, BENCH_PASSWORD)


def passkeys(app: Flask, customers: int, n: int = 64) -> list[tuple[str, bytes, bytes]]:
    """A passkey (P-256, as the tests' software authenticator makes) for each of ``n`` bulk
    customers spread over the table, stored as a registration would store it; their
    private keys for the load."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from idp.models import Passkey
    from tests.auth.soft_authenticator import SoftAuthenticator, b64url

    out = []
    with app.app_context(), new_session(app) as s:
        for k in range(min(n, customers)):
            user_id = customer_id(k * customers // min(n, customers))
            authenticator = SoftAuthenticator(key=ec.generate_private_key(ec.SECP256R1()))
            s.add(
                Passkey(
                    id=b64url(authenticator.credential_id),
                    user_id=user_id,
                    public_key=authenticator._cose_key(),
                    sign_count=0,
                    transports=["internal"],
                    device_type="single_device",
                    backed_up=False,
                    name="Bench",
                )
            )
            der = authenticator.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
            out.append((user_id, authenticator.credential_id, der))
        s.commit()
    return out


def _users(n: int, password_hash: str) -> Iterator[tuple[Any, ...]]:
    now = utcnow()
    for i in range(n):
        yield (
            customer_id(i),
            customer_email(i),
            True,
            f"Asiakas {i}",
            "Asiakas",
            str(i),
            f"+358 40 {i:07d}",
            False,
            "fi",
            password_hash,
            now,
            False,
            now,
            now,
        )


def _tokens(n: int, customers: int, client_id: str) -> Iterator[tuple[Any, ...]]:
    now = utcnow()
    rng = secrets.SystemRandom()
    for k in range(n):
        issued = now - timedelta(seconds=rng.randrange(30 * 24 * 3600))
        refresh = k % 2 == 0  # half of them customers' grants with a refresh token
        yield (
            str(uuid.uuid4()),
            secrets.token_urlsafe(24),
            digest(secrets.token_urlsafe(32)),
            digest(secrets.token_urlsafe(48)) if refresh else None,
            client_id,
            customer_id(rng.randrange(customers)) if refresh else None,
            "openid profile phone" if refresh else "",
            "openid profile phone" if refresh else "",
            issued if refresh else None,
            "urn:avain:acr:pwd" if refresh else None,
            issued,
            issued + timedelta(seconds=600),
            issued + timedelta(days=30) if refresh else None,
            issued + timedelta(seconds=rng.randrange(1, 3600)) if refresh and k % 4 == 0 else None,
        )


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert(engine: Engine, table: Any, columns: tuple[str, ...], rows: Iterator[Any]) -> None:
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            pg = raw.driver_connection
            assert pg is not None
            with pg.cursor() as cur:
                names = ", ".join(columns)
                with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            pg.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        stmt = table.insert()
        for chunk in _chunks(rows):
            conn.execute(stmt, [dict(zip(columns, row, strict=True)) for row in chunk])


def bulk(engine: Engine, customers: int, tokens: int, client_id: str) -> dict[str, float]:
    """``customers`` customers and ``tokens`` issued tokens; seconds each part took."""
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    shared = passwords.hash_password(CUSTOMERS_PASSWORD)
    _insert(engine, User.__table__, USER_COLUMNS, _users(customers, shared))
    took["customers_s"] = round(time.perf_counter() - t0, 1)
    if tokens:
        t0 = time.perf_counter()
        _insert(engine, Token.__table__, TOKEN_COLUMNS, _tokens(tokens, customers, client_id))
        took["tokens_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    took["analyze_s"] = round(time.perf_counter() - t0, 1)
    return took
