"""Calling the admin API in tests: tokens from /token (client credentials), bearer headers."""

from __future__ import annotations

import base64
from typing import Any

from flask.testing import FlaskClient

API = "/admin/api/v1"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def token_response(
    client: FlaskClient, client_id: str, secret: str, scope: str | None = None
) -> Any:
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    return client.post("/token", data=data, headers=basic(client_id, secret))


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}
