"""Translated texts for the reason codes of account operations."""

from __future__ import annotations

from flask_babel import gettext as _


def message(code: str) -> str:
    texts = {
        "bad_credentials": _("The email address or password is not correct."),
        "throttled": _(
            "Too many failed attempts. Wait 15 minutes and try again, or reset your password."
        ),
        "registration_throttled": _(
            "Too many registrations from your network. Wait 15 minutes and try again."
        ),
        "invalid_email": _("Enter a valid email address."),
        "invalid_name": _("Enter your name (at most 200 characters)."),
        "email_taken": _(
            "An account with this email address exists already. Sign in or reset the password."
        ),
        "password_too_short": _("The password must be at least 10 characters long."),
        "password_too_long": _("The password is too long."),
        "password_equals_email": _("The password must not be your email address."),
        "password_too_common": _("This password is too easy to guess. Choose another."),
        "password_mismatch": _("The passwords do not match."),
        "wrong_password": _("The current password is not correct."),
        "has_password": _("Your account already has a password. Change it instead."),
        "passkey_not_fresh": _(
            "For your safety, confirm with your passkey first. The confirmation is valid "
            "for 5 minutes."
        ),
        "link_expired": _("The link has expired. Ask for a new one."),
        "link_invalid": _("The link is not valid or was used already."),
        "passkey_no_challenge": _("The passkey request expired. Try again."),
        "passkey_challenge_expired": _("The passkey request expired. Try again."),
        "passkey_invalid_response": _("The browser sent an answer we could not read."),
        "passkey_verification_failed": _("The passkey could not be verified. Try again."),
        "passkey_unknown_passkey": _("This passkey is not registered here."),
        "passkey_already_registered": _("This passkey is already registered."),
        "passkey_too_many": _("You have the most passkeys allowed. Remove one first."),
        "passkey_blocked": _(
            "This passkey is blocked because it looked copied. Use another "
            "way to sign in and remove it."
        ),
        "passkey_cloned": _(
            "This passkey was blocked: its counter went backwards, which "
            "happens when a passkey is copied. Use another way to sign in."
        ),
        "passkey_last_way_in": _(
            "This is your last way to sign in. Set a password or add another passkey first."
        ),
        "passkey_invalid_name": _("Give the passkey a name."),
        "locked": _("Sign-in to this account is locked. Please contact customer service."),
        "passkey_locked": _("Sign-in to this account is locked. Please contact customer service."),
        "invalid_phone": _("Enter the phone number with digits, e.g. +358 40 123 4567."),
        "invalid_address": _("An address line is too long (at most 200 characters)."),
        "invalid_locale": _("Choose one of the offered languages."),
        "invalid_car_registration": _(
            "Enter the registration number as on the plate, e.g. ABC-123."
        ),
    }
    return str(texts.get(code, _("Something went wrong. Please try again.")))
