"""Sign-in through Avain for a partner site, with Authlib's Flask OAuth client.

- OpenID Connect discovery (``server_metadata_url``), the authorization code flow with PKCE
  S256 and a nonce; Authlib checks the ID token (signature, iss, aud, exp, nonce).
- Server-side sessions: the cookie holds a random id, the ``logins`` table holds who it is,
  so a back-channel logout can end a session the browser is not part of.
- RP-Initiated Logout 1.0: /logout ends the local session and sends the browser to Avain's
  end_session_endpoint with the ID token as hint and a registered post_logout_redirect_uri.
- Back-Channel Logout 1.0: /backchannel-logout checks Avain's logout token (§2.6) and ends
  the local sessions of its sid or sub.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import CSRFProtect
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from examples.site import db, language

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_TOKEN_AGE = 300  # seconds a logout token's iat may lie in the past (and its jti is kept)

SCHEMA = """
CREATE TABLE IF NOT EXISTS logins (
    id TEXT PRIMARY KEY,          -- the random id in this site's cookie
    sub TEXT NOT NULL,            -- Avain's subject for this site (pairwise or public)
    sid TEXT,                     -- Avain's SSO session id, from the ID token
    name TEXT, email TEXT, phone TEXT,
    id_token TEXT NOT NULL,       -- kept for id_token_hint at logout
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS logins_sid ON logins (sid);
CREATE INDEX IF NOT EXISTS logins_sub ON logins (sub);
CREATE TABLE IF NOT EXISTS seen_logout_tokens (jti TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
"""

csrf = CSRFProtect()  # every form of the site; Avain's back-channel POST is exempt below
bp = Blueprint("signin", __name__)


def init_app(app: Flask, scope: str) -> None:
    """Register Avain as this site's OpenID provider and add the sign-in routes."""
    csrf.init_app(app)
    csrf.exempt(backchannel_logout)
    app.extensions["avain"] = OAuth(app).register(
        "avain",
        client_id=app.config["CLIENT_ID"],
        client_secret=app.config["CLIENT_SECRET"],
        server_metadata_url=app.config["AVAIN_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={"scope": scope, "code_challenge_method": "S256"},
    )
    app.register_blueprint(bp)
    app.before_request(load_customer)


def avain() -> Any:
    """This site's Authlib client for Avain (discovery is fetched on first use)."""
    return current_app.extensions["avain"]


def load_customer() -> None:
    """g.customer: this browser's signed-in customer, or None (also after a back-channel
    logout removed the session row)."""
    g.customer = None
    login_id = session.get("login")
    if login_id:
        g.customer = db().execute("SELECT * FROM logins WHERE id = ?", (login_id,)).fetchone()
        if g.customer is None:
            session.pop("login")


def url(endpoint: str) -> str:
    """An absolute URL of this site, from its configured base URL (not the Host header)."""
    return current_app.config["SITE_URL"] + url_for(endpoint)


@bp.post("/login")
def login() -> ResponseReturnValue:
    session["next"] = request.form.get("next", "/") if _local(request.form.get("next")) else "/"
    return avain().authorize_redirect(url("signin.callback"), ui_locales=language())


def _local(path: str | None) -> bool:
    return bool(path) and path.startswith("/") and not path.startswith("//")


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    next_path = session.pop("next", "/")
    if "error" in request.args:  # e.g. access_denied: the customer said no at Avain
        flash("signin_cancelled")
        return redirect(next_path)
    try:
        token = avain().authorize_access_token()
        profile = avain().userinfo(token=token)
    except (OAuthError, JoseError, ValueError):
        current_app.logger.warning("sign-in through Avain failed", exc_info=True)
        flash("signin_failed")
        return redirect("/")
    claims = token["userinfo"]  # the validated ID token
    if profile.get("sub") != claims["sub"]:
        abort(400)
    login_id = secrets.token_urlsafe(32)
    db().execute(
        "INSERT INTO logins (id, sub, sid, name, email, phone, id_token, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            login_id,
            claims["sub"],
            claims.get("sid"),
            profile.get("name"),
            profile.get("email"),
            profile.get("phone_number"),
            token["id_token"],
            int(time.time()),
        ),
    )
    db().commit()
    cart = session.get("cart")
    session.clear()  # a new cookie value at sign-in
    session["login"] = login_id
    if cart:
        session["cart"] = cart
    return redirect(next_path)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """RP-Initiated Logout 1.0 §2: end ours, then Avain's with our ID token as the hint."""
    customer = g.customer
    session.clear()
    if customer is None:
        return redirect("/")
    db().execute("DELETE FROM logins WHERE id = ?", (customer["id"],))
    db().commit()
    end_session = avain().load_server_metadata()["end_session_endpoint"]
    params = {
        "id_token_hint": customer["id_token"],
        "post_logout_redirect_uri": current_app.config["SITE_URL"] + "/",
        "client_id": current_app.config["CLIENT_ID"],
        "ui_locales": language(),
    }
    return redirect(f"{end_session}?{urlencode(params)}")


@bp.post("/backchannel-logout")
def backchannel_logout() -> ResponseReturnValue:
    """Back-Channel Logout 1.0 §2.8: 200 when the sessions are ended, 400 for a bad token."""
    try:
        claims = check_logout_token(request.form.get("logout_token", ""))
    except InvalidLogoutToken as exc:
        current_app.logger.info("logout token refused: %s", exc)
        response = jsonify(error="invalid_request", error_description=str(exc))
        response.status_code = 400
    else:
        end_sessions(claims.get("sid"), claims.get("sub"))
        response = current_app.response_class(status=200)
    response.headers["Cache-Control"] = "no-store"
    return response


class InvalidLogoutToken(Exception):
    pass


def check_logout_token(token: str) -> dict[str, Any]:
    """Back-Channel Logout 1.0 §2.6, step by step; the claims, or InvalidLogoutToken."""
    metadata = avain().load_server_metadata()
    try:
        header = jws.extract_compact(token.encode()).protected
        if header.get("typ", "logout+jwt") != "logout+jwt":  # §2.4: explicit typing
            raise InvalidLogoutToken("not a logout token (typ)")
        keys = avain().fetch_jwk_set()
        if header.get("kid") not in {k.get("kid") for k in keys.get("keys", [])}:
            keys = avain().fetch_jwk_set(force=True)  # a key Avain has just rotated in
        # 1-3: the signature with Avain's key and an algorithm it publishes
        algorithms = metadata.get("id_token_signing_alg_values_supported", ["RS256"])
        decoded = jwt.decode(token, KeySet.import_key_set(keys), algorithms=algorithms)
        # 3: iss, aud (our client id), iat, exp as for an ID token
        jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": current_app.config["CLIENT_ID"]},
            iat={"essential": True},
            jti={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, KeyError) as exc:
        raise InvalidLogoutToken(f"{type(exc).__name__}: {exc}") from None
    claims = decoded.claims
    now = int(time.time())
    if claims["iat"] < now - MAX_TOKEN_AGE:
        raise InvalidLogoutToken("issued too long ago")
    # 4-6: sub and/or sid; the logout event; no nonce (so an ID token cannot pass for one)
    if not (claims.get("sub") or claims.get("sid")):
        raise InvalidLogoutToken("neither sub nor sid")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
        raise InvalidLogoutToken("no back-channel logout event")
    if "nonce" in claims:
        raise InvalidLogoutToken("a logout token carries no nonce")
    # 7: a jti seen before is a replay
    conn = db()
    conn.execute("DELETE FROM seen_logout_tokens WHERE seen_at < ?", (now - 2 * MAX_TOKEN_AGE,))
    try:
        conn.execute("INSERT INTO seen_logout_tokens VALUES (?, ?)", (claims["jti"], now))
    except sqlite3.IntegrityError:
        raise InvalidLogoutToken("replayed (jti seen before)") from None
    conn.commit()
    return claims


def end_sessions(sid: str | None, sub: str | None) -> int:
    """§2.7: end the sessions of that Avain session, or, with only sub, all of that customer."""
    if sid:
        query, args = "DELETE FROM logins WHERE sid = ?", [sid]
        if sub:
            query, args = query + " AND sub = ?", [sid, sub]
    else:
        query, args = "DELETE FROM logins WHERE sub = ?", [sub]
    ended = db().execute(query, args).rowcount
    db().commit()
    return ended
