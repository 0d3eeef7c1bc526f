"""Receiving a customer from the tire shop (the handoff through Avain, RFC 8693).

The shop's page POSTs a handoff token here. The garage checks it (signed by Avain's key,
``typ`` handoff+jwt, ``iss``, ``aud`` = the garage, ``exp``), redeems it at Avain's token
endpoint with its own client authentication (single use: a second redemption is refused),
and with the access token that gives asks Avain's ``/userinfo`` who the customer is and what
they let the garage have. The handoff token itself names no customer: it carries only the
order, so the shop that held it cannot read what the customer shares with the garage. The
garage keeps the order and the userinfo claims in the ``handoffs`` table. When the customer
withdraws consent, :func:`forget_handoffs` deletes the handed-over data and says when.
"""

from __future__ import annotations

import json
import time
from typing import Any

from authlib.integrations.base_client import OAuthError
from flask import current_app
from joserfc import jws, jwt
from joserfc.errors import JoseError

from examples import signin
from examples.site import db

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
HANDOFF_TYP = "handoff+jwt"
MAX_LIFETIME = 300  # seconds between iat and exp that the garage accepts at most
#: the claims the garage keeps from a handoff (what the garage_booking purpose may carry)
KEPT_CLAIMS = ("name", "phone_number", "car_registration", "email", "tire_purchase")

SCHEMA = """
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY, sub TEXT NOT NULL, order_json TEXT NOT NULL,
    claims_json TEXT NOT NULL, received_at INTEGER NOT NULL, withdrawn_at INTEGER
);
CREATE INDEX IF NOT EXISTS handoffs_sub ON handoffs (sub);
"""


class InvalidHandoff(Exception):
    """The handoff token is refused; ``reason`` is a message key, ``detail`` for the log."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def verify(token: str) -> dict[str, Any]:
    """The handoff token's claims after checking it as a JWT from Avain for the garage.
    They say which order and which shop; who the customer is comes from :func:`userinfo`."""
    avain = signin.avain()
    metadata = avain.load_server_metadata()
    try:
        header = jws.extract_compact(token.encode()).protected
        if header.get("typ") != HANDOFF_TYP:  # explicit typing (RFC 8725 §3.11)
            raise InvalidHandoff("handoff_invalid", f"typ {header.get('typ')!r}")
        algorithms = metadata.get("id_token_signing_alg_values_supported", ["RS256"])
        decoded = jwt.decode(token, signin.avain_keys(header.get("kid")), algorithms=algorithms)
        jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": current_app.config["CLIENT_ID"]},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        ).validate(decoded.claims)
    except InvalidHandoff:
        raise
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        name = type(exc).__name__
        reason = "handoff_expired" if name == "ExpiredTokenError" else "handoff_invalid"
        raise InvalidHandoff(reason, f"{name}: {exc}") from None
    claims = dict(decoded.claims)
    if claims["exp"] - claims["iat"] > MAX_LIFETIME:
        raise InvalidHandoff("handoff_invalid", "lifetime longer than the garage accepts")
    return claims


def redeem(token: str) -> dict[str, Any]:
    """Step C: the garage redeems the handoff at Avain's token endpoint (single use)."""
    try:
        answer: dict[str, Any] = signin.avain().fetch_access_token(
            grant_type=TOKEN_EXCHANGE,
            subject_token=token,
            subject_token_type=JWT_TOKEN_TYPE,
            scope="",  # Authlib would add the sign-in scope; the handoff decides what is shared
        )
    except OAuthError as exc:
        raise InvalidHandoff("handoff_not_redeemed", f"{exc.error}: {exc.description}") from None
    except (ValueError, OSError) as exc:
        raise InvalidHandoff("handoff_not_redeemed", str(exc)) from None
    return answer


def userinfo(redeemed: dict[str, Any]) -> dict[str, Any]:
    """Step D: Avain's /userinfo, asked with the redeemed access token: the garage's pairwise
    ``sub`` for the customer and exactly the claims the customer let the garage have."""
    try:
        info = dict(signin.avain().userinfo(token=redeemed))
    except OAuthError as exc:
        raise InvalidHandoff("handoff_no_userinfo", f"{exc.error}: {exc.description}") from None
    except (ValueError, OSError) as exc:  # an HTTP error status, no JSON, no connection
        raise InvalidHandoff("handoff_no_userinfo", str(exc)) from None
    if not isinstance(info.get("sub"), str) or not info["sub"]:
        raise InvalidHandoff("handoff_no_userinfo", "no sub in the userinfo response")
    return info


def order_of(claims: dict[str, Any]) -> dict[str, Any]:
    """The order of the tire_fitting authorization details (RFC 9396) the handoff carries."""
    for entry in claims.get("authorization_details") or []:
        if isinstance(entry, dict) and entry.get("type") == "tire_fitting":
            order = entry.get("order")
            return dict(order) if isinstance(order, dict) else {}
    return {}


def store(handoff: dict[str, Any], info: dict[str, Any]) -> int:
    """Keep the order of the handoff token and the claims of the userinfo response."""
    kept = {name: info[name] for name in KEPT_CLAIMS if name in info}
    conn = db()
    row_id = conn.execute(
        "INSERT INTO handoffs (sub, order_json, claims_json, received_at) VALUES (?, ?, ?, ?)",
        (info["sub"], json.dumps(order_of(handoff)), json.dumps(kept), int(time.time())),
    ).lastrowid
    conn.commit()
    return int(row_id or 0)


def receive(token: str) -> tuple[int, str]:
    """Check, redeem and keep a handoff token; its row id and the customer's sub."""
    if not token or len(token) > 16_000:
        raise InvalidHandoff("handoff_invalid", "no token, or too long")
    handoff = verify(token)  # any customer claims in it are ignored: userinfo is the source
    info = userinfo(redeem(token))
    return store(handoff, info), info["sub"]


def find(handoff_id: int | None) -> dict[str, Any] | None:
    """A handoff row with its JSON decoded, or None."""
    if handoff_id is None:
        return None
    row = db().execute("SELECT * FROM handoffs WHERE id = ?", (handoff_id,)).fetchone()
    if row is None:
        return None
    return dict(row) | {
        "order": json.loads(row["order_json"]),
        "claims": json.loads(row["claims_json"]),
    }


def latest_of(sub: str) -> dict[str, Any] | None:
    row = (
        db()
        .execute("SELECT id FROM handoffs WHERE sub = ? ORDER BY id DESC LIMIT 1", (sub,))
        .fetchone()
    )
    return find(row["id"]) if row else None


def discard(handoff_id: int) -> None:
    """A handoff the signed-in customer does not match: the garage keeps nothing of it."""
    db().execute("DELETE FROM handoffs WHERE id = ?", (handoff_id,))
    db().commit()


def forget_handoffs(sub: str) -> int:
    """The customer withdrew consent: delete the handed-over data of that subject (and its
    copies in bookings), keeping only when it was withdrawn. Returns the handoffs forgotten."""
    now = int(time.time())
    conn = db()
    conn.execute(
        "UPDATE booking_extras SET car_registration = NULL, tires = NULL"
        " WHERE handoff_id IN (SELECT id FROM handoffs WHERE sub = ?)",
        (sub,),
    )
    forgotten = conn.execute(
        "UPDATE handoffs SET order_json = '{}', claims_json = '{}', withdrawn_at = ?"
        " WHERE sub = ? AND withdrawn_at IS NULL",
        (now, sub),
    ).rowcount
    conn.commit()
    return int(forgotten)
