"""Passkeys (WebAuthn Level 3 through py_webauthn): registration, sign-in, management.

Discoverable credentials with user verification required; attestation ``none``. A sign
count that goes backwards means a cloned authenticator: the credential is blocked and the
customer told. ``amr`` follows RFC 8176: ``hwk`` for a device-bound key, ``swk`` for a
synced one, ``user`` for the verified user; ``acr`` the phishing-resistant levels of the
OpenID EAP ACR values (``phrh`` hardware-bound, ``phr`` otherwise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
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

from idp import direct
from idp.config import Settings
from idp.db import mark_written
from idp.models import Passkey, User

ACR_PASSKEY = "phr"
ACR_PASSKEY_HARDWARE = "phrh"
MAX_PASSKEYS = 20


class PasskeyError(Exception):
    """A passkey operation failed; ``code`` picks the customer-facing message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _user_handle(user: User) -> bytes:
    return user.id.encode()


def registration_options(session: Session, s: Settings, user: User) -> tuple[str, bytes]:
    """Options for ``navigator.credentials.create``; the challenge goes with the browser."""
    existing = session.scalars(select(Passkey).where(Passkey.user_id == user.id)).all()
    if len(existing) >= MAX_PASSKEYS:
        raise PasskeyError("too_many")
    options = generate_registration_options(
        rp_id=s.webauthn_rp_id,
        rp_name="Avain",
        user_name=user.email,
        user_id=_user_handle(user),
        user_display_name=user.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=_raw_id(p.id)) for p in existing],
    )
    return options_to_json(options), options.challenge


def _raw_id(credential_id: str) -> bytes:
    return base64url_to_bytes(credential_id)


def _parse(credential: str | dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(credential) if isinstance(credential, str) else credential
    except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
        raise PasskeyError("invalid_response") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or len(data["id"]) > 1400:
        raise PasskeyError("invalid_response")
    return data


def finish_registration(
    session: Session,
    s: Settings,
    user: User,
    credential: str | dict[str, Any],
    challenge: bytes,
    name: str,
) -> Passkey:
    data = _parse(credential)
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=s.webauthn_rp_id,
            expected_origin=s.webauthn_origins,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, InvalidJSONStructure, ValueError, KeyError, TypeError):
        raise PasskeyError("verification_failed") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.get(Passkey, credential_id) is not None:
        raise PasskeyError("already_registered")
    transports = [
        t for t in (data.get("response", {}).get("transports") or []) if isinstance(t, str)
    ][:8]
    passkey = Passkey(
        id=credential_id,
        user_id=user.id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
        aaguid=verified.aaguid,
        device_type=str(
            getattr(verified.credential_device_type, "value", verified.credential_device_type)
        ),
        backed_up=verified.credential_backed_up,
        name=" ".join(name.split())[:100] or "Passkey",
    )
    session.add(passkey)
    session.flush()
    return passkey


def authentication_options(
    session: Session, s: Settings, user: User | None = None
) -> tuple[str, bytes]:
    """Without a user: any discoverable passkey (conditional UI, usernameless)."""
    allow = []
    if user is not None:
        allow = [
            PublicKeyCredentialDescriptor(id=_raw_id(p.id))
            for p in session.scalars(
                select(Passkey).where(Passkey.user_id == user.id, Passkey.blocked_at.is_(None))
            )
        ]
    options = generate_authentication_options(
        rp_id=s.webauthn_rp_id,
        allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options), options.challenge


@dataclass(frozen=True)
class SignIn:
    user: User
    passkey: Passkey
    amr: list[str]
    acr: str


def counter_went_back(stored: int, received: int) -> bool:
    """WebAuthn L3 §7.2 step 22 and §6.1.1: when either counter is nonzero, the received one
    must be greater than the stored one, else the authenticator may be cloned. Both zero:
    an authenticator that does not count (as synced passkeys do)."""
    return (stored != 0 or received != 0) and received <= stored


# the credential and its customer in one round trip: the sign-in needs both; it and the
# passkey's use below are sent direct (idp.direct), as every passkey sign-in sends them
_PASSKEYS, _USERS = (cast(Table, m.__table__) for m in (Passkey, User))
_PASSKEY, _CUSTOMER = direct.Entity(Passkey), direct.Entity(User)
_WITH_CUSTOMER = direct.Statement(
    select(_PASSKEYS, _USERS)
    .select_from(_PASSKEYS.join(_USERS, _USERS.c.id == _PASSKEYS.c.user_id))
    .where(_PASSKEYS.c.id == bindparam("id"))
)


# the passkey's use, written by one prebuilt UPDATE rather than a flush of the unit of work
_USED = direct.Statement(
    update(_PASSKEYS)
    .where(_PASSKEYS.c.id == bindparam("passkey"))
    .values(
        sign_count=bindparam("new_sign_count"),
        last_used_at=bindparam("new_last_used_at"),
        backed_up=bindparam("new_backed_up"),
    )
)


def finish_authentication(
    session: Session, s: Settings, credential: str | dict[str, Any], challenge: bytes, now: datetime
) -> SignIn:
    data = _parse(credential)
    found = _WITH_CUSTOMER.execute(session, {"id": data["id"]}).first()
    if found is None:
        raise PasskeyError("unknown_passkey")
    passkey = _PASSKEY.found(session, found)
    user = _CUSTOMER.found(session, found, _PASSKEY.width)
    if passkey.blocked_at is not None:
        raise PasskeyError("blocked")
    handle = (data.get("response") or {}).get("userHandle")
    if handle:
        try:
            if base64url_to_bytes(handle) != passkey.user_id.encode():
                raise PasskeyError("verification_failed")
        except ValueError:
            raise PasskeyError("verification_failed") from None
    try:
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=s.webauthn_rp_id,
            expected_origin=s.webauthn_origins,
            credential_public_key=passkey.public_key,
            # 0: py_webauthn compares counters before it checks the signature; Avain
            # compares them itself, after, so a forged answer cannot block a passkey
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, InvalidJSONStructure, ValueError, KeyError, TypeError):
        raise PasskeyError("verification_failed") from None
    if counter_went_back(passkey.sign_count, verified.new_sign_count):
        passkey.blocked_at = now
        passkey.blocked_reason = "sign_count_rollback"
        raise PasskeyError("cloned")
    used = {
        "sign_count": verified.new_sign_count,
        "last_used_at": now,
        "backed_up": verified.credential_backed_up,
    }
    _USED.execute(session, {"passkey": passkey.id, **{f"new_{k}": v for k, v in used.items()}})
    mark_written(session)
    for attribute, value in used.items():  # as the row now stands: nothing left to flush
        set_committed_value(passkey, attribute, value)
    if user.locked_at is not None:  # an admin locked sign-in (idp.admin.customers.lock)
        raise PasskeyError("locked")
    hardware = passkey.device_type == "single_device"
    return SignIn(
        user,
        passkey,
        ["hwk" if hardware else "swk", "user"],
        ACR_PASSKEY_HARDWARE if hardware else ACR_PASSKEY,
    )


def of_user(session: Session, user: User) -> list[Passkey]:
    return list(
        session.scalars(
            select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at)
        )
    )


def rename(session: Session, user: User, passkey_id: str, name: str) -> None:
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise PasskeyError("unknown_passkey")
    name = " ".join(name.split())[:100]
    if not name:
        raise PasskeyError("invalid_name")
    passkey.name = name


def remove(session: Session, user: User, passkey_id: str) -> None:
    """The last way in cannot be removed: a password or another passkey must remain."""
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise PasskeyError("unknown_passkey")
    others = [p for p in of_user(session, user) if p.id != passkey.id and p.blocked_at is None]
    if not others and not user.password_hash:
        raise PasskeyError("last_way_in")
    session.delete(passkey)
