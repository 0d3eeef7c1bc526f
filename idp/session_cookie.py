"""Flask's signed cookie session, with its signing serializer made once per set of keys.

Flask builds an ``itsdangerous`` serializer twice per request (to open the session and to
save it), even for a request that carries no cookie and gets none: the back-channel calls
of relying parties, the bulk of what Avain serves. The serializer holds only its keys and
settings, so one per key set (the secret key and ``SECRET_KEY_FALLBACKS``) serves every
request and thread alike.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._made: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        try:
            return self._made[keys]
        except KeyError:
            made = self._made[keys] = super().get_signing_serializer(app)
            return made
