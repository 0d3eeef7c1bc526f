"""After a withdrawal or an objection the account page says what stopped: the purpose and
the service, in the customer's language."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import csrf_of
from tests.ledger.test_disclosures import garage_tokens


def notice(client, location: str, lang: str) -> str:
    client.set_cookie("avain_lang", lang)
    page = client.get(location).data.decode()
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', page, re.S)
    assert found, page
    return " ".join(html.unescape(found.group(1)).split())


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        (
            "en",
            "You withdrew your consent: Tire fitting booking, Korjaamo Virtanen. Korjaamo "
            "Virtanen can no longer use your details for it, and its access was ended.",
        ),
        (
            "fi",
            "Peruit suostumuksesi: Renkaanvaihdon ajanvaraus, Korjaamo Virtanen. Korjaamo "
            "Virtanen ei voi enää käyttää tietojasi tähän tarkoitukseen, ja sen pääsy "
            "tietoihisi on katkaistu.",
        ),
        (
            "sv",
            "Du återkallade ditt samtycke: Bokning av däckbyte, Korjaamo Virtanen. Korjaamo "
            "Virtanen kan inte längre använda dina uppgifter för det, och dess åtkomst har "
            "stängts av.",
        ),
    ],
)
def test_the_withdrawal_notice_names_the_purpose_and_the_service(
    app, client, make_user, make_client, lang: str, says: str
):
    garage_tokens(app, client, make_user, make_client, **{"agree:garage_booking": "on"})
    resp = client.post(
        "/account/sharing/withdraw",
        data={
            "recipient": "garage",
            "purpose": "garage_booking",
            "csrf_token": csrf_of(client.get("/account/").data),
        },
    )
    assert resp.status_code == 302
    assert notice(client, resp.headers["Location"], lang) == says


def test_a_notice_for_nothing_on_the_page_stays_general(app, client, make_user, make_client):
    garage_tokens(app, client, make_user, make_client, **{"agree:garage_booking": "on"})
    location = "/account/?notice=withdrawn&recipient=garage&purpose=no_such_purpose"
    assert notice(client, location, "en") == (
        "Your consent was withdrawn. The service can no longer use your details, and its "
        "access was ended."
    )
