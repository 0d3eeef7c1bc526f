"""Partners in the admin API: clients (list, create, change, rotate a secret, delete), each
partner's data-sharing map and the catalogue with its versions, on the services the
console's pages call (:mod:`idp.admin.partners`, :mod:`idp.admin.sharing`,
:mod:`idp.admin.catalogue_view`). Client metadata is checked by registration's own
:func:`idp.oauth.clients.validate`; its refusals are 422 with registration's error code."""

from __future__ import annotations

from typing import Any

from flask import current_app

from consent.catalogue import Catalogue
from idp import context
from idp.admin import catalogue_view, partners, sharing
from idp.admin.api.framework import Call, Param, Reply, operation
from idp.admin.api.problems import Problem
from idp.admin.api.schemas import COUNT, nullable, obj, reason
from idp.admin.partners import PartnerError
from idp.admin.roles import Permission
from idp.models import Client
from idp.oauth.clients import AUTH_METHODS, GRANT_TYPES, ClientError
from idp.outbound import policy_from

_URIS = {"type": "array", "items": {"type": "string", "maxLength": 2000}, "maxItems": 20}
_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
METADATA: dict[str, Any] = {
    "client_name": {"type": "string", "minLength": 1, "maxLength": 200},
    "redirect_uris": _URIS,
    "post_logout_redirect_uris": _URIS,
    "backchannel_logout_uri": nullable({"type": "string", "maxLength": 2000}),
    "backchannel_logout_session_required": {"type": "boolean"},
    "grant_types": {
        "type": "array",
        "items": {"type": "string", "enum": list(GRANT_TYPES)},
        "maxItems": len(GRANT_TYPES),
    },
    "token_endpoint_auth_method": {"type": "string", "enum": list(AUTH_METHODS)},
    "subject_type": {"type": "string", "enum": ["public", "pairwise"]},
    "scope": {"type": "string", "maxLength": 2000},
    "id_token_signed_response_alg": {"type": "string", "enum": ["RS256", "ES256"]},
    # null: the server's access_token_signing_alg
    "access_token_signed_response_alg": nullable({"type": "string", "enum": ["RS256", "ES256"]}),
    "jwks": nullable({"type": "object"}),
    "first_party": {"type": "boolean"},
}
CLIENT = obj(
    {
        "client_id": {"type": "string"},
        "client_name": {"type": "string"},
        "redirect_uris": _STRINGS,
        "post_logout_redirect_uris": _STRINGS,
        "grant_types": _STRINGS,
        "response_types": _STRINGS,
        "scope": {"type": "string"},
        "token_endpoint_auth_method": {"type": "string"},
        "subject_type": {"type": "string"},
        "id_token_signed_response_alg": {"type": "string"},
        "access_token_signed_response_alg": nullable({"type": "string"}),
        "backchannel_logout_uri": nullable({"type": "string"}),
        "backchannel_logout_session_required": {"type": "boolean"},
        "client_id_issued_at": {"type": "integer"},
        "first_party": {"type": "boolean"},
        "jwks": nullable({"type": "object"}),
        "has_secret": {"type": "boolean"},
    }
)
WITH_SECRET = {
    "type": "object",
    "properties": {"client": CLIENT, "client_secret": nullable({"type": "string"})},
    "required": ["client", "client_secret"],
    "additionalProperties": False,
}
CLIENT_ID = Param(
    "client_id", {"type": "string", "minLength": 1, "maxLength": 64}, "The client id.", True, "path"
)
_OBJECT: dict[str, Any] = {"type": "object"}  # documented in docs/admin-api.md, not here


def _catalogue() -> Catalogue:
    found: Catalogue = current_app.extensions["avain.catalogue"]
    return found


def _client(call: Call) -> Client:
    try:
        return partners.find(call.db, call.params["client_id"])
    except PartnerError:
        raise Problem(404, "No client has this id.") from None


def _refused(exc: ClientError) -> Problem:
    """Registration's refusal (RFC 7591 §3.2.2), its code kept."""
    return Problem(422, exc.description, exc.error)


@operation(
    "GET",
    "/clients",
    permission=Permission.CLIENTS_VIEW,
    summary="List the clients",
    response=obj({"clients": {"type": "array", "items": CLIENT}}),
    tag="partners",
    audited=False,
)
def list_clients(call: Call) -> dict[str, Any]:
    return {"clients": [partners.describe_client(c) for c in partners.all_clients(call.db)]}


@operation(
    "GET",
    "/clients/{client_id}",
    permission=Permission.CLIENTS_VIEW,
    summary="A client's registered metadata",
    parameters=(CLIENT_ID,),
    response=CLIENT,
    tag="partners",
    audited=False,
)
def get_client(call: Call) -> dict[str, Any]:
    return partners.describe_client(_client(call))


@operation(
    "POST",
    "/clients",
    permission=Permission.CLIENTS_MANAGE,
    summary="Create a client",
    description="Checked as dynamic registration checks it. The secret (for "
    "client_secret_basic and client_secret_post) is in this answer only.",
    body=obj(
        {"client_id": {"type": "string", "minLength": 1, "maxLength": 64}, **METADATA},
        required=["client_name"],
    ),
    response=WITH_SECRET,
    status=201,
    tag="partners",
    errors=(422,),
)
def create_client(call: Call) -> Reply:
    spec = partners.spec_from_metadata(call.body, call.body.get("client_id"))
    try:
        client, secret = partners.create_client(call.db, spec, policy_from(context.settings()))
    except ClientError as exc:
        raise _refused(exc) from None
    call.record("client_created", f"client:{client.client_id}")
    return Reply({"client": partners.describe_client(client), "client_secret": secret}, 201)


@operation(
    "PATCH",
    "/clients/{client_id}",
    permission=Permission.CLIENTS_MANAGE,
    summary="Change a client",
    description="The fields given replace the client's; the rest stay. Changing "
    "token_endpoint_auth_method (it issues or drops the secret) or jwks (the client's keys) "
    "is a dangerous change (admin:dangerous); a secret issued is in this answer only.",
    parameters=(CLIENT_ID,),
    body=obj(METADATA, required=[]),
    response=WITH_SECRET,
    tag="partners",
    errors=(422,),
)
def update_client(call: Call) -> dict[str, Any]:
    client = _client(call)
    current = partners.describe_client(client)
    meta = {k: current.get(k) for k in METADATA} | call.body
    spec = partners.spec_from_metadata(meta, client.client_id)
    if partners.dangerous_change(client, spec) and not call.caller.dangerous:
        raise Problem(
            403,
            "Changing token_endpoint_auth_method (which issues or drops the secret) or jwks "
            "(the keys the client signs with), or making the client first-party (no consent "
            "screen), needs a token with the admin:dangerous scope.",
            "dangerous_scope_required",
        )
    try:
        updated = partners.update_client(call.db, client, spec, policy_from(context.settings()))
    except ClientError as exc:
        raise _refused(exc) from None
    if updated.changed:
        call.record("client_updated", f"client:{client.client_id}", " ".join(updated.changed))
    return {"client": partners.describe_client(client), "client_secret": updated.secret}


@operation(
    "POST",
    "/clients/{client_id}/rotate-secret",
    permission=Permission.CLIENTS_MANAGE,
    summary="Rotate a client's secret",
    description="The old secret stops working at once; the new one is in this answer only. "
    "Tokens already issued stay valid until they expire.",
    parameters=(CLIENT_ID,),
    body=obj({"reason": reason("Why, for the audit log.")}),
    response=obj({"client_id": {"type": "string"}, "client_secret": {"type": "string"}}),
    tag="partners",
    dangerous=True,
    errors=(409,),
)
def rotate_client_secret(call: Call) -> dict[str, Any]:
    client = _client(call)
    try:
        secret = partners.rotate_secret(call.db, client)
    except PartnerError:
        raise Problem(
            409, "This client does not authenticate with a secret.", "no_secret"
        ) from None
    call.record(
        "client_secret_rotated", f"client:{client.client_id}", " ".join(call.body["reason"].split())
    )
    return {"client_id": client.client_id, "client_secret": secret}


@operation(
    "POST",
    "/clients/{client_id}/delete",
    permission=Permission.CLIENTS_MANAGE,
    summary="Delete a client",
    description="Every grant, token and handoff issued to it is revoked, then the client, "
    "its Shared Signals stream and its queued events are deleted. The consent ledger and "
    "the disclosure log keep their records.",
    parameters=(CLIENT_ID,),
    body=obj({"reason": reason("Why, for the audit log.")}),
    response=obj(
        {
            "client_id": {"type": "string"},
            "revoked": obj({"grants": COUNT, "tokens": COUNT, "handoffs": COUNT}),
        }
    ),
    tag="partners",
    dangerous=True,
)
def delete_client(call: Call) -> dict[str, Any]:
    client = _client(call)
    client_id = client.client_id
    removed = partners.delete_client(call.db, client)
    why = " ".join(call.body["reason"].split())
    call.record(
        "client_deleted",
        f"client:{client_id}",
        f"{why} (revoked: {removed.grants} grants, {removed.tokens} tokens, "
        f"{removed.handoffs} handoffs)",
    )
    return {
        "client_id": client_id,
        "revoked": {
            "grants": removed.grants,
            "tokens": removed.tokens,
            "handoffs": removed.handoffs,
        },
    }


@operation(
    "GET",
    "/sharing",
    permission=Permission.SHARING_MAP_VIEW,
    summary="The partners",
    description="Catalogue recipients first, then the clients the catalogue does not name.",
    response=obj({"partners": {"type": "array", "items": {"type": "string"}}}),
    tag="partners",
    audited=False,
)
def list_partners(call: Call) -> dict[str, Any]:
    return {"partners": sharing.partner_ids(call.db, _catalogue())}


@operation(
    "GET",
    "/sharing/{partner_id}",
    permission=Permission.SHARING_MAP_VIEW,
    summary="A partner's data-sharing map",
    description="The purposes and claims it may receive and on what basis, consents counted "
    "now, withdrawals and objections in the last 7 and 30 days, the last disclosure, the "
    "Shared Signals stream and back-channel logouts; the agreements with agreements.view.",
    parameters=(
        Param(
            "partner_id",
            {"type": "string", "minLength": 1, "maxLength": 64},
            "The recipient or client id.",
            True,
            "path",
        ),
    ),
    response=_OBJECT,
    tag="partners",
    audited=False,
)
def get_sharing_map(call: Call) -> dict[str, Any]:
    found = sharing.sharing_map(call.db, _catalogue(), call.params["partner_id"], call.now)
    if found is None:
        raise Problem(404, "Neither the catalogue nor a client knows this id.")
    return sharing.as_json(found, Permission.AGREEMENTS_VIEW in call.caller.permissions)


@operation(
    "GET",
    "/catalogue",
    permission=Permission.CATALOGUE_VIEW,
    summary="The catalogue in use",
    response=_OBJECT,
    tag="catalogue",
    audited=False,
)
def get_catalogue(call: Call) -> dict[str, Any]:
    allowed = Permission.AGREEMENTS_VIEW in call.caller.permissions
    return catalogue_view.catalogue_json(_catalogue(), allowed)


@operation(
    "GET",
    "/catalogue/purposes/{purpose_id}",
    permission=Permission.CATALOGUE_VIEW,
    summary="A purpose's versions and what each changed",
    parameters=(
        Param(
            "purpose_id",
            {"type": "string", "minLength": 1, "maxLength": 64},
            "The purpose id.",
            True,
            "path",
        ),
    ),
    response=_OBJECT,
    tag="catalogue",
    audited=False,
)
def get_purpose_versions(call: Call) -> dict[str, Any]:
    found = catalogue_view.history(call.db, _catalogue(), call.params["purpose_id"], call.now)
    if found is None:
        raise Problem(404, "The catalogue has no purpose with this id.")
    return catalogue_view.history_json(found)
