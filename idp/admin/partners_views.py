"""The console's partner pages: clients (list, create, edit, rotate a secret, delete), each
partner's data-sharing map, and the catalogue with its versions. Thin views: parse the
form, call :mod:`idp.admin.partners`, :mod:`idp.admin.sharing` or
:mod:`idp.admin.catalogue_view`, record the action in the audit log, render."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _, lazy_gettext

from consent.catalogue import Catalogue
from idp import context
from idp.admin import audit, catalogue_view, overview, partners, sessions, sharing, wording
from idp.admin.client_form import FormError, form_values, spec_from_form, values_of
from idp.admin.guards import fresh_passkey_required, load_session, requires
from idp.admin.partners import PartnerError
from idp.admin.roles import Permission
from idp.db import commit, get_session
from idp.errors import IdpError
from idp.models import Client
from idp.oauth.clients import AUTH_METHODS, GRANT_TYPES, ClientError, ClientSpec
from idp.outbound import policy_from

bp = Blueprint("admin_partners", __name__, url_prefix="/admin")
bp.before_request(load_session)

MAX_REASON = 500

MESSAGES = {
    "reason_required": lazy_gettext("Give a reason; it goes into the audit log."),
    "no_secret": lazy_gettext("This client does not authenticate with a secret."),
    "fresh_for_keys": lazy_gettext(
        "Changing the client's authentication method or its keys hands the client to whoever "
        "holds the new credential, and a first-party client's customers are never asked for "
        "consent: confirm it is you with your passkey, then save again."
    ),
}


@bp.context_processor
def _wording() -> dict[str, Any]:
    return {"wording": wording}


def _catalogue() -> Catalogue:
    found: Catalogue = current_app.extensions["avain.catalogue"]
    return found


def _client(client_id: str) -> Client:
    try:
        return partners.find(get_session(), client_id)
    except PartnerError:
        raise IdpError(_("No such client."), error="not_found", status_code=404) from None


def _reason() -> str | None:
    reason = " ".join(request.form.get("reason", "").split())[:MAX_REASON]
    return reason or None


def _form(
    values: dict[str, Any],
    client: Client | None,
    error: str | None,
    status: int = 200,
    reverify: str | None = None,
) -> ResponseReturnValue:
    recipient = _catalogue().recipients.get(client.client_id) if client else None
    page = render_template(
        "admin/clients_form.html",
        v=values,
        client=client,
        recipient=recipient,
        error=error,
        reverify=reverify,
        grant_types=GRANT_TYPES,
        auth_methods=AUTH_METHODS,
    )
    return page, status


# -- clients --------------------------------------------------------------------------


@bp.route("/clients", methods=["GET"])
@requires(Permission.CLIENTS_VIEW)
def clients() -> ResponseReturnValue:
    db = get_session()
    found = partners.all_clients(db)
    audit.record(db, g.admin, "viewed", "clients")
    commit()
    deleted = request.args.get("deleted", "")[:64]
    if any(c.client_id == deleted for c in found):  # a link cannot claim a live one gone
        deleted = ""
    return render_template(
        "admin/clients.html", clients=found, recipients=_catalogue().recipients, deleted=deleted
    )


@bp.route("/clients/new", methods=["GET"])
@requires(Permission.CLIENTS_MANAGE)
def new_client() -> ResponseReturnValue:
    spec = ClientSpec(name="", redirect_uris=[])
    return _form(values_of(spec), None, None)


@bp.route("/clients/new", methods=["POST"])
@requires(Permission.CLIENTS_MANAGE)
def create_client() -> ResponseReturnValue:
    db = get_session()
    try:
        spec = spec_from_form(request.form)
        client, secret = partners.create_client(db, spec, policy_from(context.settings()))
    except FormError as exc:
        return _form(form_values(request.form), None, exc.message, 400)
    except ClientError as exc:
        db.rollback()
        return _form(form_values(request.form), None, exc.description, 400)
    audit.record(db, g.admin, "client_created", f"client:{client.client_id}")
    commit()
    return render_template("admin/clients_secret.html", client=client, secret=secret, new=True)


@bp.route("/clients/<client_id>", methods=["GET"])
@requires(Permission.CLIENTS_VIEW)
def client(client_id: str) -> ResponseReturnValue:
    found = _client(client_id)
    return _form(values_of(partners.spec_of(found)), found, None)


@bp.route("/clients/<client_id>", methods=["POST"])
@requires(Permission.CLIENTS_MANAGE)
def update_client(client_id: str) -> ResponseReturnValue:
    db = get_session()
    found = _client(client_id)
    try:
        spec = spec_from_form(request.form)
        if partners.dangerous_change(found, spec) and not g.admin_session.fresh(
            sessions.clock()
        ):  # a secret issued or dropped, new keys, no consent screen: as a new secret
            back = url_for("admin_partners.client", client_id=client_id)
            return _form(
                form_values(request.form),
                found,
                str(MESSAGES["fresh_for_keys"]),
                403,
                url_for("admin_entry.reverify", next=back),
            )
        updated = partners.update_client(db, found, spec, policy_from(context.settings()))
    except FormError as exc:
        return _form(form_values(request.form), found, exc.message, 400)
    except ClientError as exc:
        db.rollback()
        return _form(form_values(request.form), _client(client_id), exc.description, 400)
    if updated.changed:
        audit.record(
            db, g.admin, "client_updated", f"client:{client_id}", " ".join(updated.changed)
        )
    commit()
    if updated.secret:
        return render_template(
            "admin/clients_secret.html", client=found, secret=updated.secret, new=False
        )
    return redirect(url_for("admin_partners.client", client_id=client_id, saved=1))


@bp.route("/clients/<client_id>/rotate", methods=["POST"])
@requires(Permission.CLIENTS_MANAGE)
@fresh_passkey_required
def rotate(client_id: str) -> ResponseReturnValue:
    db = get_session()
    found = _client(client_id)
    reason = _reason()
    if reason is None:
        return _form(
            values_of(partners.spec_of(found)), found, str(MESSAGES["reason_required"]), 400
        )
    try:
        secret = partners.rotate_secret(db, found)
    except PartnerError as exc:
        return _form(values_of(partners.spec_of(found)), found, str(MESSAGES[exc.code]), 400)
    audit.record(db, g.admin, "client_secret_rotated", f"client:{client_id}", reason)
    commit()
    return render_template("admin/clients_secret.html", client=found, secret=secret, new=False)


@bp.route("/clients/<client_id>/delete", methods=["GET"])
@requires(Permission.CLIENTS_MANAGE)
def confirm_delete(client_id: str) -> ResponseReturnValue:
    found = _client(client_id)
    return render_template(
        "admin/clients_delete.html",
        client=found,
        live=partners.in_use(get_session(), client_id),
        recipient=_catalogue().recipients.get(client_id),
        error=None,
    )


@bp.route("/clients/<client_id>/delete", methods=["POST"])
@requires(Permission.CLIENTS_MANAGE)
@fresh_passkey_required
def delete(client_id: str) -> ResponseReturnValue:
    db = get_session()
    found = _client(client_id)
    reason = _reason()
    if reason is None:
        page = render_template(
            "admin/clients_delete.html",
            client=found,
            live=partners.in_use(db, client_id),
            recipient=_catalogue().recipients.get(client_id),
            error=MESSAGES["reason_required"],
        )
        return page, 400
    removed = partners.delete_client(db, found)
    audit.record(
        db,
        g.admin,
        "client_deleted",
        f"client:{client_id}",
        f"{reason} (revoked: {removed.grants} grants, {removed.tokens} tokens, "
        f"{removed.handoffs} handoffs)",
    )
    commit()
    return redirect(url_for("admin_partners.clients", deleted=client_id))


# -- the data-sharing map -------------------------------------------------------------


@bp.route("/sharing", methods=["GET"])
@requires(Permission.SHARING_MAP_VIEW)
def sharing_index() -> ResponseReturnValue:
    db = get_session()
    catalogue = _catalogue()
    ids = sharing.partner_ids(db, catalogue)
    audit.record(db, g.admin, "viewed", "sharing_map")
    commit()
    return render_template("admin/sharing.html", ids=ids, catalogue=catalogue)


@bp.route("/sharing/<recipient_id>", methods=["GET"])
@requires(Permission.SHARING_MAP_VIEW)
def sharing_map(recipient_id: str) -> ResponseReturnValue:
    db = get_session()
    found = sharing.sharing_map(db, _catalogue(), recipient_id, sessions.clock())
    if found is None:
        raise IdpError(_("No such partner."), error="not_found", status_code=404)
    audit.record(db, g.admin, "viewed", f"sharing_map:{recipient_id}")
    commit()
    return render_template(
        "admin/sharing_map.html", m=found, catalogue=_catalogue(), windows=overview.WINDOWS
    )


# -- the catalogue --------------------------------------------------------------------


@bp.route("/catalogue", methods=["GET"])
@requires(Permission.CATALOGUE_VIEW)
def catalogue() -> ResponseReturnValue:
    db = get_session()
    audit.record(db, g.admin, "viewed", "catalogue")
    commit()
    return render_template("admin/catalogue.html", catalogue=_catalogue())


@bp.route("/catalogue/<purpose_id>", methods=["GET"])
@requires(Permission.CATALOGUE_VIEW)
def purpose(purpose_id: str) -> ResponseReturnValue:
    db = get_session()
    found = catalogue_view.history(db, _catalogue(), purpose_id[:64], sessions.clock())
    if found is None:
        raise IdpError(_("No such purpose."), error="not_found", status_code=404)
    audit.record(db, g.admin, "viewed", f"catalogue:{purpose_id}")
    commit()
    return render_template("admin/catalogue_purpose.html", h=found, catalogue=_catalogue())
