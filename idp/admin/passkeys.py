"""Admins' passkeys (WebAuthn Level 3 through py_webauthn): enrolment and sign-in.

The same ceremony as customers' passkeys (:mod:`idp.auth.passkeys`), with stricter rules:
user verification is required, the credential must be discoverable, and a counter that
goes backwards refuses the sign-in (the customers' generic counter rule is reused). The
user handle is the admin's id, so a customer's passkey for the same site never signs an
admin in: it is not in ``admin_passkeys``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.admin.accounts import AdminError
from idp.auth.passkeys import counter_went_back
from idp.config import Settings
from idp.models.admins import Admin, AdminPasskey

_FAILED = (InvalidRegistrationResponse, InvalidJSONStructure, ValueError, KeyError, TypeError)


def _parse(credential: Any) -> dict[str, Any]:
    try:
        data = json.loads(credential) if isinstance(credential, str) else credential
    except (ValueError, RecursionError):
        raise AdminError("invalid_response") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or len(data["id"]) > 1400:
        raise AdminError("invalid_response")
    return data


def registration_options(session: Session, s: Settings, admin: Admin) -> tuple[str, bytes]:
    existing = session.scalars(select(AdminPasskey.id).where(AdminPasskey.admin_id == admin.id))
    options = generate_registration_options(
        rp_id=s.webauthn_rp_id,
        rp_name="Avain admin",
        user_name=admin.email,
        user_id=admin.id.encode(),
        user_display_name=admin.display_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(i)) for i in existing
        ],
    )
    return options_to_json(options), options.challenge


def finish_registration(
    session: Session, s: Settings, admin: Admin, credential: Any, challenge: bytes, now: datetime
) -> AdminPasskey:
    data = _parse(credential)
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=s.webauthn_rp_id,
            expected_origin=s.webauthn_origins,
            require_user_verification=True,
        )
    except _FAILED:
        raise AdminError("verification_failed") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.get(AdminPasskey, credential_id) is not None:
        raise AdminError("already_registered")
    transports = [
        t for t in (data.get("response", {}).get("transports") or []) if isinstance(t, str)
    ][:8]
    passkey = AdminPasskey(
        id=credential_id,
        admin_id=admin.id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
        created_at=now,
    )
    session.add(passkey)
    session.flush()
    return passkey


def authentication_options(
    session: Session, s: Settings, admin: Admin | None = None
) -> tuple[str, bytes]:
    """Usernameless (discoverable credentials) unless re-verifying a known admin."""
    allow: list[PublicKeyCredentialDescriptor] = []
    if admin is not None:
        ids = session.scalars(select(AdminPasskey.id).where(AdminPasskey.admin_id == admin.id))
        allow = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(i)) for i in ids]
    options = generate_authentication_options(
        rp_id=s.webauthn_rp_id,
        allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options), options.challenge


def claimed_admin(session: Session, credential: Any) -> Admin | None:
    """The admin whose passkey a (not yet verified) response names, for the failure record."""
    try:
        data = _parse(credential)
    except AdminError:
        return None
    passkey = session.get(AdminPasskey, data["id"])
    return session.get(Admin, passkey.admin_id) if passkey else None


def finish_authentication(
    session: Session, s: Settings, credential: Any, challenge: bytes, now: datetime
) -> tuple[Admin, AdminPasskey]:
    data = _parse(credential)
    passkey = session.get(AdminPasskey, data["id"])
    if passkey is None:
        raise AdminError("unknown_passkey")
    handle = (data.get("response") or {}).get("userHandle")
    try:
        if handle and base64url_to_bytes(handle) != passkey.admin_id.encode():
            raise AdminError("verification_failed")
    except ValueError:
        raise AdminError("verification_failed") from None
    try:
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=s.webauthn_rp_id,
            expected_origin=s.webauthn_origins,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,  # compared below, after the signature
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, *_FAILED):
        raise AdminError("verification_failed") from None
    if counter_went_back(passkey.sign_count, verified.new_sign_count):
        raise AdminError("cloned")
    admin = session.get(Admin, passkey.admin_id)
    if admin is None or not admin.active:
        raise AdminError("disabled")
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = now
    return admin, passkey
