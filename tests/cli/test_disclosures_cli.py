"""`idp ledger disclosures EMAIL`: who received a customer's claims, for the operator."""

from __future__ import annotations

import json

from tests.cli.test_cli import env, idp  # noqa: F401  (env is a fixture)
from tests.ledger.flows import userinfo
from tests.ledger.test_disclosures import garage_tokens


def test_ledger_disclosures_lists_names_never_values(env, app, client, make_user, make_client):  # noqa: F811
    env = dict(env, IDP_SECRET_KEY=app.config["AVAIN"].secret_key)  # the app's ledger keys
    user, _, _, token = garage_tokens(
        app, client, make_user, make_client, **{"agree:garage_booking": "on"}
    )
    userinfo(client, token)
    lines = idp(env, "ledger", "disclosures", user.email).stdout.splitlines()
    assert len(lines) == 2
    at, recipient, channel, claims, grounds = lines[0].split("\t")
    assert (recipient, channel) == ("garage", "userinfo")
    assert claims == "car_registration,name,phone_number"
    assert grounds.startswith("garage_booking:consent@") and grounds.split("@")[1].isdigit()
    assert lines[1].split("\t")[2] == "id_token"
    listed = json.loads(idp(env, "ledger", "disclosures", user.email, "--json").stdout)
    assert [d["channel"] for d in listed] == ["userinfo", "id_token"]
    assert "Aino" not in json.dumps(listed) and user.email not in json.dumps(listed)


def test_ledger_disclosures_of_an_unknown_customer_is_a_clear_error(env):  # noqa: F811
    missing = idp(env, "ledger", "disclosures", "nobody@example.com", check=False)
    assert missing.returncode != 0 and "no customer" in missing.stderr


def test_a_customer_nothing_was_released_about(env, make_user):  # noqa: F811
    user = make_user()
    assert idp(env, "ledger", "disclosures", user.email).stdout == "(no disclosures)\n"
    assert json.loads(idp(env, "ledger", "disclosures", user.email, "--json").stdout) == []
