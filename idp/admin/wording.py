"""What the partner and catalogue pages call things: legal bases, needs, languages, and what
a new version of a purpose changes for customers (the codes of
:func:`idp.admin.catalogue_view.compare`), in fi/sv/en."""

from __future__ import annotations

from flask_babel import lazy_gettext

BASES = {
    "consent": lazy_gettext("Consent (GDPR Art. 6(1)(a))"),
    "contract": lazy_gettext("Contract (GDPR Art. 6(1)(b))"),
    "legal_obligation": lazy_gettext("Legal obligation (GDPR Art. 6(1)(c))"),
    "legitimate_interest": lazy_gettext("Legitimate interest (GDPR Art. 6(1)(f))"),
}

NEEDS = {
    "necessary": lazy_gettext("necessary"),
    "optional": lazy_gettext("optional"),
}

LANGUAGES = {"fi": "suomi", "sv": "svenska", "en": "English"}

PARTS = {"title": lazy_gettext("title"), "description": lazy_gettext("description")}

STREAM_STATUSES = {
    "enabled": lazy_gettext("enabled"),
    "paused": lazy_gettext("paused"),
    "disabled": lazy_gettext("disabled"),
}

EFFECTS = {
    "consent_outdated": lazy_gettext(
        "Consents given to the previous version no longer release anything: the recipients "
        "receive none of these claims about a customer until that customer consents again."
    ),
    "asked_at_sign_in": lazy_gettext(
        "Customers who had consented are asked again the next time they sign in to a recipient."
    ),
    "asked_on_account": lazy_gettext(
        "Customers who had consented are not interrupted at sign-in; the purpose is offered "
        "again on their account page."
    ),
    "optional_outdated": lazy_gettext(
        "Optional claims chosen under the previous version are withheld until the customer "
        "chooses again."
    ),
    "necessary_continue": lazy_gettext(
        "Necessary claims go on being shared on the purpose's legal basis; no one is asked."
    ),
    "no_longer_consent": lazy_gettext(
        "The purpose no longer rests on consent: its necessary claims are now shared without "
        "asking. Check that the privacy notice says so."
    ),
    "now_consent": lazy_gettext(
        "The purpose now rests on consent: nothing is shared until each customer consents."
    ),
    "new_necessary_shared": lazy_gettext(
        "Added necessary claims are shared at once, on the purpose's legal basis."
    ),
    "new_recipient_on_basis": lazy_gettext(
        "Added recipients receive the necessary claims at once, on the purpose's legal basis."
    ),
    "new_recipient_asked": lazy_gettext(
        "Added recipients receive nothing until a customer consents to them."
    ),
    "no_longer_shared": lazy_gettext(
        "Removed claims and recipients are no longer shared from the next release on; what "
        "was already disclosed stays in the disclosure log."
    ),
    "validity_from_now": lazy_gettext("The new validity applies to consents given from now on."),
}


def basis(name: str) -> str:
    return str(BASES.get(name, name))


def need(name: str) -> str:
    return str(NEEDS.get(name, name))


def effect(code: str) -> str:
    return str(EFFECTS.get(code, code))


def part(name: str) -> str:
    return str(PARTS.get(name, name))


def stream_status(name: str) -> str:
    return str(STREAM_STATUSES.get(name, name))
