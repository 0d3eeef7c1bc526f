"""The customer's own account page: profile, sessions, password."""

from __future__ import annotations

from datetime import timedelta

from babel.lists import format_list
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_time, get_locale, gettext as _
from flask_login import login_required

from consent import ledger
from idp import context, contributions, sso as sso_service
from idp.account import sharing
from idp.account.agents import describe
from idp.auth import accounts, limits, passkeys
from idp.auth.messages import message
from idp.db import aware, commit, get_session, utcnow
from idp.events import outbox
from idp.extensions import login_manager
from idp.i18n import remember_choice
from idp.ledger.consents import NotApplicable
from idp.ledger.context import consent_context
from idp.ledger.labels import (
    basis_label,
    claim_label,
    claim_noun,
    in_reading_order,
    status_label,
)
from idp.models import Client, SsoSession
from idp.sso import client_ip, current_sso, end_browser_login, end_session

bp = Blueprint("account", __name__, url_prefix="/account")


def _signed_in() -> SsoSession:
    """The session ``login_required`` let in. The user loader sets it with flask-login's
    user; should the two ever disagree, the customer signs in again (not an assert: under
    ``python -O`` that would be a 500)."""
    sso = current_sso()
    if sso is None:
        abort(login_manager.unauthorized())
    return sso


@bp.route("/")
@login_required
def home() -> ResponseReturnValue:
    sso = _signed_in()
    shared = sharing.overview(get_session(), consent_context(), sso.user, g.get("lang") or "en")
    key = (request.args.get("recipient"), request.args.get("purpose"))
    return Response(
        render_template(
            "account/home.html",
            user=sso.user,
            current_sid=sso.id,
            sessions=sso_service.list_active(get_session(), sso.user_id),
            notice=request.args.get("notice"),
            # the item a withdrawal or objection just changed, for the notice to name it
            changed=next((i for i in shared if (i.recipient_id, i.purpose_id) == key), None),
            describe=describe,
            sharing=shared,
            disclosed=sharing.disclosed(get_session(), consent_context(), sso.user),
            told=_told,
            claim_label=claim_label,
            status_label=status_label,
            basis_label=basis_label,
            passkeys=passkeys.of_user(get_session(), sso.user),
            contributed=contributions.of_user(get_session(), sso.user_id),
            passkey_error=message(f"passkey_{request.args['passkey_error']}")
            if request.args.get("passkey_error")
            else None,
        )
    )


def _told(item: sharing.Disclosed) -> str:
    """E.g. "Korjaamo Virtanen received your name and phone number on Dec 2, 2026 10:14 UTC"."""
    names = [claim_noun(c) for c in in_reading_order(item.claims)]
    claims = format_list(names, locale=str(get_locale() or "en"))
    when = f"{format_date(item.last, 'medium')} {format_time(item.last, 'short')} UTC"
    text = _(
        "%(recipient)s received %(claims)s on %(when)s",
        recipient=item.recipient_name,
        claims=claims,
        when=when,
    )
    if item.times > 1:
        text += " " + _("(%(num)s times that day)", num=item.times)
    return str(text)


@bp.route("/contributed/<int:contribution_id>/delete", methods=["POST"])
@login_required
def delete_contribution(contribution_id: int) -> ResponseReturnValue:
    """The customer deletes what a partner added to their profile (a tire purchase)."""
    sso = _signed_in()
    removed = contributions.remove(get_session(), sso.user_id, contribution_id)
    commit()
    return redirect(url_for("account.home", notice="contribution_deleted" if removed else None))


@bp.route("/sessions/<sid>/revoke", methods=["POST"])
@login_required
def revoke_session(sid: str) -> ResponseReturnValue:
    sso = _signed_in()
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


FRESH_SIGN_IN = timedelta(minutes=10)


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete() -> ResponseReturnValue:
    """GDPR Art. 17: the customer deletes their own account, after proving it is them."""
    sso = _signed_in()
    user = sso.user
    needs_password = user.password_hash is not None
    fresh = aware(sso.auth_time) > utcnow() - FRESH_SIGN_IN
    error = None
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            error = _("Tick the box to confirm that you want to delete your account.")
        elif needs_password:
            db = get_session()
            try:
                accounts.confirm_password(
                    limits.login_throttle(db), user, request.form.get("password", ""), client_ip()
                )
            except accounts.AccountError as exc:
                error = message(exc.code)
                commit()  # the failure counts
        elif not fresh:
            error = _("Sign out and sign in again, then delete your account within 10 minutes.")
        if error is None:
            db = get_session()
            queued = accounts.delete_account(db, user)
            end_browser_login(db, None)
            commit()
            if queued:
                outbox.kick(current_app._get_current_object())  # type: ignore[attr-defined]
            return Response(render_template("account/deleted.html"))
    return Response(
        render_template(
            "account/delete.html",
            error=error,
            needs_password=needs_password,
            fresh=fresh,
        ),
        status=400 if error else 200,
    )


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    sso = _signed_in()
    error = None
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("new_password_confirm", ""):
            error = message("password_mismatch")
        else:
            db = get_session()
            try:
                accounts.change_password(
                    limits.login_throttle(db),
                    sso.user,
                    request.form.get("current_password", ""),
                    new,
                    client_ip(),
                )
            except accounts.AccountError as exc:
                error = message(exc.code)
                commit()  # a wrong current password counts toward the sign-in limit
            else:
                sso_service.end_other_sessions(get_session(), sso.user, keep=sso.id)
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
    sso = _signed_in()
    user = sso.user
    error = None
    if request.method == "POST":
        try:
            accounts.update_profile(user, request.form.to_dict(), context.settings().languages)
        except accounts.AccountError as exc:
            error = message(exc.code)
        else:
            commit()
            done = redirect(url_for("account.home", notice="profile_saved"))
            return remember_choice(done, user.locale) if user.locale else done
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


@bp.route("/sharing/<any(withdraw, object, restrict):action>", methods=["POST"])
@login_required
def change_sharing(action: str) -> ResponseReturnValue:
    """Withdraw a consent (Art. 7(3): one action, as easy as giving), object to processing on
    legitimate interest (Art. 21) or restrict processing (Art. 18)."""
    sso = _signed_in()
    db = get_session()
    client = db.get(Client, request.form.get("recipient", "")[:64])
    if client is None:
        return redirect(url_for("account.home"))
    try:
        queued = sharing.change(
            db,
            consent_context(),
            context.settings().issuer,
            sso.user,
            client,
            request.form.get("purpose", "")[:100],
            action,
            language=g.get("lang") or "en",
            session_id=sso.id,
            now=utcnow(),
        )
    except (LookupError, NotApplicable):  # a stale page or a crafted form: nothing to do
        return redirect(url_for("account.home"))
    commit()
    if queued:
        outbox.kick(current_app._get_current_object())  # type: ignore[attr-defined]
    notice = {"withdraw": "withdrawn", "object": "objected", "restrict": "restricted"}[action]
    # the page names what stopped: the purpose and the recipient of the form
    return redirect(
        url_for(
            "account.home",
            notice=notice,
            recipient=client.client_id,
            purpose=request.form.get("purpose", "")[:100],
        )
    )


@bp.route("/sharing/turn-on", methods=["POST"])
@login_required
def turn_on() -> ResponseReturnValue:
    """GDPR Art. 7: give a consent offered on the account page, with the claims ticked."""
    sso = _signed_in()
    db = get_session()
    client = db.get(Client, request.form.get("recipient", "")[:64])
    if client is None:
        return redirect(url_for("account.home"))
    claims = {
        k.removeprefix("claim:")
        for k, v in request.form.items()
        if k.startswith("claim:") and v == "on"
    }
    try:
        sharing.turn_on(
            db,
            consent_context(),
            sso.user,
            client,
            request.form.get("purpose", "")[:100],
            claims,
            language=g.get("lang") or "en",
            session_id=sso.id,
            now=utcnow(),
        )
    except (LookupError, NotApplicable):  # a stale page or a crafted form: nothing to do
        return redirect(url_for("account.home"))
    commit()
    return redirect(url_for("account.home", notice="given"))


@bp.route("/sharing/receipts")
@login_required
def receipts() -> ResponseReturnValue:
    """A signed receipt for every consent event, each downloadable and checkable."""
    sso = _signed_in()
    s = context.settings()
    items = sharing.receipts_of(
        get_session(), consent_context(), sso.user, s.issuer, s.controller_name, utcnow()
    )
    commit()
    ctx = consent_context()
    lang = g.get("lang") or "en"
    described = [
        (row, token, *sharing.describe_row(ctx, get_session(), row, lang)) for row, token in items
    ]
    return Response(
        render_template(
            "account/receipts.html",
            queued=ledger.queued(get_session(), ctx.keys, sso.user.id),
            items=described,
            status_label=status_label,
            claim_label=claim_label,
        )
    )


@bp.route("/sharing/receipts/<int:seq>.jwt")
@login_required
def receipt_file(seq: int) -> ResponseReturnValue:
    sso = _signed_in()
    s = context.settings()
    for row, token in sharing.receipts_of(
        get_session(), consent_context(), sso.user, s.issuer, s.controller_name, utcnow()
    ):
        if row.seq == seq:
            return Response(
                token,
                mimetype="application/jwt",
                headers={
                    "Content-Disposition": f'attachment; filename="consent-receipt-{seq}.jwt"'
                },
            )
    return redirect(url_for("account.receipts"))


@bp.route("/sharing/export.json")
@login_required
def export() -> ResponseReturnValue:
    """The customer's whole consent history (ISO/IEC TS 27560 field names)."""
    sso = _signed_in()
    data = sharing.export(get_session(), consent_context(), sso.user)
    resp = jsonify(data)
    resp.headers["Content-Disposition"] = 'attachment; filename="avain-consent-history.json"'
    return resp


@bp.route("/security", methods=["POST"])
@login_required
def security() -> ResponseReturnValue:
    """The customer's choice: a passkey after the password, or passkeys only."""
    sso = _signed_in()
    user = sso.user
    db = get_session()
    usable = [p for p in passkeys.of_user(db, user) if p.blocked_at is None]
    action = request.form.get("action")
    if action in {"second_factor_on", "passkey_only"} and not usable:
        return redirect(url_for("account.home", passkey_error="last_way_in"))
    if action == "second_factor_on":
        user.passkey_second_factor = True
    elif action == "second_factor_off":
        user.passkey_second_factor = False
    elif action == "passkey_only":
        user.password_hash = None
        user.passkey_second_factor = False
    else:
        return redirect(url_for("account.home"))
    commit()
    return redirect(url_for("account.home", notice=f"security_{action}"))
