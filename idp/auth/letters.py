"""Mail to customers, queued in the outbox and written when it is sent.

A request only queues a letter for an address (one row, in its own transaction); the
outbox finds the account, makes the link and sends, after the commit. So ``/forgot`` and
``/register`` do the same work whether or not the address has an account (their time
tells nothing), and no reset link waits in the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from enum import StrEnum

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from idp.auth import accounts
from idp.events.kinds import MAIL
from idp.models import Delivery, User
from idp.theme import Theme


class Letter(StrEnum):
    VERIFY = "verify"  # confirm the address of a new account
    RESET = "reset"  # a link to set a new password
    ALREADY_REGISTERED = "already_registered"  # someone tried to register the address


@dataclass(frozen=True)
class Link:
    """A link in a letter: on a line of its own in the text, a button in the HTML."""

    url: str
    label: str


@dataclass(frozen=True)
class Mail:
    """One letter, written twice from the same parts: plain text and themed HTML."""

    subject: str
    text: str
    html: str


def queue(session: Session, letter: Letter, to: str, lang: str) -> Delivery:
    """Queue ``letter`` to ``to``, written in ``lang`` when the outbox sends it."""
    delivery = Delivery(
        kind=MAIL,
        client_id="",
        url=f"mailto:{accounts.normalise_email(to)}",
        payload=json.dumps({"letter": str(letter), "lang": lang}),
    )
    session.add(delivery)
    session.flush()
    return delivery


def recipient(session: Session, to: str) -> User | None:
    """The account a letter to ``to`` is about; None: there is nobody to write to."""
    return accounts.find_by_email(session, to)


def compose(
    user: User, secret_key: str, letter: Letter, link: Callable[..., str], theme: Theme
) -> Mail | None:
    """The mail to ``user`` in the current locale, or None when there is nothing to say
    (an address confirmed already). ``link(endpoint, **values)`` makes an absolute link to
    one of Avain's pages; ``theme`` names the service and colours the HTML."""
    product = theme.product_name
    parts: list[str | Link]
    if letter is Letter.VERIFY:
        if user.email_verified:
            return None
        subject = _("Confirm your email address for %(product)s", product=product)
        parts = [
            _("Confirm your email address by opening this link:"),
            Link(
                link("auth.verify", token=accounts.make_verify_token(secret_key, user)),
                _("Confirm my email address"),
            ),
            _(
                "The link is valid for 48 hours. If you did not create an account, "
                "you can ignore this message."
            ),
        ]
    elif letter is Letter.RESET:
        subject = _("Reset your %(product)s password", product=product)
        parts = [
            _("Set a new password by opening this link:"),
            Link(
                link("auth.reset", token=accounts.make_reset_token(secret_key, user)),
                _("Set a new password"),
            ),
            _(
                "The link is valid for one hour and works once. If you did not ask for "
                "this, you can ignore this message."
            ),
        ]
    else:
        subject = _("Someone tried to register your address at %(product)s", product=product)
        parts = [
            _(
                "Someone tried to create a new account with your email address. You have "
                "an account already, and you can sign in here:"
            ),
            Link(link("auth.login"), _("Sign in")),
            _("If you have forgotten your password, you can set a new one here:"),
            Link(link("auth.forgot"), _("Set a new password")),
            _("If it was not you, you can ignore this message; your account was not changed."),
        ]
    return write(theme, subject, _greeting(user), parts)


def _greeting(user: User) -> str:
    """The greeting line, with the given name when there is one ("Hello Maija,"); the
    letter goes on with a sentence of its own, capitalised, after a blank line."""
    name = (user.given_name or user.name or "").strip()
    return str(_("Hello %(name)s,", name=name) if name else _("Hello,"))


def write(theme: Theme, subject: str, greeting: str, parts: Sequence[str | Link]) -> Mail:
    """Both bodies from the same parts, so the text and the HTML always say the same."""
    html = render_template(
        "email/letter.html", theme=theme, subject=subject, greeting=greeting, parts=parts
    )
    return Mail(subject, _text(theme, greeting, parts), html)


def _text(theme: Theme, greeting: str, parts: Sequence[str | Link]) -> str:
    """The plain text: paragraphs apart, and every link alone on its line with a blank line
    before and after, so that nothing glued to it breaks it when it is copied or wrapped."""
    blocks = [greeting, *(p.url if isinstance(p, Link) else p for p in parts)]
    signature = [theme.product_name]
    if theme.has_support:
        signature.append(_("Customer service") + ":")
        signature += [c for c in (theme.support_email, theme.support_phone, theme.support_url) if c]
    return "\n\n".join(blocks) + "\n\n-- \n" + "\n".join(signature) + "\n"


def sender(mail_from: str, theme: Theme) -> str:
    """The From of customer mail: ``mail_from`` as configured, or, when it gives no display
    name, the address under the theme's product name (the customer sees who writes)."""
    name, address = parseaddr(mail_from)
    return mail_from if name or not address else formataddr((theme.product_name, address))
