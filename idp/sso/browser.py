"""The browser's SSO session, as flask-login sees it.

flask-login keeps the SSO session id as the "user id" in the signed cookie, so the
user loader finds the server-side session, and revoking it logs the browser out.
"""

from __future__ import annotations

from flask import abort, current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import Session

from idp.db import get_session
from idp.models import SsoSession, User
from idp.sso import sessions


def load_user(sid: str) -> User | None:
    sso = sessions.load_active(get_session(), sid)
    if sso is None:
        return None
    g.sso = sso
    sso.user.current_sid = sso.id
    return sso.user


def current_sso() -> SsoSession | None:
    if not current_user.is_authenticated:
        return None
    sso: SsoSession | None = g.get("sso")
    return sso


def signed_in() -> SsoSession:
    """The SSO session of a ``login_required`` view; a request without one is sent to sign
    in (flask-login's own answer), never an ``assert`` that ``python -O`` would drop."""
    sso = current_sso()
    if sso is None:
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    return sso


def begin_browser_login(sso: SsoSession) -> None:
    """Rotate the cookie session at login (fixation), keeping pending interactions."""
    keep = {k: session[k] for k in ("interactions",) if k in session}
    session.clear()
    session.update(keep)
    sso.user.current_sid = sso.id
    g.sso = sso
    login_user(sso.user, remember=False)


def end_browser_login(db: Session, sso: SsoSession | None) -> None:
    if sso is not None:
        sessions.revoke(db, sso)
    logout_user()
    g.pop("sso", None)


def client_ip() -> str:
    """The client's address (behind a trusted proxy, what ProxyFix took from it)."""
    return request.remote_addr or "unknown"
