"""The shop's calls to Avain beyond sign-in, over HTTP only:

- recording a purchase in the customer's Avain profile (``POST /claims/tire_purchase`` with
  the customer's access token, scope ``tire_purchase:write``), refreshing the token once if
  Avain says it is no longer valid;
- the handoff to the garage: the authorization request with ``authorization_details``
  (RFC 9396, step A: the customer consents on Avain's page) and the exchange of its access
  token for a handoff token for the garage (RFC 8693, step B).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from flask import current_app

from examples import signin

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
GARAGE_CLIENT_ID = "garage"
TIMEOUT = 10


class RecordFailed(Exception):
    """The purchase could not be recorded at Avain; the text says why (for the log)."""


def order_number(order_id: int) -> str:
    return f"R-{1000 + order_id}"


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def purchase(order: Any, lines: list[Any]) -> dict[str, Any]:
    """The body of POST /claims/tire_purchase for one order."""
    return {
        "order_number": order_number(order["id"]),
        "bought_at": iso(order["created_at"]),
        "items": [{"name": line["name"], "quantity": line["quantity"]} for line in lines],
    }


def record_purchase(body: dict[str, Any]) -> None:
    """Record the order at Avain; a retry of the same order is answered 200 (idempotent)."""
    url = current_app.config["AVAIN_ISSUER"] + "/claims/tire_purchase"
    try:
        for attempt in (1, 2):
            token = signin.access_token(force_refresh=attempt == 2)
            resp = requests.post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
            )
            if resp.status_code in (200, 201):
                return
            if resp.status_code != 401:
                break
    except signin.NoAccessToken as exc:
        raise RecordFailed(str(exc)) from None
    except requests.RequestException as exc:
        raise RecordFailed(f"Avain did not answer: {exc}") from None
    raise RecordFailed(f"Avain answered {resp.status_code}: {resp.text[:300]}")


def fitting_details(body: dict[str, Any], garage_url: str) -> list[dict[str, Any]]:
    """RFC 9396 authorization_details of type tire_fitting for one order."""
    return [
        {
            "type": "tire_fitting",
            "locations": [garage_url.rstrip("/") + "/"],
            "order": {
                "number": body["order_number"],
                "bought_at": body["bought_at"],
                "items": body["items"],
            },
        }
    ]


def handoff_token(access_token: str) -> dict[str, Any]:
    """RFC 8693 §2.1: exchange the access token of step A for a handoff token for the
    garage. Raises Authlib's OAuthError with Avain's error and description."""
    token: dict[str, Any] = signin.avain().fetch_access_token(
        grant_type=TOKEN_EXCHANGE,
        subject_token=access_token,
        subject_token_type=ACCESS_TOKEN_TYPE,
        requested_token_type=JWT_TOKEN_TYPE,
        audience=GARAGE_CLIENT_ID,
        scope="",  # Authlib would add the sign-in scope; the consent decides what is shared
    )
    if token.get("issued_token_type") != JWT_TOKEN_TYPE or not token.get("access_token"):
        raise OAuthError("invalid_response", "Avain did not issue a handoff token.")
    return token


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
