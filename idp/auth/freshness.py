"""A passkey proven a moment ago, for the account changes that weaken how one signs in.

Dropping the password (passkeys only) and setting a new password without the old one are
done by whoever holds the browser; a session left open on a shared computer must not be
enough. As the admin console does for its dangerous actions (``idp.admin.sessions.FRESH``),
they need a passkey of the account used within the last few minutes in this session: either
the sign-in itself was by passkey that recently, or the customer confirmed with a passkey on
the account page (:func:`mark`, after ``/passkeys/confirm/verify``). The mark lives in the
signed session cookie, bound to the SSO session id, so it ends with that session and an
instance behind a load balancer reads it like any other.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from idp.db import aware
from idp.models import SsoSession

FRESH = timedelta(minutes=5)
KEY = "passkey_confirmed"
#: RFC 8176 methods of a passkey sign-in (idp.auth.passkeys.finish_authentication)
PASSKEY_AMR = frozenset({"hwk", "swk"})


def mark(store: MutableMapping[str, Any], sso: SsoSession, now: datetime) -> None:
    """The customer of ``sso`` has just proven a passkey of their account."""
    store[KEY] = {"sid": sso.id, "at": int(now.timestamp())}


def fresh(store: MutableMapping[str, Any], sso: SsoSession, now: datetime) -> bool:
    """Whether a passkey of the account was proven in this session within :data:`FRESH`."""
    if PASSKEY_AMR & set(sso.amr or ()) and now - aware(sso.auth_time) <= FRESH:
        return True
    stored = store.get(KEY)
    if not isinstance(stored, dict) or stored.get("sid") != sso.id:
        return False
    at = stored.get("at")
    if not isinstance(at, int):
        return False
    return timedelta(0) <= now - datetime.fromtimestamp(at, UTC) <= FRESH
