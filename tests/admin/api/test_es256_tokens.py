"""With ``access_token_signing_alg = "ES256"`` the admin API's own tokens are ES256, and
the admin API, which checks their signature itself, takes them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.api.client import API, bearer
from tests.oauth.test_client_access_token_alg import _header


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "access_token_signing_alg": "ES256"}


def test_admin_api_tokens_work_when_access_tokens_are_es256(app, client, api_token):
    """The admin API checks the signature of its tokens: it must take the algorithm the
    server signs them with."""
    value, _ = api_token("owner")
    assert _header(value)["alg"] == "ES256"
    resp = client.get(f"{API}/overview", headers=bearer(value))
    assert resp.status_code == 200, resp.json
