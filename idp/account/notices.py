"""The account pages' sentences built from data: what a withdrawal or objection stopped,
and who received what (the disclosure log), in the page's language."""

from __future__ import annotations

from typing import Any

from babel.lists import format_list
from flask_babel import get_locale, gettext as _

from idp.account.sharing import Disclosed, Sharing
from idp.ledger.labels import claim_noun, in_reading_order
from idp.localtime import local_when


def claims_in_words(names: list[str]) -> str:
    """E.g. "your email address and your first name", in the page's language."""
    nouns = [claim_noun(c) for c in in_reading_order(names)]
    return format_list(nouns, locale=str(get_locale() or "en"))


def what_stopped(changed: Sharing | None, effect: dict[str, Any] | None) -> str | None:
    """The withdrawal's or objection's notice, e.g. "Offers by email: Rengasverkkokauppa no
    longer receives your email address; your customer account is unaffected." None when the
    change is not known (a link alone), and the page falls back to a general notice."""
    if changed is None or effect is None:
        return None
    what = changed.title or _("Sign in to %(client)s", client=changed.recipient_name)
    who = changed.recipient_name
    stopped = [str(c) for c in effect.get("stopped") or []]
    kept = [str(c) for c in effect.get("kept") or []]
    if stopped and effect.get("ended"):
        text = _(
            "%(what)s: %(who)s no longer receives %(claims)s, and its access to your "
            "details was ended.",
            what=what,
            who=who,
            claims=claims_in_words(stopped),
        )
    elif stopped:
        text = _(
            "%(what)s: %(who)s no longer receives %(claims)s; your customer account is unaffected.",
            what=what,
            who=who,
            claims=claims_in_words(stopped),
        )
    elif effect.get("ended"):
        text = _(
            "%(what)s: %(who)s can no longer use your details for this, and its access to "
            "your details was ended.",
            what=what,
            who=who,
        )
    else:
        text = _(
            "%(what)s: %(who)s can no longer use your details for this; your customer "
            "account is unaffected.",
            what=what,
            who=who,
        )
    if kept:
        text += " " + _(
            "It still receives %(claims)s for the other purposes shown below.",
            claims=claims_in_words(kept),
        )
    return str(text)


def told(item: Disclosed) -> str:
    """E.g. "Korjaamo Virtanen received your name and phone number on 2 Dec 2026, 10:14"."""
    claims = claims_in_words(list(item.claims))
    text = _(
        "%(recipient)s received %(claims)s on %(when)s",
        recipient=item.recipient_name,
        claims=claims,
        when=local_when(item.last),
    )
    if item.times > 1:
        text += " " + _("(%(num)s times that day)", num=item.times)
    return str(text)
