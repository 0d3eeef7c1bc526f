"""The console's customers (issue 12): search, and what an admin does for a customer.

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

import base64
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, tuple_, union_all
from sqlalchemy.orm import Session, aliased

from consent import ledger
from consent.model import Actor, Channel
from idp.account import sharing
from idp.auth import accounts, letters
from idp.db import aware
from idp.ledger import consents
from idp.models import Client, Passkey, SsoSession, User
from idp.models.users import phone_digits
from idp.sso import sessions
from idp.sso.logout import end_other_sessions, end_session, sign_out_everywhere

PAGE_SIZE = 25
MAX_QUERY = 200  # characters: longer is no name, address or number
MIN_TEXT = 2  # characters of a name or an email address: one would match a twentieth of all
MIN_DIGITS = 3
MAX_REASON = 500


class CustomerError(ValueError):
    """What went wrong, as a code the console and the API word (:mod:`.customers_views`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Kind(StrEnum):
    AUTO = "auto"
    EMAIL = "email"
    NAME = "name"
    PHONE = "phone"
    ID = "id"


@dataclass(frozen=True)
class Query:
    kind: Kind  # never AUTO once parsed
    text: str  # normalised: lower case, or digits, or the id


@dataclass(frozen=True)
class Page:
    query: Query
    customers: list[User]
    next: str | None  # the cursor of the next page, None on the last


_PHONE_CHARS = re.compile(r"^\+?[0-9 ()./-]+$")


def parse(text: str, kind: str = "auto") -> Query:
    """What is searched for. ``auto`` guesses: an id, an address (``@``, or a dot in one
    word), a number, else a name."""
    text = " ".join("".join(c for c in text if c.isprintable()).split())
    if len(text) > MAX_QUERY:
        raise CustomerError("query_too_long")
    try:
        wanted = Kind(kind)
    except ValueError:
        raise CustomerError("bad_kind") from None
    if wanted is Kind.AUTO:
        if _as_id(text):
            wanted = Kind.ID
        elif "@" in text or ("." in text and " " not in text):  # "aino.v" is an address
            wanted = Kind.EMAIL
        elif _PHONE_CHARS.match(text):
            wanted = Kind.PHONE
        else:
            wanted = Kind.NAME
    if wanted is Kind.ID:
        found = _as_id(text)
        if found is None:
            raise CustomerError("not_an_id")
        return Query(wanted, found)
    if wanted is Kind.PHONE:
        digits = phone_digits(text) if _PHONE_CHARS.match(text) else None
        if digits is None or len(digits) < MIN_DIGITS:
            raise CustomerError("not_a_phone")
        return Query(wanted, digits)
    if len(text) < MIN_TEXT:
        raise CustomerError("query_too_short")
    return Query(wanted, text.lower())


def _as_id(text: str) -> str | None:
    try:
        return str(uuid.UUID(text)) if len(text) in (32, 36) else None
    except ValueError:
        return None


def _upper(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (code point order),
    None when there is none."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if last == 0xD800:  # surrogates are no characters; the next one is U+E000
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def _key(session: Session, expr: Any) -> ColumnElement[Any]:
    """PostgreSQL compares in byte order, as its search indexes do (migration 0016)."""
    key: ColumnElement[Any] = (
        expr.collate("C") if session.get_bind().dialect.name == "postgresql" else expr
    )
    return key


def _prefix(key: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
    upper = _upper(prefix)
    return (key >= prefix) & (key < upper) if upper is not None else key >= prefix


def _cursor(key: str, user_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([key, user_id]).encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, user_id = json.loads(raw)
    except (ValueError, TypeError):
        raise CustomerError("bad_page") from None
    if not isinstance(key, str) or not isinstance(user_id, str) or len(key) > 400:
        raise CustomerError("bad_page")
    return key, user_id[:36]


def _branch(session: Session, expr: Any, prefix: str, last: tuple[str, str] | None) -> Select[Any]:
    """One key's range, in the order of its index, from after the cursor: an index scan
    that stops after a page whatever the table's size."""
    key = _key(session, expr)
    stmt = select(User, key.label("search_key")).where(_prefix(key, prefix))
    if last is not None:
        stmt = stmt.where(tuple_(key, User.id) > tuple_(*last))
    return stmt.order_by(key, User.id).limit(PAGE_SIZE + 1)


def statement(session: Session, query: Query, after: str | None = None) -> Select[Any]:
    """The page's SELECT: a range on one indexed key, by (key, id).

    A name is looked for in the whole name ("matti vir") and in the family name ("virt"):
    each range is read in its own index's order and the two merged, each customer sorted
    by the key it matched on. One OR over both would make the planner either sort every
    match or walk one index filtering on the other (98 ms for "ve" at 20,000 customers).
    """
    if query.kind is Kind.ID:
        return select(User).where(User.id == query.text)
    last = _after(after) if after is not None else None
    if query.kind is Kind.PHONE:
        return _branch(session, User.phone_digits, query.text, last)
    if query.kind is Kind.EMAIL:
        return _branch(session, func.lower(User.email), query.text, last)
    branches = [
        select(_branch(session, func.lower(column), query.text, last).subquery())
        for column in (User.name, User.family_name)
    ]
    both = union_all(*branches).subquery()
    key = _key(session, both.c.search_key)
    found = aliased(User, both)
    return select(found, key.label("search_key")).order_by(key, both.c.id).limit(PAGE_SIZE + 1)


def search(session: Session, query: Query, after: str | None = None) -> Page:
    """One page of customers matching ``query``, keyset-paged (``after`` the cursor the
    previous page gave): each page costs the same however deep it is. A customer whose
    whole name and family name both match shows once on a page (and may again on a later
    one, under the other key)."""
    rows = session.execute(statement(session, query, after)).all()
    if query.kind is Kind.ID:
        return Page(query, [r[0] for r in rows], None)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    following = _cursor(rows[-1].search_key, rows[-1][0].id) if more else None
    shown: dict[str, User] = {}
    for row in rows:
        shown.setdefault(row[0].id, row[0])
    return Page(query, list(shown.values()), following)


# -- one customer ------------------------------------------------------------------------


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
