"""What every admin route goes through: the console session, the declared permission, a
fresh passkey for dangerous actions, and the console's response headers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode

from flask import Response, g, jsonify, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.admin import audit, sessions
from idp.admin.roles import PUBLIC, Permission, allows, declare
from idp.db import commit, get_session
from idp.errors import IdpError

F = TypeVar("F", bound=Callable[..., Any])

# No inline script or style, nothing from elsewhere, never framed.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def load_session() -> None:
    """Before each admin request: the signed-in admin on ``g`` (or None)."""
    found = sessions.current(get_session(), request.cookies.get(sessions.COOKIE), sessions.clock())
    g.admin_session = found
    g.admin = found.admin if found else None
    commit()  # last_seen_at moved on, or a session past its limits was ended


def headers(resp: Response) -> Response:
    """Every response under /admin, the error pages included."""
    if request.path == sessions.PATH or request.path.startswith(sessions.PATH + "/"):
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Frame-Options"] = "DENY"
    return resp


def _wants_json() -> bool:
    return request.is_json or request.method != "GET"


def _to_sign_in() -> ResponseReturnValue:
    if _wants_json():
        resp = jsonify({"error": "sign_in_required", "message": _("Sign in to the console.")})
        resp.status_code = 401
        return resp
    return redirect("/admin/sign-in?" + urlencode({"next": request.full_path.rstrip("?")}))


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare and enforce the permission a route needs; a visitor is sent to sign in."""

    def decorate(view: F) -> F:
        @wraps(view)
        def run(*args: Any, **kwargs: Any) -> Any:
            current = g.get("admin_session")
            if current is None:
                return _to_sign_in()
            if not allows(current.admin.role, permission):
                audit.record(get_session(), current.admin, "refused", request.path, permission)
                commit()
                raise IdpError(
                    _("Your role does not allow this."), error="forbidden", status_code=403
                )
            return view(*args, **kwargs)

        return declare(run, permission)  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Declare a route that a visitor reaches (sign-in, enrolment)."""
    return declare(view, PUBLIC)


def fresh_passkey_required(view: F) -> F:
    """A dangerous action: the admin must have proven a passkey in the last five minutes.

    Goes inside :func:`requires`. Otherwise a page asks for the passkey again and comes back
    (JSON callers get 403 ``fresh_passkey_required``).
    """

    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        current = g.get("admin_session")
        if current is None:
            return _to_sign_in()
        if not current.fresh(sessions.clock()):
            if request.is_json:
                resp = jsonify(
                    {
                        "error": "fresh_passkey_required",
                        "message": _("Confirm it is you with your passkey first."),
                    }
                )
                resp.status_code = 403
                return resp
            # back to the page the action was on (a POST route itself cannot be reopened)
            back = request.form.get("next") if request.method == "POST" else request.full_path
            return redirect("/admin/reverify?" + urlencode({"next": safe_next(back)}))
        return view(*args, **kwargs)

    run.fresh_passkey_required = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def safe_next(target: str | None) -> str:
    """Only a path inside the console (no scheme, no host, no ``//``, no dot segments: a
    browser resolves ``/admin/../x`` to ``/x`` before it follows the redirect, RFC 3986
    §5.2.4, and ``%2e`` is a dot to it as well)."""
    if not target or not (target == "/admin" or target.startswith("/admin/")):
        return "/admin/"
    if "\\" in target or any(c < " " for c in target):
        return "/admin/"
    path = target.split("?", 1)[0].split("#", 1)[0]
    if any(segment in {".", ".."} for segment in unquote(path).split("/")):
        return "/admin/"
    return target
