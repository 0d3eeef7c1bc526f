"""Mail to customers, queued in the outbox and written when it is sent.

A request only queues a letter for an address (one row, in its own transaction); the
outbox finds the account, makes the link and sends, after the commit. So ``/forgot`` and
``/register`` do the same work whether or not the address has an account (their time
tells nothing), and no reset link waits in the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from idp.auth import accounts
from idp.events.kinds import MAIL
from idp.models import Delivery, User


class Letter(StrEnum):
    VERIFY = "verify"  # confirm the address of a new account
    RESET = "reset"  # a link to set a new password
    ALREADY_REGISTERED = "already_registered"  # someone tried to register the address


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


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


def compose(user: User, secret_key: str, letter: Letter, link: Callable[..., str]) -> Mail | None:
    """The mail to ``user`` in the current locale, or None when there is nothing to say
    (an address confirmed already). ``link(endpoint, **values)`` makes an absolute link to
    one of Avain's pages."""
    if letter is Letter.VERIFY:
        if user.email_verified:
            return None
        url = link("auth.verify", token=accounts.make_verify_token(secret_key, user))
        return Mail(
            _("Confirm your email address for Avain"),
            _(
                "Hello %(name)s,\n\nconfirm your email address by opening this link:\n%(link)s"
                "\n\nThe link is valid for 48 hours. If you did not create an account, "
                "ignore this message.",
                name=user.name,
                link=url,
            ),
        )
    if letter is Letter.RESET:
        url = link("auth.reset", token=accounts.make_reset_token(secret_key, user))
        return Mail(
            _("Reset your Avain password"),
            _(
                "Hello %(name)s,\n\nset a new password by opening this link:\n%(link)s"
                "\n\nThe link is valid for one hour and works once. If you did not ask "
                "for this, ignore this message.",
                name=user.name,
                link=url,
            ),
        )
    return Mail(
        _("Someone tried to create an Avain account with your address"),
        _(
            "Hello %(name)s,\n\nsomeone tried to create a new Avain account with your email "
            "address. You have an account already: sign in at\n%(login)s\n\nIf you have "
            "forgotten your password, set a new one at\n%(forgot)s\n\nIf it was not you, "
            "ignore this message; your account was not changed.",
            name=user.name,
            login=link("auth.login"),
            forgot=link("auth.forgot"),
        ),
    )
