"""Every path a customer can take reads in Finnish and Swedish.

Three nets, each catching what the others cannot:

- the catalogs: every message extracted from the sources has a finished Finnish and Swedish
  text (tests/test_i18n.py::test_catalog_is_complete, with the extraction kept current by
  ::test_catalogs_match_the_sources);
- the sources: a text handed to a person through an error (``IdpError`` and its kin, a
  Werkzeug HTTP error, ``abort``) or ``flash()`` is a gettext call, never a bare literal,
  which no catalog would ever hear of;
- the pages: the customer pages, their notices and their error pages, rendered in fi and sv,
  contain no English message of the catalog and none of the libraries' own English texts.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
import werkzeug.exceptions
from flask import Flask
from flask.testing import FlaskClient

from tests.catalogs import LANGS, ROOT, compile_catalogs, po_file, read_catalog
from tests.conftest import PASSWORD, authorize_params, csrf_of, login


@pytest.fixture(autouse=True)
def _compiled_catalogs(app: Flask) -> None:
    """The .mo files (not in git) are current, and no empty catalog is cached (as in
    tests/test_i18n.py's ``translated``)."""
    from idp.extensions import babel

    compile_catalogs()
    with app.app_context():
        babel.domain_instance.cache.clear()


IDP = ROOT / "idp"

# -- the sources ----------------------------------------------------------------------------

GETTEXT_CALLS = {"_", "gettext", "ngettext", "lazy_gettext", "message", "str"}
# Raising these with a text shows it to the person (idp.errors renders it on the page).
HTTP_ERRORS = {
    name
    for name, obj in vars(werkzeug.exceptions).items()
    if isinstance(obj, type) and issubclass(obj, werkzeug.exceptions.HTTPException)
}
# Texts that never reach a person: Unavailable's description names the store for the log
# (its handler shows its own translated text).
LOG_ONLY = {"Unavailable"}


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _idp_error_classes(trees: list[ast.Module]) -> set[str]:
    """IdpError and every class that derives from it (or from those), by name."""
    names = {"IdpError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {
                        b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                        for b in node.bases
                    }
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _bare_text(node: ast.expr) -> bool:
    """A literal text (or an f-string, or a sum of them) that no gettext call has seen."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(node.value.strip())
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _bare_text(node.left) or _bare_text(node.right)
    return False


def _shown_texts(node: ast.Call, callee: str) -> Iterator[ast.expr]:
    """The arguments of a call that end up on the page."""
    keywords = {k.arg: k.value for k in node.keywords}
    if callee == "abort":
        yield from node.args[1:2]
    elif node.args:
        yield node.args[0]
    if "description" in keywords:
        yield keywords["description"]
    if callee == "flash" and "message" in keywords:
        yield keywords["message"]


def test_texts_for_people_in_errors_and_flashes_go_through_gettext() -> None:
    files = sorted(IDP.rglob("*.py"))
    trees = [ast.parse(f.read_text(encoding="utf-8"), str(f)) for f in files]
    shown_by = (_idp_error_classes(trees) | HTTP_ERRORS | {"abort", "flash"}) - LOG_ONLY
    found = []
    for path, tree in zip(files, trees, strict=True):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = _callee(node)
            if callee not in shown_by:
                continue
            for arg in _shown_texts(node, callee):
                if _bare_text(arg):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {callee}(...)")
    assert not found, "wrap these texts in gettext (_ or lazy_gettext):\n" + "\n".join(found)


def test_the_source_check_finds_a_bare_text() -> None:
    """The check above must be able to fail: a bare text, an f-string and a wrapped one."""
    tree = ast.parse(
        "raise NotFound('No such page.')\n"
        "flash(f'Saved {x}.')\n"
        "raise NotFound(_('No such page.'))\n"
        "abort(400, 'Bad.')\n"
    )
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _callee(n) != "_"]
    bare = [any(_bare_text(a) for a in _shown_texts(c, _callee(c))) for c in calls]
    assert bare == [True, True, False, True]


# -- the pages ------------------------------------------------------------------------------

# English texts of the libraries that an untranslated path would show.
LIBRARY_TEXTS = [
    str(cls.description)
    for cls in vars(werkzeug.exceptions).values()
    if isinstance(cls, type)
    and issubclass(cls, werkzeug.exceptions.HTTPException)
    and cls.description
] + [
    "The CSRF token is missing.",
    "The CSRF token has expired.",
    "The CSRF token is invalid.",
    "The CSRF session token is missing.",
    "The referrer header is missing.",
    "is not supported by client",
    "The client does not exist on this server.",
    "Traceback (most recent call last)",
]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
TAG = re.compile(r"<[^>]+>")
ATTR = re.compile(r'\s(?:title|alt|placeholder|aria-label|data-[\w-]+|value|content)="([^"]*)"')


def _english_messages(lang: str) -> list[str]:
    """Catalog messages whose English would be noticed: two words or more, and not the same
    in the translation (a name, "OK"). Placeholders split a message into its fixed parts."""
    out = []
    for m in read_catalog(po_file(lang), lang):
        if not m.id or m.pluralizable:
            continue
        msgid = str(m.id)
        if msgid.strip() == str(m.string or "").strip():
            continue
        out.extend(
            part.strip(" .,:;")
            for part in PLACEHOLDER.split(msgid)
            if len(part.strip(" .,:;").split()) >= 2
        )
    return out


MARKED_ENGLISH = re.compile(r'<(\w+)\b[^>]*\slang="en"[^>]*>.*?</\1>', re.S)


def _readable(page: str) -> str:
    """What a person reads or hears: the text, and the attributes shown or spoken. Text
    marked ``lang="en"`` is English on purpose (the switcher's "English", the technical
    detail for a site's developer) and screen readers read it as such."""
    body = MARKED_ENGLISH.sub(" ", page.split("<body", 1)[-1])
    shown = " ".join(ATTR.findall(body))
    return html.unescape(re.sub(r"\s+", " ", TAG.sub(" ", body) + " " + shown))


def _english_in(page: str, lang: str) -> list[str]:
    text = _readable(page)
    return [e for e in _english_messages(lang) + LIBRARY_TEXTS if e in text]


def test_the_page_check_finds_english() -> None:
    page = "<html><body><h1>Sign in</h1><p title='x'>Kirjaudu</p></body></html>"
    assert "Sign in" in _english_in(page, "fi")
    assert "Sign in" in _english_in('<body><p data-x="Sign in">', "fi")
    assert _english_in('<body><code lang="en">Sign in</code>', "fi") == []
    assert _english_in("<body><h1>Kirjaudu sisään</h1></body>", "fi") == []


def _customer_pages(
    app: Flask, client: FlaskClient, make_user: Any, make_client: Any
) -> Iterator[tuple[str, Any]]:
    """Each page a customer can reach, with its notices and error pages, as (name, response)."""
    from idp.ledger.context import consent_context

    yield "front page", client.get("/")
    yield "login", client.get("/login")
    yield "register", client.get("/register")
    yield "forgot", client.get("/forgot")
    yield "verify link", client.get("/verify/not-a-token")
    yield "reset link", client.get("/reset/not-a-token")
    yield "logout question", client.get("/logout")
    page = client.get("/login")
    yield (
        "wrong password",
        client.post(
            "/login",
            data={"email": "x@example.com", "password": "nope", "csrf_token": csrf_of(page.data)},
        ),
    )
    yield "404", client.get("/no-such-page")
    yield "405", client.delete("/login")
    yield "413", client.post("/login", data={"email": "x" * (300 * 1024)})
    yield "csrf", client.post("/login", data={"email": "x"})
    yield "nul", client.get("/login?email=%00")
    page = client.get("/register")
    registered = client.post(
        "/register",
        data={
            "name": "Uusi Asiakas",
            "email": "uusi@example.com",
            "password": "correct horse battery",
            "password_confirm": "correct horse battery",
            "csrf_token": csrf_of(page.data),
        },
    )
    yield "registered", client.get(registered.headers.get("Location", "/verify/sent"))
    rp, _ = make_client(name="Kauppa")
    params, _ = authorize_params(rp, client_id="nope")
    yield "unknown client", client.get("/authorize", query_string=params)
    params, _ = authorize_params(rp, redirect_uri="https://evil.example/cb")
    yield "unregistered redirect", client.get("/authorize", query_string=params)
    yield "expired interaction", client.get("/consent?interaction=gone")
    with app.app_context():
        for version in list(consent_context().catalogue.notice_files)[:1]:
            yield "privacy notice", client.get(f"/privacy/{version}")

    user = make_user(email="kielet@example.com")
    params, _ = authorize_params(rp, scope="openid profile email")
    start = client.get("/authorize", query_string=params)
    interaction = start.headers["Location"].split("interaction=")[1].split("&")[0]
    resumed = client.get(login(client, user.email, interaction=interaction).headers["Location"])
    yield "consent", client.get(resumed.headers["Location"])
    for path in (
        "/account/",
        "/account/profile",
        "/account/password",
        "/account/delete",
        "/account/sharing/receipts",
        "/account/security",
        "/account/security/passkey-only",
        "/account/sharing",
        "/account/privacy",
    ):
        yield path, client.get(path, follow_redirects=True)
    for notice in (
        "profile_saved",
        "given",
        "withdrawn",
        "objected",
        "restricted",
        "contribution_deleted",
        "passkey_added",
        "passkey_removed",
        "passkey_renamed",
        "security_enable",
        "password_changed",
    ):
        yield f"notice {notice}", client.get(f"/account/?notice={notice}", follow_redirects=True)
    params, _ = authorize_params(rp, prompt="select_account")
    location = client.get("/authorize", query_string=params).headers.get("Location", "")
    yield "select account", client.get(location)
    page = client.get("/logout")
    yield "logout question", page
    done = client.post("/logout", data={"confirm": "yes", "csrf_token": csrf_of(page.data)})
    yield "signed out", done if done.status_code == 200 else client.get(done.headers["Location"])
    login(client, user.email)
    page = client.get("/account/delete")
    deleted = client.post(
        "/account/delete",
        data={"password": PASSWORD, "confirm": "yes", "csrf_token": csrf_of(page.data)},
    )
    yield (
        "deleted",
        client.get(deleted.headers["Location"]) if deleted.status_code == 302 else deleted,
    )


@pytest.mark.parametrize("lang", LANGS)
def test_customer_pages_have_no_english(
    app: Flask,
    client: FlaskClient,
    make_user: Any,
    make_client: Any,
    lang: str,
) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    seen = []
    problems = []
    for name, resp in _customer_pages(app, client, make_user, make_client):
        if resp.mimetype != "text/html":
            continue
        page = resp.get_data(as_text=True)
        seen.append(name)
        assert f'<html lang="{lang}">' in page, name
        problems.extend(f"{name} ({resp.status_code}): {e!r}" for e in _english_in(page, lang))
    assert len(seen) >= 35, seen  # the crawl itself still reaches the pages
    assert not problems, "\n".join(problems)
