"""What an admin does for a customer (issue 12); the search is :mod:`.customer_search`.

Plain functions over a SQLAlchemy ``Session`` (they flush, never commit), so that the
console's pages and the admin API call the same ones. What the customer can do for
themselves reuses the customer's own services: ending sessions (:mod:`idp.sso.logout`), the
export (:func:`idp.account.sharing.export`), erasure (:func:`idp.auth.accounts.
delete_account`, so tokens, back-channel logouts and Shared Signals go as when the customer
deletes the account), and rights requests (:func:`idp.account.sharing.change`, the ledger
event's actor being "admin").

Locking sign-in is for an account taken over or under investigation. It stops every way in
(password and passkey sign-in say the account is locked, and only after a right password,
so no one learns it from outside), ends every SSO session and revokes every grant, offline
ones included, as a password reset does: a refresh token held by whoever took the account
over must stop working too. Partners hear of it by back-channel logout and a CAEP
session-revoked event. Consents stay as they are (a lock is not a withdrawal), and
unlocking gives back only the ability to sign in: partners get tokens again after the
customer signs in again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent import ledger
from consent.model import Actor, Channel
from idp.account import sharing
from idp.auth import accounts, letters
from idp.db import aware
from idp.ledger import consents
from idp.models import Client, Passkey, SsoSession, User
from idp.sso import sessions
from idp.sso.logout import end_other_sessions, end_session, sign_out_everywhere

MAX_REASON = 500


class CustomerError(ValueError):
    """What went wrong, as a code the console and the API word (:mod:`.customers_views`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def get(session: Session, customer_id: str) -> User:
    found = session.get(User, customer_id[:36])
    if found is None:
        raise CustomerError("no_such_customer")
    return found


def reason_of(text: str | None) -> str:
    """A reason the audit log keeps: required, one line, at most :data:`MAX_REASON`."""
    reason = " ".join((text or "").split())[:MAX_REASON]
    if not reason:
        raise CustomerError("reason_required")
    return reason


@dataclass(frozen=True)
class SignIn:
    sessions: list[SsoSession]
    passkeys: list[Passkey]


def sign_in_state(session: Session, user: User) -> SignIn:
    passkeys = list(
        session.scalars(
            select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at)
        )
    )
    return SignIn(sessions.list_active(session, user.id), passkeys)


def session_handle(sso: SsoSession) -> str:
    """What the console names a session by. Never its id: that is the customer's cookie
    value, and an admin who could read it could sign in as the customer."""
    return hashlib.sha256(b"avain-admin-session:" + sso.id.encode()).hexdigest()[:24]


def end_one_session(session: Session, user: User, handle: str) -> int:
    """End one of the customer's SSO sessions; returns the back-channel logouts queued."""
    for sso in sessions.list_active(session, user.id):
        if hmac.compare_digest(session_handle(sso), handle[:24]):
            return end_session(session, sso)
    raise CustomerError("no_such_session")


def end_all_sessions(session: Session, user: User) -> int:
    return end_other_sessions(session, user)


def remove_passkey(session: Session, user: User, passkey_id: str) -> None:
    """A lost or stolen passkey. Unlike the customer, an admin may remove the last way in:
    the customer can still set a password by the emailed reset link."""
    passkey = session.get(Passkey, passkey_id[:1400])
    if passkey is None or passkey.user_id != user.id:
        raise CustomerError("no_such_passkey")
    session.delete(passkey)
    session.flush()
    if not session.scalar(select(func.count()).where(Passkey.user_id == user.id)):
        user.passkey_second_factor = False  # no passkey left to ask for after the password


def resend_verification(session: Session, user: User) -> None:
    if user.email_verified:
        raise CustomerError("already_verified")
    letters.queue(session, letters.Letter.VERIFY, user.email, user.locale or "en")


def lock(session: Session, user: User, now: datetime) -> int:
    """Lock sign-in (the module's docstring says what it does); returns the logouts queued."""
    if user.locked_at is not None:
        raise CustomerError("already_locked")
    user.locked_at = now
    return sign_out_everywhere(session, user)


def unlock(session: Session, user: User) -> None:
    if user.locked_at is None:
        raise CustomerError("not_locked")
    user.locked_at = None


@dataclass(frozen=True)
class Recorded:
    recorded: bool  # False: the ledger already said so, nothing was added
    logouts: int  # back-channel logouts queued


RIGHTS = tuple(consents.RIGHTS)  # withdraw, object, restrict, lift_restriction
RECEIVED_BY = {"letter": Channel.LETTER, "phone": Channel.PHONE}


def record_request(
    session: Session,
    ctx: consents.Context,
    issuer: str,
    admin_email: str,
    user: User,
    recipient_id: str,
    purpose_id: str,
    action: str,
    received_by: str,
    reason: str,
    now: datetime,
) -> Recorded:
    """A rights request the customer made by letter or phone, recorded as an admin-acted
    ledger event with the admin and the reason in its details. The effects are the
    customer's own request's (tokens end, partners are told). A request that changes
    nothing (a withdrawal of a consent that does not stand) records nothing."""
    if action not in RIGHTS:
        raise CustomerError("bad_action")
    channel = RECEIVED_BY.get(received_by)
    if channel is None:
        raise CustomerError("bad_channel")
    client = session.get(Client, recipient_id[:64])
    if client is None:
        raise CustomerError("no_such_recipient")
    waiting = ledger.queued(session, ctx.keys, user.id)
    try:
        logouts = sharing.change(
            session,
            ctx,
            issuer,
            user,
            client,
            purpose_id[:64],
            action,
            language=None,
            session_id=None,
            now=now,
            actor=Actor.ADMIN,
            channel=channel,
            reason=reason_of(reason),
            admin=admin_email,
        )
    except LookupError:
        raise CustomerError("no_such_purpose") from None
    except consents.NotApplicable:
        raise CustomerError("not_applicable") from None
    # an event is recorded into the intake first, where the sequencer picks it up later
    return Recorded(ledger.queued(session, ctx.keys, user.id) > waiting, logouts)


def export(session: Session, ctx: consents.Context, user: User) -> dict[str, Any]:
    """GDPR Art. 15: the profile, sign-in (sessions and passkeys, no secrets) and the
    customer's own export (consent history, disclosures, what partners added)."""
    state = sign_in_state(session, user)
    return {
        "profile": {
            "id": user.id,
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "phone_number": user.phone_number,
            "phone_number_verified": user.phone_number_verified,
            "address": user.address,
            "locale": user.locale,
            "car_registration": user.car_registration,
            "created_at": aware(user.created_at).isoformat(),
            "sign_in_locked_at": aware(user.locked_at).isoformat() if user.locked_at else None,
            "has_password": user.password_hash is not None,
        },
        "sessions": [
            {
                "started": aware(s.auth_time).isoformat(),
                "last_seen": aware(s.last_seen_at).isoformat(),
                "amr": s.amr,
                "user_agent": s.user_agent,
                "ip_address": s.ip_address,
            }
            for s in state.sessions
        ],
        "passkeys": [
            {"name": p.name, "created": aware(p.created_at).isoformat()} for p in state.passkeys
        ],
        **sharing.export(session, ctx, user),
    }


def erase(session: Session, user: User) -> int:
    """GDPR Art. 17, as when the customer deletes the account; returns the logouts queued."""
    return accounts.delete_account(session, user)
