"""Customer accounts: registration, email verification, login, password reset and change."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, cast

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent import ledger
from consent.ledger.columns import EVENTS, INTAKE
from consent.store import CustomerKeyRow
from idp import context, direct
from idp.auth import passwords
from idp.auth.plates import normalise_plate
from idp.auth.throttle import LoginThrottle
from idp.db import utcnow
from idp.events import signals
from idp.ledger import disclosures
from idp.models import AuthorizationCode, Client, Grant, User
from idp.sso import sign_out_everywhere

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}$")
VERIFY_MAX_AGE = 48 * 3600
RESET_MAX_AGE = 3600


class AccountError(Exception):
    """A customer-facing failure; ``code`` picks the translated message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise_email(email: str) -> str:
    return email.strip().lower()


# lower(email) as ix_users_email_lower indexes it (tests/test_hot_path_plans.py)
_USERS = cast(Table, User.__table__)
_CUSTOMER = direct.Entity(User)
# every password sign-in sends it: direct (idp.direct)
_BY_EMAIL = direct.Statement(select(_USERS).where(func.lower(_USERS.c.email) == bindparam("email")))


def find_by_email(session: Session, email: str) -> User | None:
    row = _BY_EMAIL.execute(session, {"email": normalise_email(email)}).first()
    return _CUSTOMER.of(session, row) if row is not None else None


def _checked(email: str, name: str, password: str) -> tuple[str, str]:
    """The normalised address and name of a registration, or why it cannot be made."""
    email = normalise_email(email)
    name = " ".join(name.split())
    if not EMAIL_RE.match(email):
        raise AccountError("invalid_email")
    if not name or len(name) > 200:
        raise AccountError("invalid_name")
    if reason := passwords.weakness(password, email):
        raise AccountError(f"password_{reason}")
    return email, name


def _new_user(email: str, name: str, password_hash: str) -> User:
    parts = name.split(" ", 1)
    return User(
        email=email,
        name=name,
        given_name=parts[0],
        family_name=parts[1] if len(parts) > 1 else None,
        password_hash=password_hash,
        password_changed_at=utcnow(),
    )


def register(session: Session, email: str, name: str, password: str) -> User:
    """An account made by an operator (CLI, demo, tests): a taken address is an error."""
    email, name = _checked(email, name, password)
    if find_by_email(session, email) is not None:
        raise AccountError("email_taken")
    user = _new_user(email, name, passwords.hash_password(password))
    session.add(user)
    session.flush()
    return user


def sign_up(session: Session, email: str, name: str, password: str) -> User | None:
    """Self-service registration: a new, unconfirmed account, or None when the address has
    one already (also when a parallel registration just took it).

    Both outcomes do the same costly work (the checks and one Argon2 hash) and the caller
    answers them alike and mails the address either way, so registering tells
    nobody whether an address has an account (OWASP Authentication Cheat Sheet,
    "Authentication and error messages": account creation).
    """
    email, name = _checked(email, name, password)
    password_hash = passwords.hash_password(password)
    if find_by_email(session, email) is not None:
        return None
    user = _new_user(email, name, password_hash)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        return None
    return user


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


@dataclass(frozen=True)
class LoginAttempt:
    """A password sign-in that holds its throttle slots; only :func:`begin_login` makes one,
    so no password is checked without them."""

    throttle: LoginThrottle
    email: str
    ip: str


def begin_login(throttle: LoginThrottle, email: str, ip: str) -> LoginAttempt | None:
    """Take the attempt's throttle slots before its password is checked (so parallel
    requests check at most the limit); None when the account or the IP has none left.

    The caller commits before :func:`finish_login`: the counters are then not held locked
    through the Argon2 hash, and sign-ins from one address run side by side."""
    email = normalise_email(email)
    if not throttle.reserve(email, ip):
        return None
    return LoginAttempt(throttle, email, ip)


def finish_login(session: Session, attempt: LoginAttempt, password: str) -> LoginResult:
    """Check the password of an attempt. Unknown email and wrong password look and take the
    same; a right password gives the attempt's slots back."""
    email = attempt.email
    user = find_by_email(session, email) if EMAIL_RE.match(email) else None
    ok, new_hash = passwords.verify(password, user.password_hash if user else None)
    if not ok or user is None:
        return LoginResult(None, "bad_credentials")
    if new_hash:
        user.password_hash = new_hash
    attempt.throttle.succeeded(email, attempt.ip)
    if user.locked_at is not None:  # said only after the right password: no enumeration
        return LoginResult(None, "locked")
    return LoginResult(user)


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"avain-{purpose}")


def _load_link(secret_key: str, purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """The signed contents of an emailed link, or the reason it cannot be used."""
    try:
        data = _serializer(secret_key, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise AccountError("link_expired") from None
    except BadSignature:
        raise AccountError("link_invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str):
        raise AccountError("link_invalid")
    return data


def _password_marker(user: User) -> str:
    """Changes when the password changes, so a reset link works once."""
    return hashlib.sha256((user.password_hash or "none").encode()).hexdigest()[:16]


def make_verify_token(secret_key: str, user: User) -> str:
    return _serializer(secret_key, "verify").dumps({"u": user.id, "e": user.email})


def verify_email(session: Session, secret_key: str, token: str) -> User:
    data = _load_link(secret_key, "verify", token, VERIFY_MAX_AGE)
    user = session.get(User, data.get("u"))
    if user is None or user.email != data.get("e"):
        raise AccountError("link_invalid")
    user.email_verified = True
    return user


def make_reset_token(secret_key: str, user: User) -> str:
    return _serializer(secret_key, "reset").dumps({"u": user.id, "p": _password_marker(user)})


def user_for_reset(session: Session, secret_key: str, token: str) -> User:
    data = _load_link(secret_key, "reset", token, RESET_MAX_AGE)
    user = session.get(User, data.get("u"))
    if user is None or data.get("p") != _password_marker(user):
        raise AccountError("link_invalid")
    return user


def set_password(user: User, password: str) -> None:
    if reason := passwords.weakness(password, user.email):
        raise AccountError(f"password_{reason}")
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()


def confirm_password(throttle: LoginThrottle, user: User, password: str, ip: str) -> None:
    """Re-check the signed-in customer's password before a sensitive change. Failures count
    toward the same limit as sign-ins, so a stolen session cannot be used to guess it."""
    if not throttle.reserve(user.email, ip):
        raise AccountError("throttled")
    ok, _ = passwords.verify(password, user.password_hash)
    if not ok:
        raise AccountError("wrong_password")
    throttle.succeeded(user.email, ip)


def change_password(throttle: LoginThrottle, user: User, current: str, new: str, ip: str) -> None:
    confirm_password(throttle, user, current, ip)
    set_password(user, new)


def passkey_only_blocker(user: User, *, confirmed: bool, fresh: bool) -> str | None:
    """Why the password cannot be dropped yet, or None. Without a password the email is the
    only way back in when the passkeys are lost, so it must be confirmed; the customer must
    say so explicitly; and a passkey must have been proven minutes ago, so that a session
    left open on someone else's computer cannot lock the owner out."""
    if not user.email_verified:
        return "unconfirmed_email"
    if not confirmed:
        return "not_confirmed"
    if not fresh:
        return "not_fresh"
    return None


def drop_password(user: User) -> None:
    """Passkeys only: no password, and so no passkey asked after it."""
    user.password_hash = None
    user.passkey_second_factor = False
    user.password_changed_at = utcnow()


def set_first_password(user: User, new: str, *, fresh: bool) -> None:
    """A passkey-only customer sets a password again: no old one to ask for, so a passkey
    proven minutes ago stands in for it (``fresh``)."""
    if user.password_hash is not None:
        raise AccountError("has_password")
    if not fresh:
        raise AccountError("passkey_not_fresh")
    set_password(user, new)


def delete_account(session: Session, user: User) -> int:
    """GDPR Art. 17: end every session (queueing back-channel logouts to the services the
    customer used; a RISC account-purged event to every client that had them), destroy the
    key of their consent records, delete their disclosure log (:mod:`idp.ledger.disclosures`
    says why) and the account. Returns the logouts queued. The consent log keeps its
    entries, which no longer identify anyone."""
    had = _clients_of(session, user)
    queued = sign_out_everywhere(session, user)
    signals.account_purged(session, context.settings().issuer, user, had)
    ledger.erase_customer(session, user.id)
    disclosures.forget(session, user.id)
    session.delete(user)
    session.flush()
    return queued


def _clients_of(session: Session, user: User) -> list[Client]:
    """Every client that had the customer: a grant, a code, or a consent record."""
    ids = set(session.scalars(select(Grant.client_id).where(Grant.user_id == user.id)))
    ids |= set(
        session.scalars(
            select(AuthorizationCode.client_id).where(AuthorizationCode.user_id == user.id)
        )
    )
    subject = session.scalar(
        select(CustomerKeyRow.subject).where(CustomerKeyRow.customer_id == user.id)
    )
    if subject is not None:  # recipients are stored in the clear beside the sealed details
        for table in (EVENTS, INTAKE):
            ids |= set(
                session.scalars(
                    select(table.c.recipient_id).where(table.c.subject == subject).distinct()
                )
            )
    found = [session.get(Client, cid) for cid in sorted(ids)]
    return [c for c in found if c is not None]


PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{4,24}$")
ADDRESS_FIELDS = ("street_address", "postal_code", "locality", "country")


def update_profile(user: User, form: dict[str, str], languages: list[str]) -> None:
    """Validate every field first, then change the account (nothing half-written)."""
    name = " ".join(form.get("name", "").split())
    if not name or len(name) > 200:
        raise AccountError("invalid_name")
    given = " ".join(form.get("given_name", "").split())[:100] or None
    family = " ".join(form.get("family_name", "").split())[:100] or None
    phone = " ".join(form.get("phone_number", "").split()) or None
    if phone is not None and not PHONE_RE.match(phone):
        raise AccountError("invalid_phone")
    address = {k: " ".join(form.get(k, "").split()) for k in ADDRESS_FIELDS}
    if any(len(v) > 200 for v in address.values()):
        raise AccountError("invalid_address")
    locale = form.get("locale") or None
    if locale is not None and locale not in languages:
        raise AccountError("invalid_locale")
    try:
        plate = normalise_plate(form.get("car_registration", ""))
    except ValueError:
        raise AccountError("invalid_car_registration") from None
    user.name, user.given_name, user.family_name, user.locale = name, given, family, locale
    user.car_registration = plate
    if phone != user.phone_number:
        user.phone_number, user.phone_number_verified = phone, False
    if any(address.values()):
        parts = [
            address["street_address"],
            " ".join(p for p in (address["postal_code"], address["locality"]) if p),
            address["country"],
        ]
        user.address = {k: v for k, v in address.items() if v} | {
            "formatted": "\n".join(p for p in parts if p)
        }
    else:
        user.address = None
    user.updated_at = utcnow()
