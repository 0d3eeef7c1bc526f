"""The customer's own account page: profile, sessions, password."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from idp.account.agents import describe
from idp.auth import accounts, sessions
from idp.auth.current import current_sso, end_browser_login
from idp.auth.messages import message
from idp.db import commit, get_session
from idp.events import outbox
from idp.models import SsoSession

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/")
@login_required
def home() -> ResponseReturnValue:
    sso = current_sso()
    assert sso is not None
    return Response(
        render_template(
            "account/home.html",
            user=sso.user,
            current_sid=sso.id,
            sessions=sessions.list_active(get_session(), sso.user_id),
            notice=request.args.get("notice"),
            describe=describe,
        )
    )


@bp.route("/sessions/<sid>/revoke", methods=["POST"])
@login_required
def revoke_session(sid: str) -> ResponseReturnValue:
    from idp.oauth.logout import end_session

    sso = current_sso()
    assert sso is not None
    db = get_session()
    target = db.get(SsoSession, sid[:64])
    if target is None or target.user_id != sso.user_id:
        return redirect(url_for("account.home"))
    queued = end_session(db, target)
    if target.id == sso.id:
        end_browser_login(db, sso)
    commit()
    if queued:
        outbox.kick(current_app._get_current_object())  # type: ignore[attr-defined]
    return redirect(url_for("account.home") if target.id != sso.id else url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    sso = current_sso()
    assert sso is not None
    error = None
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("new_password_confirm", ""):
            error = message("password_mismatch")
        else:
            try:
                accounts.change_password(sso.user, request.form.get("current_password", ""), new)
            except accounts.AccountError as exc:
                error = message(exc.code)
            else:
                from idp.oauth.logout import end_session

                db = get_session()
                for other in sessions.list_active(db, sso.user_id):
                    if other.id != sso.id:
                        end_session(db, other)
                commit()
                return redirect(url_for("account.home", notice="password_changed"))
    return Response(
        render_template("account/password.html", error=error, title=_("Change password")),
        status=400 if error else 200,
    )


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    """The customer edits the claims Avain keeps about them (OIDC Core §5.1)."""
    sso = current_sso()
    assert sso is not None
    user = sso.user
    error = None
    if request.method == "POST":
        try:
            accounts.update_profile(
                user, request.form.to_dict(), current_app.config["AVAIN"].languages
            )
        except accounts.AccountError as exc:
            error = message(exc.code)
        else:
            commit()
            return redirect(url_for("account.home", notice="profile_saved"))
    return Response(
        render_template(
            "account/profile.html",
            user=user,
            error=error,
            form=request.form if error else None,
            address=user.address or {},
        ),
        status=400 if error else 200,
    )
