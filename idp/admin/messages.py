"""What the console says: its error messages by code and the roles' names, in fi/sv/en."""

from __future__ import annotations

from flask import Response, jsonify
from flask_babel import lazy_gettext

from idp.admin.accounts import AdminError

MESSAGES = {
    "invalid_response": lazy_gettext("The passkey's answer could not be read. Please try again."),
    "verification_failed": lazy_gettext("The passkey could not be verified."),
    "unknown_passkey": lazy_gettext("This passkey is not registered for the console."),
    "cloned": lazy_gettext(
        "This passkey's counter went backwards; it may have been copied. Ask an owner."
    ),
    "disabled": lazy_gettext("This admin account is disabled."),
    "no_challenge": lazy_gettext(
        "The sign-in took too long or was already used. Please try again."
    ),
    "already_registered": lazy_gettext("This passkey is already registered."),
    "link_invalid": lazy_gettext("This enrolment link is not valid. Ask an owner for a new one."),
    "link_expired": lazy_gettext("This enrolment link has expired. Ask an owner for a new one."),
    "already_disabled": lazy_gettext("This admin account is already disabled."),
    "reason_required": lazy_gettext("Give a reason; it goes into the audit log."),
    "too_many_attempts": lazy_gettext("Too many failed sign-ins. Please wait a while."),
    "not_yourself": lazy_gettext("You cannot disable your own account here."),
    "not_your_own_role": lazy_gettext("You cannot change your own role; another owner can."),
    "not_active": lazy_gettext("This admin is disabled."),
    "same_role": lazy_gettext("The admin has this role already."),
    "last_owner": lazy_gettext("This is the last owner: make another admin an owner first."),
    "invalid_email": lazy_gettext("Give a valid email address."),
    "exists": lazy_gettext("An admin with this email address exists already."),
    "invalid_role": lazy_gettext("Choose one of the roles."),
}


ROLE_NAMES = {
    "support": lazy_gettext("Customer support"),
    "privacy": lazy_gettext("Privacy officer"),
    "partners": lazy_gettext("Partner manager"),
    "auditor": lazy_gettext("Auditor"),
    "owner": lazy_gettext("Owner"),
}


def json_error(exc: AdminError, status: int = 400) -> Response:
    """The JSON the console's script shows: the code and a readable ``message``."""
    resp = jsonify({"error": exc.code, "message": str(MESSAGES.get(exc.code, exc.code))})
    resp.status_code = status
    return resp
