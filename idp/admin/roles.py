"""Roles and permissions of the admin console (issue 12), and the decorators every admin
route declares its permission with.

Each role is a set of permissions; a route names the one permission it needs. The test in
``tests/admin/test_permissions.py`` walks the URL map: every ``/admin`` route must carry a
declaration, refuse a visitor and refuse every role without its permission.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from idp.models.admins import Role

F = TypeVar("F", bound=Callable[..., Any])


class Permission(StrEnum):
    SESSION = "session"  # sign out, re-verify a passkey: every signed-in admin
    OVERVIEW = "overview"
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_SESSIONS = "customers.sessions"
    CUSTOMERS_RESEND = "customers.resend_verification"
    RIGHTS_RECORD = "customers.rights_request"
    CUSTOMERS_EXPORT = "customers.export"
    CUSTOMERS_ERASE = "customers.erase"
    # lock and unlock a customer's sign-in, remove a lost passkey: support's, as the first
    # to hear of a taken-over account (idp.admin.customers says what a lock does)
    CUSTOMERS_SIGN_IN = "customers.sign_in"
    COMPLAINTS_VIEW = "complaints.view"
    COMPLAINTS_MANAGE = "complaints.manage"
    LEDGER_VIEW = "ledger.view"
    CLIENTS_VIEW = "clients.view"
    CLIENTS_MANAGE = "clients.manage"
    AGREEMENTS_VIEW = "agreements.view"
    AGREEMENTS_MANAGE = "agreements.manage"
    SHARING_MAP_VIEW = "sharing_map.view"
    CATALOGUE_VIEW = "catalogue.view"
    AUDIT_VIEW = "audit.view"
    ADMINS_VIEW = "admins.view"
    ADMINS_MANAGE = "admins.manage"


P = Permission
_SUPPORT = {
    P.SESSION,
    P.OVERVIEW,
    P.CUSTOMERS_VIEW,
    P.CUSTOMERS_SESSIONS,
    P.CUSTOMERS_RESEND,
    P.RIGHTS_RECORD,
    P.CUSTOMERS_SIGN_IN,
}
_PRIVACY = _SUPPORT | {
    P.COMPLAINTS_VIEW,
    P.COMPLAINTS_MANAGE,
    P.CUSTOMERS_EXPORT,
    P.CUSTOMERS_ERASE,
    P.LEDGER_VIEW,
    P.CATALOGUE_VIEW,
}
_PARTNERS = {
    P.SESSION,
    P.OVERVIEW,
    P.CLIENTS_VIEW,
    P.CLIENTS_MANAGE,
    P.AGREEMENTS_VIEW,
    P.AGREEMENTS_MANAGE,
    P.SHARING_MAP_VIEW,
    P.CATALOGUE_VIEW,
}
# read-only everywhere, and the audit log
_AUDITOR = {P.SESSION, P.AUDIT_VIEW} | {p for p in Permission if p.value.endswith(".view")}
_AUDITOR.add(P.OVERVIEW)

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SUPPORT: frozenset(_SUPPORT),
    Role.PRIVACY: frozenset(_PRIVACY),
    Role.PARTNERS: frozenset(_PARTNERS),
    Role.AUDITOR: frozenset(_AUDITOR),
    Role.OWNER: frozenset(Permission),
}

PUBLIC = "public"  # the declaration of the routes a visitor reaches: sign-in, enrolment


def allows(role: str, permission: Permission) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:  # a role this version does not know grants nothing
        return False


def declared(view: Callable[..., Any]) -> str | None:
    """The permission a view declares (a :class:`Permission` or :data:`PUBLIC`), if any."""
    found: str | None = getattr(view, "admin_permission", None)
    return found


def declare(view: F, permission: str) -> F:
    view.admin_permission = permission  # type: ignore[attr-defined]
    return view
