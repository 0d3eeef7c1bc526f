"""The console's client form: its fields read as registration metadata, and shown again.

Only the reading is here; every check on the metadata is :func:`idp.oauth.clients.validate`,
through :mod:`idp.admin.partners`. A form can send what JSON cannot (a field of any
length, keys as text), so the few checks on that come first.
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import lazy_gettext
from werkzeug.datastructures import MultiDict

from idp.oauth.clients import ClientSpec

MAX_FIELD = 20_000  # characters in one form field; the request itself is capped too
TOO_LONG = lazy_gettext("A field is too long.")
BAD_JWKS = lazy_gettext("The public keys must be a JWK Set in JSON.")


class FormError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _lines(form: MultiDict[str, str], key: str) -> list[str]:
    return [line.strip() for line in form.get(key, "").splitlines() if line.strip()]


def spec_from_form(form: MultiDict[str, str]) -> ClientSpec:
    """The form's fields as registration metadata; the checks are the service's."""
    if any(len(v) > MAX_FIELD for v in form.values()):
        raise FormError(str(TOO_LONG))
    jwks_text = form.get("jwks", "").strip()
    jwks: dict[str, Any] | None = None
    if jwks_text:
        try:
            parsed = json.loads(jwks_text)
        except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
            raise FormError(str(BAD_JWKS)) from None
        if not isinstance(parsed, dict):
            raise FormError(str(BAD_JWKS))
        jwks = parsed
    return ClientSpec(
        name=" ".join(form.get("client_name", "").split()),
        redirect_uris=_lines(form, "redirect_uris"),
        grant_types=[t for t in form.getlist("grant_types") if t],
        token_endpoint_auth_method=form.get("token_endpoint_auth_method") or None,
        post_logout_redirect_uris=_lines(form, "post_logout_redirect_uris"),
        backchannel_logout_uri=form.get("backchannel_logout_uri", "").strip() or None,
        backchannel_logout_session_required="backchannel_logout_session_required" in form,
        subject_type=form.get("subject_type", "public"),
        scope=" ".join(form.get("scope", "").split()) or "openid",
        id_token_signed_response_alg=form.get("id_token_signed_response_alg", "RS256"),
        access_token_signed_response_alg=form.get("access_token_signed_response_alg") or None,
        jwks=jwks,
        first_party="first_party" in form,
        client_id=form.get("client_id", "").strip() or None,
    )


def values_of(spec: ClientSpec) -> dict[str, Any]:
    """What the form shows for ``spec``."""
    return {
        "client_id": spec.client_id or "",
        "client_name": spec.name,
        "redirect_uris": "\n".join(spec.redirect_uris),
        "post_logout_redirect_uris": "\n".join(spec.post_logout_redirect_uris),
        "backchannel_logout_uri": spec.backchannel_logout_uri or "",
        "backchannel_logout_session_required": spec.backchannel_logout_session_required,
        "grant_types": list(spec.grant_types),
        "token_endpoint_auth_method": spec.token_endpoint_auth_method or "client_secret_basic",
        "subject_type": spec.subject_type,
        "scope": spec.scope,
        "id_token_signed_response_alg": spec.id_token_signed_response_alg,
        "access_token_signed_response_alg": spec.access_token_signed_response_alg or "",
        "jwks": json.dumps(spec.jwks, indent=2) if spec.jwks else "",
        "first_party": spec.first_party,
    }


def form_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """The submitted form, shown again with its error."""
    return {
        "client_id": form.get("client_id", "")[:MAX_FIELD],
        "client_name": form.get("client_name", "")[:MAX_FIELD],
        "redirect_uris": form.get("redirect_uris", "")[:MAX_FIELD],
        "post_logout_redirect_uris": form.get("post_logout_redirect_uris", "")[:MAX_FIELD],
        "backchannel_logout_uri": form.get("backchannel_logout_uri", "")[:MAX_FIELD],
        "backchannel_logout_session_required": "backchannel_logout_session_required" in form,
        "grant_types": form.getlist("grant_types"),
        "token_endpoint_auth_method": form.get("token_endpoint_auth_method", ""),
        "subject_type": form.get("subject_type", ""),
        "scope": form.get("scope", "")[:MAX_FIELD],
        "id_token_signed_response_alg": form.get("id_token_signed_response_alg", ""),
        "access_token_signed_response_alg": form.get("access_token_signed_response_alg", ""),
        "jwks": form.get("jwks", "")[:MAX_FIELD],
        "first_party": "first_party" in form,
    }
