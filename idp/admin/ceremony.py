"""The WebAuthn challenge between the options and the answer, for one console ceremony.

Before sign-in there is no console session to keep it in, and the customers' Flask session
is not the console's: the challenge travels in a short-lived cookie of its own (Path=/admin,
HttpOnly, SameSite=Strict), signed with the app's secret and bound to its purpose (sign-in,
enrolment of one link, re-verification of one session). It is accepted once (the replay
cache) and for five minutes (WebAuthn L3 §13.4.3).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from webauthn import base64url_to_bytes
from webauthn.helpers import bytes_to_base64url

from idp import context, replay
from idp.admin.accounts import AdminError
from idp.admin.sessions import PATH
from idp.db import get_session, utcnow

COOKIE = "avain_admin_ceremony"
LIFETIME = 300  # seconds


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(context.settings().secret_key, salt="avain-admin-ceremony")


def remember(resp: Response, purpose: str, challenge: bytes) -> Response:
    value = _serializer().dumps({"purpose": purpose, "challenge": bytes_to_base64url(challenge)})
    resp.set_cookie(
        COOKIE,
        value,
        max_age=LIFETIME,
        path=PATH,
        httponly=True,
        samesite="Strict",
        secure=context.settings().issuer_is_https,
    )
    return resp


def take(purpose: str) -> bytes:
    """The challenge given for ``purpose``: once, while fresh."""
    raw = request.cookies.get(COOKIE, "")
    try:
        stored = _serializer().loads(raw, max_age=LIFETIME)
    except BadSignature:  # SignatureExpired is one
        raise AdminError("no_challenge") from None
    if not isinstance(stored, dict) or stored.get("purpose") != purpose:
        raise AdminError("no_challenge")
    challenge = str(stored.get("challenge", ""))
    until = utcnow() + timedelta(seconds=LIFETIME)
    if not replay.first_use(get_session(), f"admin-webauthn:{challenge}", until):
        raise AdminError("no_challenge")
    return base64url_to_bytes(challenge)


def forget(resp: Response) -> Response:
    resp.delete_cookie(COOKIE, path=PATH)
    return resp
