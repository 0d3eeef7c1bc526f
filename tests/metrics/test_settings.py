"""``metrics_token``: off when empty, else a long random Bearer token from the environment;
a value that will not do stops the start with a message that says how to make one, and
never shows the value."""

from __future__ import annotations

import pytest

from idp.config import ConfigError
from tests.test_config import load, refused

GOOD = "Zx8_kq-2Lr.Wm~9+Tn/4Vb7Yc1Hs6Jd3Fg0=="


def test_off_unless_set(tmp_path):
    assert load(tmp_path).metrics_token == ""


def test_a_long_bearer_token_from_the_environment(tmp_path):
    assert load(tmp_path, env={"IDP_METRICS_TOKEN": GOOD}).metrics_token == GOOD
    assert len(load(tmp_path, env={"IDP_METRICS_TOKEN": "a" * 32}).metrics_token) == 32


def test_a_short_token_is_refused(tmp_path):
    message = refused(tmp_path, env={"IDP_METRICS_TOKEN": "short-token-31-characters-long!"[:31]})
    assert message.startswith("IDP_METRICS_TOKEN must be at least 32 characters (it has 31)")
    assert "secrets.token_urlsafe(32)" in message and "leave it empty" in message
    assert "short-token" not in message


@pytest.mark.parametrize("token", ["a" * 31 + " b", "ä" * 40, "a" * 32 + "=x", "a" * 32 + '"'])
def test_a_token_that_cannot_travel_as_a_bearer_credential_is_refused(tmp_path, token):
    message = refused(tmp_path, env={"IDP_METRICS_TOKEN": token})
    assert "IDP_METRICS_TOKEN may hold only letters, digits and" in message
    assert "RFC 6750" in message and token not in message


def test_it_is_a_secret_kept_out_of_files(tmp_path):
    with pytest.raises(ConfigError, match="metrics_token is a secret; set IDP_METRICS_TOKEN"):
        load(tmp_path, files={"avain.toml": f'[avain]\nmetrics_token = "{GOOD}"\n'})
