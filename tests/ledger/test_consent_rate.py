"""How fast one customer may record consent events (``consent_events_per_minute``)."""

from __future__ import annotations

import pytest

from tests.conftest import authorize_params, csrf_of
from tests.ledger.flows import consent, consent_page, history, withdraw

TEXTS = {
    "fi": "Tällä kertaa mitään ei muutettu",
    "sv": "Den här gången ändrades ingenting",
    "en": "Nothing was changed this time",
}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "consent_events_per_minute": 2}


def test_too_many_consents_get_a_readable_429_and_record_nothing(
    app, client, make_user, make_client
):
    user = make_user()
    first, second, third = (make_client(name=f"RP {i}")[0] for i in range(3))
    consent(client, first, user.email)
    consent(client, second, user.email)
    params, _ = authorize_params(third, scope="openid email")
    interaction, page = consent_page(client, params, user.email)
    for lang, text in TEXTS.items():
        resp = client.post(
            "/consent",
            data={
                "interaction": interaction,
                "decision": "allow",
                "csrf_token": csrf_of(page.data),
            },
            headers={"Accept-Language": lang},
        )
        assert resp.status_code == 429 and resp.mimetype == "text/html"
        assert text in resp.data.decode()
        assert 1 <= int(resp.headers["Retry-After"]) <= 60
    given = [("given", f"signin:{rp.client_id}") for rp in (first, second)]
    assert history(app, user) == given
    # not consented: the third site still asks
    assert client.get("/authorize", query_string=params).headers["Location"].startswith("/consent")
    # withdrawing is never refused (GDPR Art. 7(3))
    assert withdraw(client, first).status_code == 302
    assert history(app, user) == [*given, ("withdrawn", f"signin:{first.client_id}")]


def test_the_limit_is_a_setting():
    from idp.config import ConfigError, load_settings

    assert load_settings(environ={}).consent_events_per_minute == 30
    assert (
        load_settings(environ={"IDP_CONSENT_EVENTS_PER_MINUTE": "5"}).consent_events_per_minute == 5
    )
    with pytest.raises(ConfigError, match="consent_events_per_minute must be positive"):
        load_settings(environ={"IDP_CONSENT_EVENTS_PER_MINUTE": "0"})
