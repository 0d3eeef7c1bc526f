"""Password hashing: Argon2id with OWASP's parameters (m=19456 KiB, t=2, p=1).

Hashes made with other parameters verify and are flagged for rehash, so they are
upgraded at the customer's next successful login.
"""

from __future__ import annotations

from passlib.context import CryptContext

MIN_LENGTH = 10
MAX_LENGTH = 1024

context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=19456,
    argon2__rounds=2,
    argon2__parallelism=1,
)

# Verified against when the account is unknown, so both answers take similar time.
_DUMMY_HASH = context.hash("avain-timing-equaliser")


def hash_password(password: str) -> str:
    return str(context.hash(password))


def verify(password: str, stored: str | None) -> tuple[bool, str | None]:
    """Return (ok, new_hash_or_None). Spends Argon2 time even when nothing is stored."""
    if len(password) > MAX_LENGTH:
        return False, None
    if not stored:
        context.verify(password, _DUMMY_HASH)
        return False, None
    ok, new_hash = context.verify_and_update(password, stored)
    return bool(ok), new_hash


def weakness(password: str, email: str = "") -> str | None:
    """A reason the password is not acceptable, or None (NIST SP 800-63B §5.1.1.2)."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    lowered = password.lower()
    if email and lowered == email.lower():
        return "equals_email"
    if len(set(password)) < 4 or lowered in _COMMON:
        return "too_common"
    return None


_COMMON = {
    "password12",
    "password123",
    "1234567890",
    "qwertyuiop",
    "salasana123",
    "lösenord123",
    "0123456789",
    "letmein123",
    "welcome123",
    "iloveyou12",
    "qwerty1234",
    "password1!",
}
