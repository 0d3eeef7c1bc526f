"""What claims and legal bases are called on the customer's pages."""

from __future__ import annotations

from collections.abc import Iterable

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


# the order in which claims are named to the customer: who they are, how to reach them, the rest
_ORDER = (
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
    "locale",
    "updated_at",
    "car_registration",
    "tire_purchase",
)


def in_reading_order(names: Iterable[str]) -> list[str]:
    """Claims as the customer reads them named: "your name, phone number and car"."""
    return sorted(names, key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n))


def claim_noun(name: str) -> str:
    """The claim's label as it reads inside a sentence ("your name", "nimesi")."""
    label = claim_label(name)
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


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
        "paused": _("paused while your complaint is handled"),
        # the ledger's complaint events, as the receipts page names them
        "complaint_opened": _("paused because of your complaint"),
        "complaint_closed": _("complaint closed, your choice applies again"),
        "none": _("not shared"),
    }
    return str(labels.get(status, status))
