"""What a person reads on an error page: its heading, the words for an HTTP error, and the
way back to a refused form. :mod:`idp.errors` decides which response an error becomes."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import current_app, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


def title_for(status: int) -> str:
    """The heading of the error page for an HTTP status."""
    titles = {
        403: _("No access"),
        404: _("Page not found"),
        405: _("This page cannot be used that way"),
        413: _("Too much at once"),
        429: _("Too many tries"),
    }
    if status in titles:
        return str(titles[status])
    return str(_("Something went wrong") if status >= 500 else _("Something is not right"))


def http_description(code: int) -> str:
    """A person's words for an HTTP error that carries only Werkzeug's English default."""
    texts = {
        401: _("Sign in first, then try again."),
        403: _("You do not have access to this page."),
        404: _(
            "There is no page at this address. Check the address, or start again from the "
            "front page."
        ),
        405: _(
            "This address cannot be opened like this. Go back to the previous page and use "
            "its buttons."
        ),
        408: _("Sending took too long. Try again."),
        413: _(
            "What you sent is larger than we accept. Nothing was saved. Go back and send "
            "less at a time."
        ),
        415: _("The request was sent in a form we do not accept."),
        429: _("There were too many tries in a short while. Wait a minute and try again."),
        431: _("Your browser sent more than we accept. Clear this site's cookies and try again."),
    }
    if code in texts:
        return str(texts[code])
    if code >= 500:
        return str(_("Something went wrong on our side. Please try again."))
    return str(_("The request could not be handled. Go back and try again."))


RETRY_KEYS = ("interaction", "next", "ui_locales", "login_hint")


def _local(path: str) -> str | None:
    """Only a path on this site: never an open redirect."""
    parts = urlsplit(path)
    ok = path.startswith("/") and not path.startswith("//") and "\\" not in path
    return path if ok and not parts.scheme and not parts.netloc else None


def retry_target() -> str | None:
    """Where to get a fresh form after a refused POST, continuing where the customer was.

    Not the Referer: the site sends ``Referrer-Policy: no-referrer``. The form's own address
    when it can be opened (the login, consent and profile forms post to the page that
    shows them), with the sign-in's ``interaction`` and the like that the form carried;
    otherwise the form's local ``next`` (the language switcher), or the account page.
    """
    if request.method != "POST":
        return None
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(request.path, method="GET")
    except HTTPException:
        target = _local(request.form.get("next", "")[:2000])
        if target:
            return target
        return url_for("account.home") if request.blueprint == "account" else None
    keep = [(k, v) for k, v in request.args.items(multi=True) if k in RETRY_KEYS]
    keep += [
        (k, v[:500]) for k in RETRY_KEYS if k not in request.args and (v := request.form.get(k, ""))
    ]
    return request.path + (f"?{urlencode(keep)}" if keep else "")
