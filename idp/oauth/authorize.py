"""The authorization endpoint and its interaction pages (account choice, consent)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import OAuth2Error, scope_to_list
from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from idp import context
from idp.db import commit, get_session, utcnow
from idp.errors import Invalid
from idp.extensions import csrf
from idp.i18n import pick_language
from idp.ledger import consents
from idp.ledger.context import consent_context
from idp.ledger.labels import basis_label, claim_label, in_reading_order
from idp.models import Client
from idp.oauth import consent_screen, interaction as steps, rar, responses
from idp.oauth.claims import essential_acr_values, parse_claims_request, wanted_claims
from idp.oauth.grants import AuthorizationCodeGrant
from idp.oauth.oidc import parse_max_age
from idp.sso import current_sso, end_browser_login, end_session
from idp.subjects import subject

bp = Blueprint("flow", __name__)

MAX_PARAM_LENGTH = 4096
MAX_GET_LENGTH = 4000  # a request line every common server and proxy takes (gunicorn: 4094)
OWNED_KEY = "interactions"


def server() -> Any:
    return current_app.extensions["avain.oauth_server"]


def _owned() -> list[str]:
    value = session.get(OWNED_KEY, [])
    return value if isinstance(value, list) else []


def _own(interaction_id: str) -> None:
    session[OWNED_KEY] = (_owned() + [interaction_id])[-8:]


def _check_params() -> None:
    for key, value in request.values.items(multi=True):
        if len(value) > MAX_PARAM_LENGTH or len(key) > 100:
            raise Invalid(_("The parameter %(name)s is too long.", name=key[:40]))
        if any(ord(ch) < 0x20 for ch in value):
            raise Invalid(_("The parameter %(name)s contains control characters.", name=key[:40]))


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # a protocol endpoint: the client's request, not a form of ours
def authorize() -> ResponseReturnValue:
    """OIDC Core §3.1.2: validate, find the step the customer still has to take, or issue a code."""
    _check_params()
    if request.method == "POST":
        return _as_get()
    data = request.values
    state = data.get("state")
    mode = data.get("response_mode")
    sso = current_sso()
    db = get_session()
    try:
        grant: AuthorizationCodeGrant = server().get_consent_grant(
            end_user=sso.user if sso else None
        )
    except OAuth2Error as err:
        return responses.error(err, state, mode)
    except ValueError:
        raise Invalid(_("The sign-in request contains characters that are not allowed.")) from None
    redirect_uri = grant.redirect_uri
    try:
        client = grant.request.client
        item = steps.load(db, data.get("interaction"), _owned())
        if item is not None and item.client_id != client.client_id:
            item = None
        hinted = grant.hinted_sub
        req = steps.Request(
            client=client,
            scope=grant.request.scope or "",
            redirect_uri=redirect_uri,
            prompts=set((data.get("prompt") or "").split()),
            max_age=parse_max_age(data.get("max_age"), redirect_uri),
            id_token_hint=data.get("id_token_hint"),
            interaction=item,
            wanted=wanted_claims(grant.request.scope or "", data.get("claims")),
            consent=consent_context(),
            handoff=_handoff(db, grant.agreement, grant.authorization_details),
            **_acr_request(db, data, sso),
        )
        session_sub = subject(db, sso.user, client) if sso else None
        step = steps.next_step(db, req, sso, hinted, session_sub)
    except OAuth2Error as err:
        return responses.error(err, state, mode)
    if step is not None or sso is None:  # no session: next_step has said "login" already
        if item is None:
            params = {k: v for k, v in data.items() if k != "interaction"}
            item = steps.create(db, client.client_id, params)
            _own(item.id)
        commit()
        return redirect(_step_url(step or "login", item.id, data))
    grant.granted_scope = steps.granted_scope(req, sso.user)
    grant.sso = sso
    resp: Response = server().create_authorization_response(grant_user=sso.user, grant=grant)
    if not resp.location:  # an error without a redirect URI: JSON from Authlib
        return resp
    commit()
    return responses.from_location(resp.location, redirect_uri, mode)


def _as_get() -> ResponseReturnValue:
    """OIDC Core §3.1.2.1: the endpoint MUST support POST with form-serialized parameters.

    The browser is sent on by GET (303) with the same parameters, so a POST is handled
    exactly as a GET. In place it could not be: a client's cross-site POST carries no
    SameSite=Lax session cookie, so the customer's session would not be seen, and the new
    cookie of an interaction would replace theirs.
    """
    target = f"{url_for('flow.authorize')}?{urlencode(list(request.values.items(multi=True)))}"
    if len(target) > MAX_GET_LENGTH:
        raise Invalid(_("This sign-in request is too long. Go back to the site and try again."))
    return redirect(target, code=303)


def _acr_request(db: Any, data: Any, sso: Any) -> dict[str, Any]:
    essential = set(essential_acr_values(parse_claims_request(data.get("claims"))))
    wanted = set((data.get("acr_values") or "").split()) | essential
    # only a phishing-resistant level asked for needs to know (steps.step_up_needed)
    has_passkey = (
        bool(sso)
        and bool(wanted & steps.PHISHING_RESISTANT.keys())
        and steps.has_passkey(db, sso.user)
    )
    return {
        "acr_wanted": wanted,
        "acr_essential": bool(essential & {"phr", "phrh"}),
        "has_passkey": has_passkey,
    }


def _handoff(db: Any, agreement: Any, details: Any) -> steps.Handoff | None:
    """RFC 9396: the partner agreement the request's authorization_details fall under."""
    if agreement is None or not details:
        return None
    recipient = db.get(Client, agreement.to_id)
    return steps.Handoff(agreement, recipient, details) if recipient is not None else None


def _handoff_of(db: Any, client: Client, params: dict[str, Any]) -> steps.Handoff | None:
    """The handoff of a stored interaction (its authorization_details were checked by
    /authorize; a catalogue changed since then makes the request stale)."""
    raw = params.get("authorization_details")
    if not raw:
        return None
    try:
        details = rar.parse(raw)
        agreement = rar.agreement_for(consent_context().catalogue, client.client_id, details)
    except rar.InvalidAuthorizationDetailsError:
        raise BadRequest(
            _("This sign-in request is no longer valid. Go back to the site and start again.")
        ) from None
    return _handoff(db, agreement, details)


def _step_url(step: str, interaction_id: str, data: Any) -> str:
    args: dict[str, Any] = {"interaction": interaction_id}
    if data.get("ui_locales"):
        args["ui_locales"] = data["ui_locales"]
    if step == "step_up":
        return url_for("auth.login", step_up="1", **args)
    if step == "login":
        if data.get("login_hint"):
            args["login_hint"] = data["login_hint"]
        if "create" in (data.get("prompt") or "").split():
            return url_for("auth.register", **args)
        return url_for("auth.login", **args)
    if step == "select_account":
        return url_for("flow.select_account", **args)
    return url_for("flow.consent", **args)


def resume_url(interaction_id: str) -> str | None:
    item = steps.load(get_session(), interaction_id, _owned())
    if item is None:
        return None
    return url_for("flow.authorize", **item.params, interaction=item.id)


def forget_ui_locales(interaction_id: str | None) -> None:
    """The customer chose a language with the switcher: for the rest of this interaction
    it wins over the client's ui_locales, which OIDC Core §3.1.2.1 makes only a preference."""
    item = steps.load(get_session(), interaction_id, _owned())
    if item is not None and "ui_locales" in item.params:
        item.params = {k: v for k, v in item.params.items() if k != "ui_locales"}


def flow_target(item: Any, client: Any) -> str | None:
    """Where this interaction ends: the client's redirect URI (for CSP form-action)."""
    uri: str | None = item.params.get("redirect_uri") or client.get_default_redirect_uri()
    return uri


def _interaction_or_400() -> Any:
    item = steps.load(get_session(), request.values.get("interaction"), _owned())
    if item is None:
        raise BadRequest(
            _("This sign-in request has expired. Go back to the site and start again.")
        )
    client = server().query_client(item.client_id)
    if client is None:
        raise BadRequest(_("The site you were signing in to is no longer registered with us."))
    return item, client


@bp.route("/select-account", methods=["GET", "POST"])
def select_account() -> ResponseReturnValue:
    """OIDC Core §3.1.2.1 prompt=select_account: continue as this account or use another."""
    item, client = _interaction_or_400()
    sso = current_sso()
    if sso is None:
        return redirect(url_for("auth.login", interaction=item.id))
    if request.method == "POST":
        if request.form.get("choice") == "other":
            end_session(get_session(), sso)
            end_browser_login(get_session(), sso)
            commit()
            return redirect(url_for("auth.login", interaction=item.id))
        item.account_selected_for = sso.id
        commit()
        return redirect(resume_url(item.id) or url_for("account.home"))
    return responses.allow_form_target(
        Response(
            render_template(
                "oauth/select_account.html", client=client, user=sso.user, interaction=item.id
            )
        ),
        flow_target(item, client),
    )


@bp.route("/consent", methods=["GET", "POST"])
def consent() -> ResponseReturnValue:
    """OIDC Core §3.1.2.4 with the ledger: per purpose and recipient, each purpose on consent
    one switch and each optional claim its own unticked choice; what was shown and chosen
    becomes a ledger event (:mod:`idp.oauth.consent_screen`)."""
    item, client = _interaction_or_400()
    sso = current_sso()
    if sso is None:
        return redirect(url_for("auth.login", interaction=item.id))
    db = get_session()
    ctx = consent_context()
    scope = client.get_allowed_scope(item.params.get("scope"))
    lang = pick_language(item.params.get("ui_locales"))
    req = steps.Request(
        client=client,
        scope=scope,
        redirect_uri=item.params.get("redirect_uri", ""),
        prompts=set((item.params.get("prompt") or "").split()),
        max_age=None,
        id_token_hint=None,
        interaction=None,
        wanted=wanted_claims(scope, item.params.get("claims")),
        consent=ctx,
        handoff=_handoff_of(db, client, item.params),
    )
    asks = steps.pending_consents(db, req, sso.user)
    if request.method == "POST":
        if request.form.get("decision") != "allow":
            err = OAuth2Error(
                error="access_denied",
                description="The customer denied access.",
                redirect_uri=item.params.get("redirect_uri"),
            )
            theirs = [a for a in asks if a.recipient_id is not None]
            if req.handoff is not None and theirs:
                # "Do not share" answers the question the page asked: the partner's purpose
                # is refused, and the ledger says so, as an unticked switch would
                err = (
                    _record_handoff(
                        db,
                        ctx,
                        req.handoff,
                        client,
                        {a.purpose.id: None for a in theirs},
                        theirs,
                        lang,
                        sso,
                        req.redirect_uri,
                        _screen(client, asks, req.handoff).shown(),
                    )
                    or err
                )
            db.delete(item)
            commit()
            return responses.error(err, item.params.get("state"), item.params.get("response_mode"))
        choices = consent_screen.read_choices(asks, request.form)
        shown = _screen(client, asks, req.handoff).shown()
        own = [a for a in asks if a.recipient_id is None]
        consents.record(
            db,
            ctx,
            sso.user,
            client,
            choices,
            asked=own,
            language=lang,
            session_id=sso.id,
            now=utcnow(),
            details=shown,
        )
        theirs = [a for a in asks if a.recipient_id is not None]
        if req.handoff is not None and theirs:
            refused = _record_handoff(
                db, ctx, req.handoff, client, choices, theirs, lang, sso, req.redirect_uri, shown
            )
            if refused is not None:
                db.delete(item)
                commit()
                return responses.error(
                    refused, item.params.get("state"), item.params.get("response_mode")
                )
        item.consented_for = sso.user.id
        item.consented_scope = " ".join(
            s
            for s in scope_to_list(scope)
            if s != "offline_access" or request.form.get("scope_offline_access") == "on"
        )
        commit()
        return redirect(resume_url(item.id) or url_for("account.home"))
    catalogue = ctx.catalogue
    return responses.allow_form_target(
        Response(
            render_template(
                "oauth/consent.html",
                client=client,
                user=sso.user,
                interaction=item.id,
                asks=asks,
                lang=lang,
                catalogue=catalogue,
                notice=catalogue.current_notice(),
                screen=_screen(client, asks, req.handoff),
                claim_label=claim_label,
                basis_label=basis_label,
                reading_order=in_reading_order,
                offline="offline_access" in scope_to_list(scope),
                handoff=_handoff_view(req.handoff, catalogue),
            )
        ),
        flow_target(item, client),
    )


def _record_handoff(
    db: Any,
    ctx: consents.Context,
    handoff: steps.Handoff,
    client: Client,
    choices: dict[str, set[str] | None],
    asks: list[consents.Ask],
    lang: str,
    sso: Any,
    redirect_uri: str | None,
    shown: dict[str, Any],
) -> OAuth2Error | None:
    """The partner's purpose goes into the ledger as the partner's, with the agreement and
    the client that asked; not agreeing to it ends the request (RFC 6749 §4.1.2.1)."""
    consents.record(
        db,
        ctx,
        sso.user,
        handoff.recipient,
        choices,
        asked=asks,
        language=lang,
        session_id=sso.id,
        now=utcnow(),
        details={
            **shown,
            "agreement": handoff.agreement.id,
            "requested_by": client.client_id,
        },
    )
    if all(choices.get(a.purpose.id) is not None for a in asks):
        return None
    return OAuth2Error(
        error="access_denied",
        description=f"The customer did not agree to share with {handoff.recipient.client_id}.",
        redirect_uri=redirect_uri,
    )


def _screen(
    client: Client, asks: list[consents.Ask], handoff: steps.Handoff | None
) -> consent_screen.Screen:
    return consent_screen.build(
        consent_context().catalogue,
        client,
        asks,
        context.settings().controller_name,
        recipient=handoff.recipient if handoff is not None else None,
    )


def _handoff_view(handoff: steps.Handoff | None, catalogue: Any) -> dict[str, Any] | None:
    """What the consent page shows of a handoff: the partner by name and the orders."""
    if handoff is None:
        return None
    recipient = catalogue.recipients.get(handoff.recipient.client_id)
    orders = [
        entry["order"]
        for entry in handoff.details
        if isinstance(entry.get("order"), dict) and isinstance(entry["order"].get("items"), list)
    ]
    return {
        "name": recipient.name if recipient else handoff.recipient.client_name,
        "orders": orders,
    }
