"""Customer pages: login, registration, email verification, password reset, language."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from idp import context, instruments, sso as sso_service
from idp.auth import accounts, letters, limits, passkeys
from idp.auth.messages import message
from idp.db import commit, get_session
from idp.events import outbox
from idp.i18n import current_language, remember_choice
from idp.instruments import LoginMethod, LoginOutcome
from idp.models import Client, Interaction, User
from idp.oauth.authorize import flow_target, forget_ui_locales, resume_url
from idp.oauth.responses import allow_form_target
from idp.sso import begin_browser_login, client_ip, current_sso

bp = Blueprint("auth", __name__)


def _safe_next(value: str | None) -> str:
    """Only local paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc:
            return value
    return url_for("account.home")


def after_login(interaction: Any = None, next_url: Any = None) -> str:
    """Where a fresh sign-in continues: the pending authorization, or a local page."""
    if isinstance(interaction, str) and interaction:
        url = resume_url(interaction)
        if url:
            return url
    return _safe_next(next_url if isinstance(next_url, str) else None)


def _after_login() -> str:
    return after_login(request.values.get("interaction"), request.values.get("next"))


def _interaction_client() -> tuple[Any, Any]:
    interaction = request.values.get("interaction")
    if not interaction:
        return None, None
    item = get_session().get(Interaction, interaction)
    client = get_session().get(Client, item.client_id) if item else None
    return item, client


def _client_name() -> str | None:
    client = _interaction_client()[1]
    return client.client_name if client else None


def _flow_target() -> str | None:
    """The client's redirect URI, where signing in may end (CSP form-action)."""
    item, client = _interaction_client()
    if item is None or client is None:
        return None
    return flow_target(item, client)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    email = request.values.get("login_hint", "")[:320]
    sso = current_sso()
    # step-up: the client asked for a phishing-resistant sign-in; a password will not do
    step_up = request.values.get("step_up") == "1" and sso is not None
    if step_up and sso is not None:
        email = sso.user.email
    if request.method == "POST":
        email = request.form.get("email", "")[:320]
        password = request.form.get("password", "")
        db = get_session()
        attempt = accounts.begin_login(limits.login_throttle(db), email, client_ip())
        # the attempt counts from here on, and its counters are not held locked while the
        # password is checked (tests/auth/test_throttle_parallel.py)
        commit()
        result = (
            accounts.finish_login(db, attempt, password)
            if attempt is not None
            else accounts.LoginResult(None, "throttled")
        )
        _count_password_login(result)
        if (
            result.user is not None
            and result.user.passkey_second_factor
            and passkeys.of_user(db, result.user)
        ):
            commit()
            session["second_factor"] = {
                "user": result.user.id,
                "at": int(time.time()),
                "interaction": request.values.get("interaction", ""),
                "next": request.values.get("next", ""),
            }
            return redirect(url_for("auth.second_factor"))
        if result.user is not None:
            sso = sso_service.start_session(
                db,
                result.user,
                context.settings().session_lifetime,
                amr=["pwd"],
                user_agent=request.user_agent.string,
                ip=client_ip(),
            )
            begin_browser_login(sso)
            commit()
            return redirect(_after_login())
        commit()
        error = message(result.error or "bad_credentials")
    status = 401 if error else 200
    return allow_form_target(
        Response(
            render_template(
                "auth/login.html",
                error=error,
                email=email,
                interaction=request.values.get("interaction", ""),
                next=request.values.get("next", ""),
                client_name=_client_name(),
                step_up=step_up,
            ),
            status=status,
        ),
        _flow_target(),
    )


def _count_password_login(result: accounts.LoginResult) -> None:
    if result.user is not None:
        outcome = LoginOutcome.SUCCESS  # signed in, or on to the passkey it also needs
    elif result.error == "throttled":
        outcome = LoginOutcome.THROTTLED
    else:
        outcome = LoginOutcome.FAILURE
    instruments.login(LoginMethod.PASSWORD, outcome)


def _queue_mail(letter: letters.Letter, to: str) -> None:
    """Queue a letter with the request's changes, commit, and have the outbox send it.

    Past the mail limit for the address or the client IP nothing is queued; the caller's
    answer stays the same, so the limit says nothing about the address either."""
    db = get_session()
    if not limits.mail_throttle(db).reserve(to, client_ip()):
        commit()  # the attempt counts
        return
    letters.queue(db, letter, to, current_language())
    commit()
    outbox.kick(current_app._get_current_object())  # type: ignore[attr-defined]


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    """A new address and a registered one get the same answer (the address is mailed in
    both cases, see :func:`accounts.sign_up`); nobody is signed in by registering."""
    error = None
    status = 200
    form = {"email": request.values.get("login_hint", "")[:320], "name": ""}
    if request.method == "POST":
        form = {
            "email": request.form.get("email", "")[:320],
            "name": request.form.get("name", "")[:200],
        }
        password = request.form.get("password", "")
        db = get_session()
        if not limits.registration_throttle(db).reserve(client_ip()):
            error, status = message("registration_throttled"), 429
        elif password != request.form.get("password_confirm", ""):
            error, status = message("password_mismatch"), 400
        else:
            try:
                user = accounts.sign_up(db, form["email"], form["name"], password)
            except accounts.AccountError as exc:
                error, status = message(exc.code), 400
            else:
                letter = letters.Letter.VERIFY if user else letters.Letter.ALREADY_REGISTERED
                address = accounts.normalise_email(form["email"])
                _queue_mail(letter, address)
                session["registered"] = address
                return redirect(
                    url_for(
                        "auth.verify_sent",
                        interaction=request.values.get("interaction", ""),
                        next=request.values.get("next", ""),
                    )
                )
        commit()  # the attempt counts toward the limit
    return Response(
        render_template(
            "auth/register.html",
            error=error,
            form=form,
            interaction=request.values.get("interaction", ""),
            next=request.values.get("next", ""),
        ),
        status=status,
    )


@bp.route("/verify/sent")
def verify_sent() -> ResponseReturnValue:
    """After registering (signed out: "check your mail, then sign in"), or for a signed-in
    customer whose address is not confirmed yet."""
    sso = current_sso()
    email = sso.user.email if sso else session.get("registered")
    interaction = request.values.get("interaction", "")
    next_url = request.values.get("next", "")
    return Response(
        render_template(
            "auth/verify_sent.html",
            email=email if isinstance(email, str) else None,
            signed_in=sso is not None,
            continue_url=_after_login(),
            login_url=url_for(
                "auth.login",
                login_hint=email if isinstance(email, str) else None,
                interaction=interaction or None,
                next=next_url or None,
            ),
        )
    )


@bp.route("/verify/resend", methods=["POST"])
def verify_resend() -> ResponseReturnValue:
    sso = current_sso()
    if sso is None:
        return redirect(url_for("auth.login"))
    if not sso.user.email_verified:
        _queue_mail(letters.Letter.VERIFY, sso.user.email)
    return redirect(url_for("auth.verify_sent"))


@bp.route("/verify/<token>")
def verify(token: str) -> ResponseReturnValue:
    db = get_session()
    try:
        user = accounts.verify_email(db, context.settings().secret_key, token[:1000])
    except accounts.AccountError as exc:
        return Response(
            render_template("auth/notice.html", title=_("Link not valid"), text=message(exc.code)),
            status=400,
        )
    commit()
    return Response(
        render_template(
            "auth/notice.html",
            title=_("Email address confirmed"),
            text=_("Thank you, %(email)s is now confirmed.", email=user.email),
            link=None if current_sso() else url_for("auth.login", login_hint=user.email),
        )
    )


@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> ResponseReturnValue:
    if request.method == "POST":
        email = accounts.normalise_email(request.form.get("email", "")[:320])
        # The same work and answer whether or not the address has an account: the letter is
        # queued for the address, and the outbox looks the account up when it sends.
        if accounts.EMAIL_RE.match(email):
            _queue_mail(letters.Letter.RESET, email)
        return Response(
            render_template(
                "auth/notice.html",
                title=_("Check your email"),
                text=_("If an account uses that address, we sent it a link to set a new password."),
            )
        )
    return Response(render_template("auth/forgot.html"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> ResponseReturnValue:
    db = get_session()
    s = context.settings()
    try:
        user = accounts.user_for_reset(db, s.secret_key, token[:1000])
    except accounts.AccountError as exc:
        return Response(
            render_template("auth/notice.html", title=_("Link not valid"), text=message(exc.code)),
            status=400,
        )
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password_confirm", ""):
            error = message("password_mismatch")
        else:
            try:
                accounts.set_password(user, password)
            except accounts.AccountError as exc:
                error = message(exc.code)
            else:
                # A reset means the password may be known to someone else: apps with
                # offline access end too, so "signed out everywhere" holds.
                sso_service.sign_out_everywhere(db, user)
                user.email_verified = True
                user.passkey_second_factor = False  # recovery: the passkeys may be lost
                commit()
                return Response(
                    render_template(
                        "auth/notice.html",
                        title=_("Password changed"),
                        text=_(
                            "Your new password is set and you were signed out everywhere. "
                            "You can now sign in."
                        ),
                        link=url_for("auth.login"),
                    )
                )
    return Response(
        render_template("auth/reset.html", error=error, token=token), status=400 if error else 200
    )


@bp.route("/csrf-token")
def csrf_token() -> ResponseReturnValue:
    """The current CSRF token, for a page whose own went stale when the session changed
    (signing in or out in another tab rotates it): static/webauthn.js fetches it and retries
    once. Same-origin only: without CORS headers another site cannot read the answer."""
    resp = jsonify({"csrf_token": generate_csrf()})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str) -> ResponseReturnValue:
    target = _safe_next(request.form.get("next"))
    if code in context.settings().languages:
        # The customer's choice wins over a client's ui_locales, in the page it returns to
        # and in the rest of the sign-in (else the switcher did nothing on such pages).
        parts = urlsplit(target)
        query = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ui_locales"
        ]
        target = parts._replace(query=urlencode(query)).geturl()
        forget_ui_locales(dict(query).get("interaction"))
        commit()
    return remember_choice(redirect(target), code)


SECOND_FACTOR_LIFETIME = 300


def pending_second_factor() -> dict[str, Any] | None:
    """The customer who gave the right password and still owes a passkey, if still fresh."""
    pending = session.get("second_factor")
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > (
        SECOND_FACTOR_LIFETIME
    ):
        return None
    return pending


@bp.route("/login/second-factor")
def second_factor() -> ResponseReturnValue:
    pending = pending_second_factor()
    if pending is None:
        return redirect(url_for("auth.login"))
    user = get_session().get(User, pending["user"])
    if user is None:
        return redirect(url_for("auth.login"))
    return Response(
        render_template(
            "auth/second_factor.html",
            email=user.email,
            interaction=pending.get("interaction", ""),
            next=pending.get("next", ""),
        )
    )
