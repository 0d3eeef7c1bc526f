"""What claims and legal bases are called on the customer's pages."""

from __future__ import annotations

from flask_babel import gettext as _


def claim_label(name: str) -> str:
    labels = {
        "name": _("Your name"),
        "given_name": _("Your first name"),
        "family_name": _("Your family name"),
        "email": _("Your email address"),
        "email_verified": _("Whether your email address is confirmed"),
        "phone_number": _("Your phone number"),
        "phone_number_verified": _("Whether your phone number is confirmed"),
        "address": _("Your postal address"),
        "locale": _("Your language"),
        "updated_at": _("When your details last changed"),
        "car_registration": _("Your car's registration number"),
        "tire_purchase": _("The tires you bought"),
    }
    return str(labels.get(name, name))


def basis_label(basis: str) -> str:
    labels = {
        "consent": _("your consent"),
        "contract": _("your customer contract"),
        "legal_obligation": _("a legal obligation"),
        "legitimate_interest": _("our legitimate interest"),
    }
    return str(labels.get(basis, basis))


def status_label(status: str) -> str:
    labels = {
        "active": _("shared"),
        "refused": _("refused"),
        "withdrawn": _("withdrawn"),
        "expired": _("expired"),
        "objected": _("objected to"),
        "restricted": _("restricted"),
        "none": _("not shared"),
    }
    return str(labels.get(status, status))
