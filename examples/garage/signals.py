"""The garage as a Shared Signals Framework 1.0 receiver: Avain tells it when a customer
withdraws consent, deletes their account or ends their session.

At start-up (:func:`start_registration`, a background thread that retries until Avain
answers) the garage gets an access token with the client credentials grant, reads Avain's
``/.well-known/ssf-configuration`` and creates its push stream (RFC 8935) pointing at
``SITE_URL/ssf/events``, or brings an existing one up to date. Avain sends each Security
Event Token (RFC 8417) there with the ``Authorization`` header the garage chose (a random
secret kept in the instance folder).

Each SET is checked before anything is done: the header ``typ`` ``secevent+jwt``, the
signature with a key from Avain's JWKS, ``iss`` Avain's issuer, ``aud`` the garage's client
id, a ``jti`` not seen before. Then:

* consent withdrawn (or objected to, or restricted) for ``garage_booking``, or the account
  purged: the handed-over data of that customer is forgotten (:func:`forget_handoffs`),
  and for a purged account the garage's sessions of the customer end too;
* session revoked: the customer's sessions at the garage end.

The answer is 202, or 400 with an RFC 8935 §2.4 error (Avain records it and does not send
that SET again).
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from joserfc import jws, jwt
from joserfc.errors import JoseError

from examples import signin
from examples.site import db

log = logging.getLogger(__name__)

PUSH = "urn:ietf:rfc:8935"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
ACCOUNT_PURGED = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
CONSENT_EVENTS = ("consent-withdrawn", "consent-objected", "consent-restricted")
PURPOSE = "garage_booking"
MAX_AGE = 24 * 3600  # seconds a SET's jti is remembered (Avain retries for hours at most)

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_sets (jti TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
"""

bp = Blueprint("signals", __name__)


class BadSet(Exception):
    def __init__(self, err: str, description: str) -> None:
        super().__init__(description)
        self.err = err
        self.description = description


def consent_event(issuer: str, name: str) -> str:
    """Avain's own event types live under its issuer URL."""
    return f"{issuer}/ssf/event-type/{name}"


def init_app(app: Flask, forget: Callable[[str], int]) -> None:
    """Receive SETs at /ssf/events; ``forget(sub)`` drops a customer's handed-over data."""
    app.extensions["garage.forget"] = forget
    app.config.setdefault("SSF_AUTHORIZATION", f"Bearer {_receiver_secret(app)}")
    signin.csrf.exempt(receive)
    app.register_blueprint(bp)
    with app.app_context():
        db().executescript(SCHEMA)
        db().commit()


def start_registration(app: Flask) -> threading.Thread:
    """Create or update the stream at Avain in the background (``python -m examples.garage``
    does this when it starts; Avain may still be starting too)."""
    thread = threading.Thread(target=_register_until_done, args=(app,), daemon=True)
    thread.start()
    return thread


def _receiver_secret(app: Flask) -> str:
    path = Path(app.instance_path, "ssf-receiver.key")
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _register_until_done(app: Flask, attempts: int = 30) -> None:
    for attempt in range(attempts):
        try:
            stream = register_stream(app)
        except (requests.RequestException, ValueError, KeyError) as exc:
            log.info("SSF stream not registered yet (%s); retrying", exc)
            time.sleep(min(2.0 * (attempt + 1), 10.0))
        else:
            log.info("SSF stream %s delivers to %s", stream["stream_id"], stream["delivery"])
            return
    log.warning("gave up registering the SSF stream at Avain")


def _http(app: Flask) -> OAuth2Session:
    """An HTTP session with a fresh client-credentials access token."""
    issuer = app.config["AVAIN_ISSUER"]
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    session = OAuth2Session(app.config["CLIENT_ID"], app.config["CLIENT_SECRET"], timeout=10)
    session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    return session


def register_stream(app: Flask) -> dict[str, Any]:
    """Create the push stream, or replace an existing one's settings; returns it."""
    issuer = app.config["AVAIN_ISSUER"]
    config = requests.get(f"{issuer}/.well-known/ssf-configuration", timeout=10)
    config.raise_for_status()
    endpoint = config.json()["configuration_endpoint"]
    session = _http(app)
    wanted = {
        "delivery": {
            "method": PUSH,
            "endpoint_url": app.config["SITE_URL"] + "/ssf/events",
            "authorization_header": app.config["SSF_AUTHORIZATION"],
        },
        "events_requested": [
            SESSION_REVOKED,
            ACCOUNT_PURGED,
            *(consent_event(issuer, n) for n in CONSENT_EVENTS),
        ],
        "description": "Korjaamo Virtanen",
    }
    existing = session.get(endpoint)
    existing.raise_for_status()
    streams = existing.json()
    if streams:
        resp = session.put(endpoint, json={"stream_id": streams[0]["stream_id"], **wanted})
    else:
        resp = session.post(endpoint, json=wanted)
    resp.raise_for_status()
    found: dict[str, Any] = resp.json()
    return found


@bp.post("/ssf/events")
def receive() -> ResponseReturnValue:
    """RFC 8935 §2: 202 when the SET is taken, 400 with ``err`` and ``description`` if not."""
    if request.headers.get("Authorization") != current_app.config["SSF_AUTHORIZATION"]:
        response = jsonify(err="authentication_failed", description="unknown Authorization")
        response.status_code = 401
        return response
    if request.mimetype != "application/secevent+jwt":
        return _refuse(BadSet("invalid_request", "Content-Type must be application/secevent+jwt"))
    try:
        claims = check_set(request.get_data(as_text=True))
    except BadSet as exc:
        current_app.logger.info("SET refused: %s %s", exc.err, exc.description)
        return _refuse(exc)
    act_on(claims)
    return current_app.response_class(status=202)


def _refuse(exc: BadSet) -> ResponseReturnValue:
    response = jsonify(err=exc.err, description=exc.description)
    response.status_code = 400
    return response


def check_set(token: str) -> dict[str, Any]:
    """RFC 8417 §2-§3 and SSF 1.0 §4: typ, signature, iss, aud, jti; the claims."""
    avain = signin.avain()
    metadata = avain.load_server_metadata()
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise BadSet("invalid_request", f"not a JWS: {exc}") from None
    if header.get("typ") != "secevent+jwt":
        raise BadSet("invalid_request", "typ must be secevent+jwt")
    try:
        keys = signin.avain_keys(header.get("kid"))
        decoded = jwt.decode(token, keys, algorithms=["RS256", "ES256"])
    except (JoseError, ValueError) as exc:
        raise BadSet("invalid_key", f"signature: {exc}") from None
    claims = dict(decoded.claims)
    if claims.get("iss") != metadata["issuer"]:
        raise BadSet("invalid_issuer", "iss is not Avain")
    aud = claims.get("aud")
    if current_app.config["CLIENT_ID"] not in (aud if isinstance(aud, list) else [aud]):
        raise BadSet("invalid_audience", "aud is not this garage")
    if not isinstance(claims.get("jti"), str) or not isinstance(claims.get("events"), dict):
        raise BadSet("invalid_request", "jti and events are required")
    now = int(time.time())
    conn = db()
    conn.execute("DELETE FROM seen_sets WHERE seen_at < ?", (now - MAX_AGE,))
    try:
        conn.execute("INSERT INTO seen_sets VALUES (?, ?)", (claims["jti"], now))
    except sqlite3.IntegrityError:
        raise BadSet("invalid_request", "jti seen before") from None
    conn.commit()
    return claims


def act_on(claims: dict[str, Any]) -> None:
    """Do what each event in the SET asks of the garage."""
    subject = claims.get("sub_id") or {}
    sub = subject.get("sub") if subject.get("format") == "iss_sub" else None
    if not isinstance(sub, str):
        return  # e.g. a verification event about the stream itself
    issuer = current_app.config["AVAIN_ISSUER"]
    forget: Callable[[str], int] = current_app.extensions["garage.forget"]
    consent_types = {consent_event(issuer, n) for n in CONSENT_EVENTS}
    for event_type, body in claims["events"].items():
        if event_type in consent_types and isinstance(body, dict):
            if body.get("purpose") == PURPOSE:
                forget(sub)
        elif event_type == ACCOUNT_PURGED:
            forget(sub)
            signin.end_sessions(None, sub)
        elif event_type == SESSION_REVOKED:
            signin.end_sessions(None, sub)
