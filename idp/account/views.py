"""The customer's own account pages, in four sections: Profile (``/account/``), Sign-in and
security (``/account/security``), Sharing (``/account/sharing``) and Privacy
(``/account/privacy``), each with the forms it posts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from consent import ledger
from idp import context, contributions, sso as sso_service
from idp.account import notices, sharing
from idp.account.agents import describe
from idp.auth import accounts, freshness, limits, passkeys
from idp.auth.messages import message
from idp.db import aware, commit, get_session, utcnow
from idp.events import outbox
from idp.extensions import login_manager
from idp.ledger.consents import NotApplicable
from idp.ledger.context import consent_context
from idp.ledger.labels import (
    basis_label,
    claim_label,
    claim_noun,
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


#: notices of a section that moved off /account/ (before the page had sections): an old
#: link or a redirect built by an older instance lands on the section that shows it
_NOTICE_SECTIONS = {
    "given": "account.sharing_page",
    "withdrawn": "account.sharing_page",
    "objected": "account.sharing_page",
    "restricted": "account.sharing_page",
    "passkey_added": "account.security",
    "passkey_removed": "account.security",
    "passkey_renamed": "account.security",
    "password_changed": "account.security",
    "password_set": "account.security",
}


def _moved(notice: str | None) -> str | None:
    if request.args.get("passkey_error") or (notice or "").startswith("security_"):
        return "account.security"
    return _NOTICE_SECTIONS.get(notice or "")


@bp.route("/")
@login_required
def home() -> ResponseReturnValue:
    """Profile: the details Avain keeps and what partners added."""
    sso = _signed_in()
    notice = request.args.get("notice")
    moved = _moved(notice)
    if moved is not None:
        query: dict[str, Any] = request.args.to_dict()
        return redirect(url_for(moved, **query))
    return Response(
        render_template(
            "account/home.html",
            section="profile",
            user=sso.user,
            notice=notice,
            claim_label=claim_label,
            contributed=contributions.of_user(get_session(), sso.user_id),
        )
    )


@bp.route("/sharing")
@login_required
def sharing_page() -> ResponseReturnValue:
    """Sharing: one card per recipient, with what it gets, why, since when, what it has
    received, and the rights to withdraw, object and restrict."""
    sso = _signed_in()
    ctx = consent_context()
    db = get_session()
    shared = sharing.overview(db, ctx, sso.user, g.get("lang") or "en")
    changed = _changed(shared)
    log = context.settings().disclosure_log
    received = sharing.disclosed(db, ctx, sso.user) if log else []
    return Response(
        render_template(
            "account/sharing.html",
            section="sharing",
            notice=request.args.get("notice"),
            # the item a withdrawal or objection just changed, for the notice to name it
            changed=changed,
            what_stopped=notices.what_stopped(changed, _effect()),
            cards=sharing.cards(shared, received, ctx),
            disclosure_log=log,
            told=notices.told,
            claim_label=claim_label,
            claim_noun=claim_noun,
            status_label=status_label,
            basis_label=basis_label,
        )
    )


def _changed(shared: list[sharing.Sharing]) -> sharing.Sharing | None:
    key = (request.args.get("recipient"), request.args.get("purpose"))
    return next((i for i in shared if (i.recipient_id, i.purpose_id) == key), None)


EFFECT_KEY = "account_effect"


def _effect() -> dict[str, Any] | None:
    """What the change named in the URL stopped, as :func:`change_sharing` left it for this
    browser (a link alone cannot make the page claim anything)."""
    stored = session.get(EFFECT_KEY)
    if not isinstance(stored, dict):
        return None
    if (stored.get("recipient"), stored.get("purpose")) != (
        request.args.get("recipient"),
        request.args.get("purpose"),
    ):
        return None
    return stored


@bp.route("/security", methods=["GET", "POST"])
@login_required
def security() -> ResponseReturnValue:
    """Sign-in and security: password, passkeys, second factor, sessions. A POST is the
    customer's choice of a passkey after the password, or passkeys only."""
    sso = _signed_in()
    if request.method == "POST":
        return _security_choice(sso)
    db = get_session()
    return Response(
        render_template(
            "account/security.html",
            section="security",
            user=sso.user,
            current_sid=sso.id,
            sessions=sso_service.list_active(db, sso.user_id),
            notice=request.args.get("notice"),
            describe=describe,
            passkeys=passkeys.of_user(db, sso.user),
            passkey_error=message(f"passkey_{request.args['passkey_error']}")
            if request.args.get("passkey_error")
            else None,
        )
    )


@bp.route("/privacy")
@login_required
def privacy() -> ResponseReturnValue:
    """Privacy: consent receipts, the history export, deleting the account."""
    _signed_in()
    return Response(render_template("account/privacy.html", section="privacy"))


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
        return redirect(url_for("account.security"))
    queued = end_session(db, target)
    if target.id == sso.id:
        end_browser_login(db, sso)
    commit()
    if queued:
        outbox.kick(current_app._get_current_object())  # type: ignore[attr-defined]
    return redirect(url_for("account.security") if target.id != sso.id else url_for("auth.login"))


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
            section="privacy",
            error=error,
            needs_password=needs_password,
            fresh=fresh,
        ),
        status=400 if error else 200,
    )


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    """Change the password, or, on a passkey-only account, set one: there is no old password
    to ask for, so a passkey proven minutes ago stands in for it."""
    sso = _signed_in()
    setting = sso.user.password_hash is None
    fresh = freshness.fresh(session, sso, utcnow())
    error = None
    if request.method == "POST":
        new = request.form.get("new_password", "")
        db = get_session()
        try:
            if new != request.form.get("new_password_confirm", ""):
                raise accounts.AccountError("password_mismatch")
            if setting:
                accounts.set_first_password(sso.user, new, fresh=fresh)
            else:
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
            sso_service.end_other_sessions(db, sso.user, keep=sso.id)
            commit()
            notice = "password_set" if setting else "password_changed"
            return redirect(url_for("account.security", notice=notice))
    return Response(
        render_template(
            "account/password.html",
            section="security",
            error=error,
            setting=setting,
            fresh=fresh,
            title=_("Set a password") if setting else _("Change password"),
        ),
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
            return redirect(url_for("account.home", notice="profile_saved"))
    return Response(
        render_template(
            "account/profile.html",
            section="profile",
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
        return redirect(url_for("account.sharing_page"))
    try:
        purpose_id = request.form.get("purpose", "")[:100]
        effect = sharing.change_with_effect(
            db,
            consent_context(),
            context.settings().issuer,
            sso.user,
            client,
            purpose_id,
            action,
            language=g.get("lang") or "en",
            session_id=sso.id,
            now=utcnow(),
        )
    except (LookupError, NotApplicable):  # a stale page or a crafted form: nothing to do
        return redirect(url_for("account.sharing_page"))
    commit()
    if effect.queued:
        outbox.kick(current_app._get_current_object())  # type: ignore[attr-defined]
    session[EFFECT_KEY] = {
        "recipient": client.client_id,
        "purpose": purpose_id,
        "stopped": list(effect.stopped),
        "kept": list(effect.kept),
        "ended": effect.ended,
    }
    notice = {"withdraw": "withdrawn", "object": "objected", "restrict": "restricted"}[action]
    # the page names what stopped: the purpose and the recipient of the form
    return redirect(
        url_for(
            "account.sharing_page", notice=notice, recipient=client.client_id, purpose=purpose_id
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
        return redirect(url_for("account.sharing_page"))
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
        return redirect(url_for("account.sharing_page"))
    commit()
    return redirect(url_for("account.sharing_page", notice="given"))


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
            section="privacy",
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


PASSKEY_ONLY_STEPS = ("unconfirmed_email", "not_confirmed", "not_fresh")


def _security_choice(sso: SsoSession) -> ResponseReturnValue:
    """A passkey after the password, or passkeys only. Dropping the password needs a
    confirmed email (the way back in when the passkeys are lost), the customer's explicit
    confirmation and a passkey proven minutes ago (:mod:`idp.auth.freshness`)."""
    user = sso.user
    db = get_session()
    usable = [p for p in passkeys.of_user(db, user) if p.blocked_at is None]
    action = request.form.get("action")
    if action in {"second_factor_on", "passkey_only"} and not usable:
        return redirect(url_for("account.security", passkey_error="last_way_in"))
    if action == "second_factor_on":
        user.passkey_second_factor = True
    elif action == "second_factor_off":
        user.passkey_second_factor = False
    elif action == "passkey_only":
        step = accounts.passkey_only_blocker(
            user,
            confirmed=request.form.get("confirm") == "yes",
            fresh=freshness.fresh(session, sso, utcnow()),
        )
        if step is not None:
            return redirect(url_for("account.passkey_only", step=step))
        accounts.drop_password(user)
    else:
        return redirect(url_for("account.security"))
    commit()
    return redirect(url_for("account.security", notice=f"security_{action}"))


@bp.route("/security/passkey-only")
@login_required
def passkey_only() -> ResponseReturnValue:
    """The confirmation step before the password goes: what changes, and the checks."""
    sso = _signed_in()
    user = sso.user
    if user.password_hash is None:
        return redirect(url_for("account.security"))
    usable = [p for p in passkeys.of_user(get_session(), user) if p.blocked_at is None]
    if not usable:
        return redirect(url_for("account.security", passkey_error="last_way_in"))
    step = request.args.get("step")
    return Response(
        render_template(
            "account/passkey_only.html",
            section="security",
            user=user,
            fresh=freshness.fresh(session, sso, utcnow()),
            step=step if step in PASSKEY_ONLY_STEPS else None,
        )
    )
