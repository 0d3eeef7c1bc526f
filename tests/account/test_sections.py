"""The account page in sections: Profile, Sign-in and security, Sharing, Privacy, each its
own page under /account/ with the current one marked; the pages under them keep working."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login

SECTIONS = {
    "/account/": "Profile",
    "/account/security": "Sign-in and security",
    "/account/sharing": "Sharing",
    "/account/privacy": "Privacy",
}


def nav(page: str) -> list[tuple[str, str, str | None]]:
    """(href, label, aria-current) of each link of the section navigation."""
    block = re.search(r'<nav class="account-nav"[^>]*>(.*?)</nav>', page, re.S)
    assert block, page
    links = re.findall(r'<a href="([^"]+)"(?: aria-current="(\w+)")?>([^<]+)</a>', block.group(1))
    return [(href, label, current or None) for href, current, label in links]


@pytest.mark.parametrize("path", list(SECTIONS))
def test_each_section_marks_itself_in_the_navigation(client, make_user, path):
    login(client, make_user().email)
    client.set_cookie("avain_lang", "en")
    page = client.get(path)
    assert page.status_code == 200
    links = nav(page.data.decode())
    assert [(h, label) for h, label, _ in links] == list(SECTIONS.items())
    assert [h for h, _, current in links if current] == [path]
    assert dict((h, c) for h, _, c in links)[path] == "page"
    assert f"<h1>{SECTIONS[path]}</h1>" in page.data.decode()


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/account/profile", "/account/"),
        ("/account/password", "/account/security"),
        ("/account/security/passkey-only", "/account/security"),
        ("/account/sharing/receipts", "/account/privacy"),
        ("/account/delete", "/account/privacy"),
    ],
)
def test_a_page_under_a_section_marks_its_section(client, make_user, path, section):
    from tests.auth.passkey_flows import register_passkey

    user = make_user()
    register_passkey(client, user)  # the passkey-only page needs one
    login(client, user.email)
    page = client.get(path)
    assert page.status_code == 200, path
    assert [(h, c) for h, _, c in nav(page.data.decode()) if c] == [(section, "true")]


def test_the_sections_are_in_every_language(client, make_user):
    login(client, make_user().email)
    client.set_cookie("avain_lang", "fi")
    labels = [label for _, label, _ in nav(client.get("/account/").data.decode())]
    assert labels == [
        "Profiili",
        "Kirjautuminen ja turvallisuus",
        "Tietojen jakaminen",
        "Tietosuoja",
    ]
    client.set_cookie("avain_lang", "sv")
    labels = [label for _, label, _ in nav(client.get("/account/").data.decode())]
    assert labels == ["Profil", "Inloggning och säkerhet", "Delning", "Integritet"]


def test_the_sections_need_a_signed_in_customer(client):
    for path in SECTIONS:
        resp = client.get(path)
        assert resp.status_code == 302 and resp.location.startswith("/login"), path


def test_the_profile_form_groups_each_label_with_its_field(client, make_user):
    """Each address field is a label above its input (no "Postal / code" wrapping inline),
    and the phone field is a telephone field like the others."""
    login(client, make_user().email)
    page = client.get("/account/profile").data.decode()
    for field in ("street_address", "postal_code", "locality", "country", "phone_number"):
        assert re.search(
            rf'<div class="field[^"]*">\s*<label for="{field}">[^<]+</label>\s*<input id="{field}"',
            page,
        ), field
    phone = re.search(r'<input id="phone_number"[^>]*>', page).group(0)
    assert 'type="tel"' in phone and 'autocomplete="tel"' in phone and 'inputmode="tel"' in phone
    assert re.search(r'<div class="field-grid postal">', page)
