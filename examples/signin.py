"""Sign-in through Avain for a partner site, with Authlib's Flask OAuth client.

- OpenID Connect discovery (``server_metadata_url``), the authorization code flow with PKCE
  S256 and a nonce; Authlib checks the ID token (signature, iss, aud, exp, nonce).
- Server-side sessions: the cookie holds a random id, the ``logins`` table holds who it is,
  so a back-channel logout can end a session the browser is not part of.
- RP-Initiated Logout 1.0: /logout ends the local session and sends the browser to Avain's
  end_session_endpoint with the ID token as hint and a registered post_logout_redirect_uri.
- Back-Channel Logout 1.0: /backchannel-logout checks Avain's logout token (§2.6) and ends
  the local sessions of its sid or sub.
- The token set (access, refresh, expiry) and the profile are kept server-side with the
  session (``login_details``); :func:`access_token` refreshes an expired access token.
- A site's own flows that come back to /callback (the shop's consent for a handoff) are
  started with :func:`authorize_flow` and answered by the handler the site registered.
- :func:`expect_sub` makes the next sign-in refuse any other customer (the garage after a
  handoff: the ID token's sub must be the one /userinfo gave for the redeemed handoff).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
CREATE TABLE IF NOT EXISTS login_details (
    login_id TEXT PRIMARY KEY REFERENCES logins (id) ON DELETE CASCADE,
    token_json TEXT NOT NULL,     -- access_token, refresh_token, expires_at
    profile_json TEXT NOT NULL    -- what /userinfo returned at sign-in
);
"""
# session keys that outlive the new cookie value at sign-in
KEPT_AT_SIGNIN = ("cart", "handoff", "handoff_brought")
REFRESH_MARGIN = 30  # seconds before expiry that an access token counts as expired

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
    return sign_in(request.form.get("next") or "/")


def sign_in(next_path: str) -> ResponseReturnValue:
    """Start the authorization code flow; after /callback the browser goes to ``next_path``."""
    session["next"] = next_path if _local(next_path) else "/"
    return avain().authorize_redirect(url("signin.callback"), ui_locales=language())


def _local(path: str | None) -> bool:
    return bool(path) and path.startswith("/") and not path.startswith("//")


def authorize_flow(name: str, data: dict[str, Any], **params: Any) -> ResponseReturnValue:
    """Send the browser to Avain's /authorize for one of the site's own flows; the answer
    comes back to /callback and goes to the handler registered under ``name``."""
    response = avain().authorize_redirect(url("signin.callback"), **params)
    state = parse_qs(urlsplit(response.headers["Location"]).query).get("state", [""])[0]
    session["flow"] = {"name": name, "state": state, **data}
    return response


def flows(app: Flask) -> dict[str, Callable[[dict[str, Any]], ResponseReturnValue]]:
    """The site's flow handlers: ``flows(app)["fitting"] = handler``."""
    registered: dict[str, Callable[[dict[str, Any]], ResponseReturnValue]]
    registered = app.extensions.setdefault("avain.flows", {})
    return registered


def expect_sub(sub: str) -> None:
    """The next sign-in must be this customer's (its ID token's sub), or it is refused."""
    session["expect_sub"] = sub


class WrongCustomer(Exception):
    """The ID token names another customer than :func:`expect_sub` asked for."""


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    flow = session.get("flow")
    if flow and flow.get("state") == request.args.get("state"):
        session.pop("flow")
        return flows(current_app)[flow["name"]](flow)
    next_path = session.pop("next", "/")
    expected = session.pop("expect_sub", None)
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
    if expected is not None and claims["sub"] != expected:
        handler = current_app.extensions.get("avain.wrong_customer")
        if handler is not None:
            return handler()  # type: ignore[no-any-return]
        abort(403)
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
    db().execute(
        "INSERT INTO login_details (login_id, token_json, profile_json) VALUES (?, ?, ?)",
        (login_id, json.dumps(_token_set(token)), json.dumps(dict(profile))),
    )
    db().commit()
    kept = {key: session[key] for key in KEPT_AT_SIGNIN if key in session}
    session.clear()  # a new cookie value at sign-in
    session.update(kept)
    session["login"] = login_id
    return redirect(next_path)


def _token_set(token: dict[str, Any]) -> dict[str, Any]:
    expires_at = token.get("expires_at") or int(time.time()) + int(token.get("expires_in", 0))
    return {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": int(expires_at),
    }


def profile() -> dict[str, Any]:
    """What /userinfo said about the signed-in customer at sign-in ({} when signed out)."""
    if g.customer is None:
        return {}
    row = (
        db()
        .execute("SELECT profile_json FROM login_details WHERE login_id = ?", (g.customer["id"],))
        .fetchone()
    )
    return dict(json.loads(row["profile_json"])) if row else {}


class NoAccessToken(Exception):
    """No usable access token: none kept, or the refresh was refused."""


def access_token(force_refresh: bool = False) -> str:
    """The signed-in customer's access token, refreshed first when it has expired (RFC 6749
    §6); NoAccessToken when there is none or Avain refuses the refresh."""
    if g.customer is None:
        raise NoAccessToken("not signed in")
    row = (
        db()
        .execute("SELECT token_json FROM login_details WHERE login_id = ?", (g.customer["id"],))
        .fetchone()
    )
    if row is None:
        raise NoAccessToken("no token kept for this session")
    tokens = json.loads(row["token_json"])
    if not force_refresh and tokens["expires_at"] > time.time() + REFRESH_MARGIN:
        return str(tokens["access_token"])
    if not tokens.get("refresh_token"):
        raise NoAccessToken("the access token expired and there is no refresh token")
    try:
        fresh = avain().fetch_access_token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
    except (OAuthError, ValueError, OSError) as exc:
        raise NoAccessToken(f"refresh refused: {exc}") from None
    fresh.setdefault("refresh_token", tokens["refresh_token"])
    db().execute(
        "UPDATE login_details SET token_json = ? WHERE login_id = ?",
        (json.dumps(_token_set(fresh)), g.customer["id"]),
    )
    db().commit()
    return str(fresh["access_token"])


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


def avain_keys(kid: str | None) -> KeySet:
    """Avain's published signing keys, fetched again when ``kid`` is not among them (a key
    Avain has just rotated in)."""
    keys = avain().fetch_jwk_set()
    if kid not in {k.get("kid") for k in keys.get("keys", [])}:
        keys = avain().fetch_jwk_set(force=True)
    return KeySet.import_key_set(keys)


class InvalidLogoutToken(Exception):
    pass


def check_logout_token(token: str) -> dict[str, Any]:
    """Back-Channel Logout 1.0 §2.6, step by step; the claims, or InvalidLogoutToken."""
    metadata = avain().load_server_metadata()
    try:
        header = jws.extract_compact(token.encode()).protected
        if header.get("typ", "logout+jwt") != "logout+jwt":  # §2.4: explicit typing
            raise InvalidLogoutToken("not a logout token (typ)")
        # 1-3: the signature with Avain's key and an algorithm it publishes
        algorithms = metadata.get("id_token_signing_alg_values_supported", ["RS256"])
        decoded = jwt.decode(token, avain_keys(header.get("kid")), algorithms=algorithms)
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
