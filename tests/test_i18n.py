"""Customer pages in Finnish, Swedish and English, and catalogs that are complete and current.

The compiled ``.mo`` files are not in git; the tests compile them from the ``.po`` files
when they are missing or older, so they also pass on a clean checkout.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.catalogs import LANGS, ROOT, compile_catalogs, po_file, read_catalog
from tests.conftest import csrf_of

# The same keywords as the Makefile's `pybabel extract` (the defaults plus lazy_gettext).
EXTRACT_KEYWORDS = ("_", "gettext", "ngettext", "lazy_gettext")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")


@pytest.fixture
def translated(app: Flask) -> Flask:
    compile_catalogs()
    # Flask-Babel caches loaded catalogs on the process-wide Babel instance; an earlier
    # test may have cached an empty one before the .mo files existed.
    from idp.extensions import babel

    with app.app_context():
        babel.domain_instance.cache.clear()
    return app


@pytest.mark.parametrize(
    ("lang", "heading", "label"),
    [
        ("fi", "Kirjaudu sisään", "Sähköpostiosoite"),
        ("sv", "Logga in", "E-postadress"),
        ("en", "Sign in", "Email address"),
    ],
)
def test_login_page_follows_accept_language(
    translated: Flask, client: FlaskClient, lang: str, heading: str, label: str
) -> None:
    resp = client.get("/login", headers={"Accept-Language": f"{lang},en;q=0.5"})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in body
    assert f"<h1>{heading}</h1>" in body
    assert f"<title>{heading} · Avain</title>" in body
    assert f'<label for="email">{label}</label>' in body


def test_ui_locales_wins_over_accept_language(translated: Flask, client: FlaskClient) -> None:
    resp = client.get("/login?ui_locales=sv-FI%20fi", headers={"Accept-Language": "fi"})
    body = resp.get_data(as_text=True)
    assert '<html lang="sv">' in body
    assert "<h1>Logga in</h1>" in body
    assert "Kirjaudu sisään" not in body


def test_messages_from_python_code_are_translated(translated: Flask, client: FlaskClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "sv"})
    resp = client.post(
        "/login",
        headers={"Accept-Language": "sv"},
        data={
            "email": "nobody@example.com",
            "password": "wrong password",
            "interaction": "",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert "E-postadressen eller lösenordet är fel." in resp.get_data(as_text=True)

    expired = client.post("/login", headers={"Accept-Language": "fi"}, data={"email": "x"})
    assert expired.status_code == 400
    assert "Lomake vanheni" in expired.get_data(as_text=True)


def test_placeholders_are_filled_in(translated: Flask) -> None:
    from flask_babel import gettext

    for lang, expected in (
        ("fi", "jatkaaksesi palveluun Kauppa"),
        ("sv", "för att fortsätta till Kauppa"),
    ):
        with translated.test_request_context("/login", headers={"Accept-Language": lang}):
            translated.preprocess_request()
            assert gettext("to continue to %(client)s", client="Kauppa") == expected


@pytest.mark.parametrize("lang", LANGS)
def test_catalog_is_complete(lang: str) -> None:
    catalog = read_catalog(po_file(lang), lang)
    assert len(catalog) > 0
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = [
            str(i) for i in (message.id if isinstance(message.id, (list, tuple)) else (message.id,))
        ]
        strings = [
            str(s or "")
            for s in (
                message.string if isinstance(message.string, (list, tuple)) else (message.string,)
            )
        ]
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if not all(s.strip() for s in strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        for s in strings:
            if sorted(set(PLACEHOLDER.findall(ids[-1]))) != sorted(set(PLACEHOLDER.findall(s))):
                problems.append(f"placeholders differ: {ids[0]!r} -> {s!r}")
            if ids[0].count("\n") != s.count("\n"):
                problems.append(f"line breaks differ: {ids[0]!r} -> {s!r}")
    for message, errors in catalog.check():
        problems.extend(f"{message.id!r}: {error}" for error in errors)
    assert not problems, "\n".join(problems)


def test_catalogs_match_the_sources(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    keywords = [arg for k in EXTRACT_KEYWORDS for arg in ("-k", k)]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            *keywords,
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_catalog(pot) if m.id}
    assert extracted, "pybabel extract found no messages"
    hint = (
        "run `pybabel extract -F babel.cfg -k lazy_gettext -o idp/translations/messages.pot . "
        "&& pybabel update -i idp/translations/messages.pot -d idp/translations` "
        "and translate the new messages"
    )
    for lang in LANGS:
        known = {
            m.id if isinstance(m.id, str) else m.id[0]
            for m in read_catalog(po_file(lang), lang)
            if m.id
        }
        missing = sorted(extracted - known)
        stale = sorted(known - extracted)
        assert not missing, f"{lang}: not in the catalog: {missing}; {hint}"
        assert not stale, f"{lang}: no longer in the sources: {stale}; {hint}"
