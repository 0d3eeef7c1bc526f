"""The customer sees who received their details on the account page, and in the export."""

from __future__ import annotations

import html
import re

from tests.conftest import authorize_params, exchange, follow_to_code
from tests.ledger.flows import userinfo
from tests.ledger.test_disclosures import garage_tokens, introspect


def listed(client, lang: str) -> list[str]:
    client.set_cookie("avain_lang", lang)
    page = client.get("/account/sharing").data.decode()
    found = re.findall(r'<ul class="disclosures">(.*?)</ul>', page, re.S)
    items = [li for block in found for li in re.findall(r"<li>(.*?)</li>", block, re.S)]
    return [" ".join(html.unescape(li).split()) for li in items]


def test_the_account_page_says_who_received_what_in_each_language(
    app, client, make_user, make_client
):
    _, garage, secret, token = garage_tokens(
        app, client, make_user, make_client, **{"agree:garage_booking": "on"}
    )
    for _ in range(2):
        userinfo(client, token)
    introspect(client, garage, secret, token)
    # newest first; the three identical releases of today are one line; the ID token's
    # release (name and car) is another
    en = listed(client, "en")
    assert len(en) == 2
    assert re.fullmatch(
        r"Korjaamo Virtanen received your name, your phone number, and your car's "
        r"registration number on \d{1,2} \w{3} \d{4}, \d{2}:\d{2} "
        r"\(3 times that day\)",
        en[0],
    ), en[0]
    assert en[1].startswith("Korjaamo Virtanen received your name and your car's registration")
    fi = listed(client, "fi")
    assert re.fullmatch(
        r"Korjaamo Virtanen sai \d{1,2}\.\d{1,2}\.\d{4} klo \d{1,2}\.\d{2}: nimesi, "
        r"puhelinnumerosi ja autosi rekisterinumero \(3 kertaa sinä päivänä\)",
        fi[0],
    ), fi[0]
    sv = listed(client, "sv")
    assert sv[0].startswith(
        "Korjaamo Virtanen fick ditt namn, ditt telefonnummer och din bils registreringsnummer den "
    ), sv[0]
    assert re.search(
        r"den \d{1,2}\.\d{1,2}\.\d{4} kl\. \d{1,2}\.\d{2} \(3 gånger den dagen\)$", sv[0]
    )
    for lines in (en, fi, sv):  # names, never values
        assert not any("Aino" in line or "ABC-123" in line for line in lines)


def test_a_customer_with_no_releases_is_told_so(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid")
    code = follow_to_code(client, params, user.email)["code"]
    userinfo(client, exchange(client, rp, secret, code, verifier).json)
    client.set_cookie("avain_lang", "en")
    page = client.get("/account/sharing").data.decode()
    assert "No service has received details about you from us yet." in page
    assert listed(client, "en") == []


def test_the_export_holds_the_disclosure_log(app, client, make_user, make_client):
    user, garage, secret, token = garage_tokens(
        app, client, make_user, make_client, **{"agree:garage_booking": "on"}
    )
    userinfo(client, token)
    export = client.get("/account/sharing/export.json").json
    [given] = [r for r in export["records"] if r["purposeId"] == "garage_booking"]
    by_userinfo, by_token = export["disclosures"]
    assert by_userinfo["channel"] == "userinfo" and by_token["channel"] == "id_token"
    assert by_userinfo["recipient"] == "garage"
    assert by_userinfo["claims"] == ["car_registration", "name", "phone_number"]
    [ground] = by_userinfo["grounds"]
    assert ground["purpose"] == "garage_booking" and ground["basis"] == "consent"
    assert ground["consent_seq"] == given["recordId"]  # the consent record it rested on
    assert ground["consent_at"] and given["eventType"] == "given"
    assert user.email not in str(export["disclosures"])


def test_a_client_name_is_shown_as_text(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(name="<b>Kauppa</b>", first_party=True)
    params, verifier = authorize_params(rp, scope="openid email")
    code = follow_to_code(client, params, user.email)["code"]
    userinfo(client, exchange(client, rp, secret, code, verifier).json)
    client.set_cookie("avain_lang", "en")
    page = client.get("/account/sharing").data.decode()
    assert "&lt;b&gt;Kauppa&lt;/b&gt; received your email address" in page
    assert "<b>Kauppa</b>" not in page
