"""Every letter to a customer, in each of their languages, as their mail client gets it.

Each letter goes the whole way: queued, written by the outbox in the customer's language,
and stored as an .eml in the outbox folder (no SMTP), then read back. Checked: plain text
and HTML as multipart/alternative; the greeting on its own, followed by a sentence that
starts with a capital letter; every link alone on its line with no punctuation glued to it;
the HTML themed with the deployment's brand and fetching nothing from anywhere; nothing
left in English in the Finnish and Swedish letters."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest

from idp.auth import letters
from idp.db import new_session
from idp.events import outbox

LANGS = ("fi", "sv", "en")
GREETING = {"fi": "Hei Maija,", "sv": "Hej Maija,", "en": "Hello Maija,"}
# where each letter's first link leads
FIRST_LINK = {
    letters.Letter.VERIFY: "/verify/",
    letters.Letter.RESET: "/reset/",
    letters.Letter.ALREADY_REGISTERED: "/login",
}
URL = re.compile(r"https?://[^\s<>\"]+")
THEME = "config/themes/rengasverkkokauppa/theme.toml"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "theme_file": THEME}


@pytest.fixture(autouse=True)
def held(monkeypatch):
    """The test sends the queued mail itself (deliver_due), not a background thread."""
    monkeypatch.setattr(outbox, "kick", lambda app: None)


def send(app, make_user, letter, lang, given_name="Maija"):
    """Queue ``letter`` to a new customer who reads ``lang``; return the .eml written."""
    from idp.auth import mailer

    user = make_user(name=f"{given_name} Meikäläinen", verified=letter is not letters.Letter.VERIFY)
    session = new_session(app)
    try:
        stored = session.get(type(user), user.id)
        stored.locale = lang
        stored.given_name = given_name or None
        if not given_name:
            stored.name = ""
        letters.queue(session, letter, user.email, "en")  # the customer's own language wins
        session.commit()
    finally:
        session.close()
    assert mailer.deliver_due(app) == 1
    (path,) = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    path.unlink()
    assert msg["To"] == user.email
    return msg


def bodies(msg):
    assert msg.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]  # the last is the preferred one
    return (
        msg.get_body(preferencelist=("plain",)).get_content(),
        msg.get_body(preferencelist=("html",)).get_content(),
    )


def paragraphs(text):
    return [p for p in text.split("\n\n") if p.strip()]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("letter", list(letters.Letter))
def test_each_letter_in_each_language(app, make_user, letter, lang):
    msg = send(app, make_user, letter, lang)
    text, html = bodies(msg)
    lines = text.splitlines()

    # the greeting alone, then a sentence of its own: "Hei Maija,\n\nVahvista ..."
    assert lines[0] == GREETING[lang]
    assert lines[1] == ""
    assert lines[2][:1].isupper(), lines[2]

    # every link alone on its line, nothing glued to its end; in the letter itself a blank
    # line before and after it (the signature below "-- " is one line per contact)
    urls = URL.findall(text)
    assert urls, text
    body = text.split("\n-- \n")[0].splitlines()
    for url in urls:
        assert url[-1] not in ".,;:!?)]'\"", url
        assert url in lines, text
        if url in body:
            i = body.index(url)
            assert body[i - 1] == "" and (i + 1 == len(body) or body[i + 1] == ""), text
    assert urls[0].startswith("http://localhost" + FIRST_LINK[letter]), urls

    # the HTML: the same links (each also written out), themed, and nothing fetched
    assert sorted(set(re.findall(r'href="(https?://[^"]+)"', html))) == sorted(set(urls))
    for url in urls:
        assert f">{url}</a>" in html
    assert not re.search(r"<img|<link|<script|src=|url\(|@import", html, re.IGNORECASE)
    assert "Rengasverkkokauppa" in html and "#b3261e" in html
    assert f'<html lang="{lang}">' in html
    assert "Rengasverkkokauppa" in text
    assert msg["From"] == "Rengasverkkokauppa <no-reply@localhost>"


@pytest.mark.parametrize("letter", list(letters.Letter))
def test_finnish_and_swedish_letters_have_no_english_left(app, make_user, letter):
    english = send(app, make_user, letter, "en")
    english_text, _ = bodies(english)
    english_lines = {p for p in paragraphs(english_text) if not URL.fullmatch(p.strip())}
    for lang in ("fi", "sv"):
        msg = send(app, make_user, letter, lang)
        text, html = bodies(msg)
        assert msg["Subject"] != english["Subject"]
        assert "Rengasverkkokauppa" in msg["Subject"]
        for paragraph in paragraphs(text):
            assert paragraph not in english_lines, (lang, paragraph)
        assert "Customer service" not in text + html, lang


def test_a_customer_without_a_name_is_greeted_without_one(app, make_user):
    text, _ = bodies(send(app, make_user, letters.Letter.RESET, "fi", given_name=""))
    assert text.startswith("Hei,\n\nAseta")


def test_a_plain_install_writes_as_avain(app, app_config, make_user):
    """Without a theme the letters name Avain (the default theme) and list no support."""
    from idp import create_app

    plain = create_app({k: v for k, v in app_config.items() if k != "theme_file"})
    try:
        msg = send(plain, make_user, letters.Letter.RESET, "en")
    finally:
        plain.extensions["avain.engine"].dispose()
    text, html = bodies(msg)
    assert msg["Subject"] == "Reset your Avain password"
    assert msg["From"] == "Avain <no-reply@localhost>"
    assert text.endswith("\n\n-- \nAvain\n")
    assert "Rengasverkkokauppa" not in html and "#0b5c7a" in html


@pytest.mark.parametrize(
    ("configured", "sent_as"),
    [
        ("no-reply@shop.example", "Rengasverkkokauppa <no-reply@shop.example>"),
        ("Asiakaspalvelu <apu@shop.example>", "Asiakaspalvelu <apu@shop.example>"),
    ],
)
def test_mail_comes_from_the_product_unless_the_sender_is_named(
    app_config, make_user, configured, sent_as
):
    from idp import create_app

    named = create_app({**app_config, "mail_from": configured})
    try:
        msg = send(named, make_user, letters.Letter.RESET, "en")
    finally:
        named.extensions["avain.engine"].dispose()
    assert msg["From"] == sent_as
