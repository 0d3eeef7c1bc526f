"""The tire shop to garage handoff as an independent client library speaks it: openid-client
(v6) on Node against a live Avain.

``exchange.mjs`` is both partners: the shop's authorization request with
``authorization_details`` (RFC 9396), its token exchange for a handoff token and the garage's
redemption (RFC 8693, through ``genericGrantRequest``), the garage's userinfo and own sign-in,
and every refusal a partner meets, reported as openid-client raised it. This test plays the
browser (login form, consent page, the account page's withdrawal) and the operator (a short
handoff lifetime), then checks what came back. Authlib's side is in
tests/oauth/test_token_exchange.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import _empty_tables
from tests.interop.test_openid_client import (
    RelyingParty,
    _forms,
    node as node,  # the fixture: Node, npm ci
)
from tests.live_server import live_avain

# One run of both partners serves every test here: keep them on one xdist worker.
pytestmark = [pytest.mark.interop, pytest.mark.xdist_group("token_exchange_interop")]

HERE = Path(__file__).resolve().parent
EMAIL = "aino@example.com"
NAME = "Aino Asiakas"
PASSWORD = "correct horse battery"
PHONE, PLATE = "+358401234567", "ABC-123"
SHOP_URI = "http://localhost:9/shop/callback"
GARAGE_URI = "http://localhost:9/garage/callback"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
JWT = "urn:ietf:params:oauth:token-type:jwt"
ORDER = {
    "type": "tire_fitting",
    "locations": ["http://localhost:5002/"],
    "order": {
        "number": "R-1042",
        "bought_at": "2026-12-02T10:14:00Z",
        "items": [{"name": "Nokian Hakkapeliitta R5 205/55 R16", "quantity": 4}],
    },
}
DETAILS = [ORDER]


class Browser:
    """The customer: signs in, answers the consent page, withdraws on the account page."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.http = requests.Session()
        self.consent_pages: list[str] = []

    def follow(self, url: str, stop_at: str, consent: str | None) -> tuple[str, list[str]]:
        """Go to url and act on each page until a redirect to stop_at. ``consent``: "agree"
        (tick garage_booking), "refuse" (leave it unticked: a refusal the ledger records),
        "deny" (press "Do not share"), or None (no consent page may appear). Returns the URL
        landed at and the paths of the pages shown."""
        shown: list[str] = []
        resp = self.http.get(url, allow_redirects=False, timeout=30)
        for _ in range(12):
            if resp.is_redirect:
                location = urljoin(resp.url, resp.headers["Location"])
                if location.split("?")[0] == stop_at:
                    return location, shown
                resp = self.http.get(location, allow_redirects=False, timeout=30)
                continue
            assert resp.status_code == 200, f"{resp.status_code} at {resp.url}:\n{resp.text[:2000]}"
            path = urlsplit(resp.url).path
            shown.append(path)
            for action, fields in _forms(resp.text):
                target = urlsplit(urljoin(resp.url, action)).path
                if target == "/login" and "password" in fields:
                    fields.update(email=EMAIL, password=PASSWORD)
                    break
                if target == "/consent":
                    assert consent is not None, f"an unexpected consent page:\n{resp.text[:2000]}"
                    self.consent_pages.append(resp.text)
                    # "Continue" ("allow"); with agree unticked it is a refusal
                    fields["decision"] = "deny" if consent == "deny" else "allow"
                    if consent == "agree":
                        fields["agree:garage_booking"] = "on"
                    break
            else:
                raise AssertionError(f"unexpected page at {resp.url}:\n{resp.text[:2000]}")
            resp = self.http.post(
                urljoin(resp.url, action), data=fields, allow_redirects=False, timeout=30
            )
        raise AssertionError(f"no redirect to {stop_at}: {shown}")

    def withdraw(self, recipient: str, purpose: str) -> None:
        """Press "Withdraw consent" for the recipient's purpose on the account page (Sharing)."""
        page = self.http.get(f"{self.issuer}/account/sharing", timeout=30)
        assert page.status_code == 200, page.text[:2000]
        for action, fields in _forms(page.text):
            if action.endswith("/sharing/withdraw") and (
                fields.get("recipient"),
                fields.get("purpose"),
            ) == (recipient, purpose):
                break
        else:
            raise AssertionError(f"no withdrawal button for {recipient}:\n{page.text[:3000]}")
        resp = self.http.post(
            urljoin(page.url, action), data=fields, allow_redirects=False, timeout=30
        )
        assert resp.is_redirect and "notice=withdrawn" in resp.headers["Location"], resp.text


def _register(server: Any) -> tuple[dict[str, str], dict[str, str], str]:
    """The shop and the garage under their catalogue ids, and the customer."""
    from idp.auth import accounts
    from idp.db import new_session
    from idp.oauth.clients import ClientSpec, create
    from idp.outbound import policy_from

    partners = {}
    with server.app.app_context(), new_session(server.app) as s:
        for client_id, name, uri in (
            ("tire-shop", "Rengasverkkokauppa", SHOP_URI),
            ("garage", "Korjaamo Virtanen", GARAGE_URI),
        ):
            spec = ClientSpec(
                name=name,
                client_id=client_id,
                redirect_uris=[uri],
                grant_types=["authorization_code", "refresh_token", TOKEN_EXCHANGE],
                subject_type="pairwise",
            )
            _, secret = create(s, spec, policy_from(server.app.config["AVAIN"]))
            assert secret is not None
            partners[client_id] = {
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uri": uri,
            }
        user = accounts.register(s, EMAIL, NAME, PASSWORD)
        user.email_verified = True
        user.phone_number, user.car_registration = PHONE, PLATE
        s.commit()
        return partners["tire-shop"], partners["garage"], user.id


def _run(node: str, tmp_path: Path, database_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both partners through openid-client against a live Avain; what they saw, and what
    the test saw itself (the server's keys, the customer's id, the browser's pages)."""
    from idp.oauth import exchange as exchange_mod

    lifetime = exchange_mod.HANDOFF_LIFETIME
    _empty_tables(database_url)
    with live_avain(tmp_path, database_url) as server:
        shop, garage, user_id = _register(server)
        browser = Browser(server.url)
        party = RelyingParty(
            node,
            {
                "issuer": server.url,
                "shop": shop,
                "garage": garage,
                "authorization_details": DETAILS,
            },
            tmp_path / "exchange.stderr",
            script="exchange.mjs",
        )
        shown: dict[str, list[str]] = {}
        try:
            while "result" not in (message := party.read()):
                if "browse" in message:
                    purpose = message["purpose"]
                    stop_at = GARAGE_URI if purpose == "sso" else SHOP_URI
                    consent = {"consent": "agree", "refuse": "refuse", "do_not_share": "deny"}.get(
                        purpose
                    )
                    landed, shown[purpose] = browser.follow(message["browse"], stop_at, consent)
                    party.reply(landed)
                elif message.get("do") == "handoff_lifetime":
                    exchange_mod.HANDOFF_LIFETIME = message["seconds"] or lifetime
                    party.reply("ok")
                elif message.get("do") == "withdraw":
                    browser.withdraw("garage", "garage_booking")
                    party.reply("ok")
                else:
                    raise AssertionError(f"exchange.mjs asked for something unknown: {message}")
            party.proc.wait(timeout=30)
            assert party.proc.returncode == 0, party.stderr()
            keys = requests.get(f"{server.url}/jwks.json", timeout=30).json()
        finally:
            exchange_mod.HANDOFF_LIFETIME = lifetime
            party.close()
            browser.http.close()
    seen = {
        "issuer": server.url,
        "keys": keys,
        "user_id": user_id,
        "shown": shown,
        "consent_pages": browser.consent_pages,
    }
    return message["result"], seen


@pytest.fixture(scope="module")
def handoff_run(
    node: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run of both partners per database backend; every test below reads it."""
    return _run(node, tmp_path_factory.mktemp("exchange"), database_url)


def test_discovery_advertises_the_grant_and_the_details_type(handoff_run):
    result, _ = handoff_run
    assert TOKEN_EXCHANGE in result["discovery"]["grant_types_supported"]
    assert "tire_fitting" in result["discovery"]["authorization_details_types_supported"]


def test_consent_step_through_openid_client(handoff_run):
    result, seen = handoff_run
    assert seen["shown"]["bad_details"] == []  # refused before any page
    assert seen["shown"]["consent"] == ["/login", "/consent"]
    page = seen["consent_pages"][0]
    assert "Korjaamo Virtanen" in page and "R-1042" in page
    tokens = result["shop_tokens"]
    assert tokens["token_type"] == "bearer"
    assert tokens["authorization_details"] == DETAILS


def test_handoff_token_is_a_verifiable_handoff_jwt_for_the_garage(handoff_run):
    """The shop holds the handoff token: it names the order, not the customer. No claim the
    customer released to the garage, and no garage ``sub`` the shop could link them by."""
    result, seen = handoff_run
    handoff = result["handoff"]
    assert handoff["issued_token_type"] == JWT
    assert handoff["token_type"] == "n_a"  # N_A, lower-cased by oauth4webapi
    assert handoff["expires_in"] == 120
    assert handoff["authorization_details"] == DETAILS
    token = jwt.decode(handoff["access_token"], KeySet.import_key_set(seen["keys"]))
    assert token.header["typ"] == "handoff+jwt"
    claims = token.claims
    assert claims["iss"] == seen["issuer"]
    assert claims["aud"] == "garage"
    assert 0 < claims["exp"] - claims["iat"] <= 120
    assert claims["client_id"] == "tire-shop"
    assert claims["purpose"] == "garage_booking"
    assert claims["authorization_details"] == DETAILS
    assert set(claims) == {
        "iss",
        "aud",
        "iat",
        "exp",
        "jti",
        "client_id",
        "purpose",
        "authorization_details",
    }
    shop_can_read = json.dumps(claims)
    for released in (NAME, PHONE, PLATE, EMAIL, result["userinfo"]["sub"]):
        assert released not in shop_can_read


def test_garage_redeems_it_and_reads_userinfo(handoff_run):
    result, seen = handoff_run
    got = result["redemption"]
    assert got["issued_token_type"] == ACCESS
    assert got["token_type"] == "bearer"
    assert got["scope"] == "openid"
    assert got["authorization_details"] == DETAILS
    assert got["has_refresh_token"] is False
    info = result["userinfo"]
    assert info["sub"] != seen["user_id"]  # the garage is pairwise
    assert info == {
        "sub": info["sub"],
        "name": NAME,
        "phone_number": PHONE,
        "car_registration": PLATE,
    }


def test_garage_own_sign_in_names_the_same_customer(handoff_run):
    result, seen = handoff_run
    """The sub userinfo gave for the redeemed handoff is the sub of the garage's own ID
    token: the garage's same-customer check."""
    assert seen["shown"]["sso"] == []  # neither a login form nor a consent page
    claims = result["garage_id_token_claims"]
    assert claims["aud"] == "garage"
    assert claims["sub"] == result["userinfo"]["sub"]


@pytest.mark.parametrize(
    ("case", "error", "description"),
    [
        (
            "no_agreement",
            "invalid_target",
            "No partner agreement lets tire-shop hand customers over to tire-shop.",
        ),
        (
            "details_type_not_allowed",
            "invalid_authorization_details",
            "authorization_details type payment_initiation is not allowed by the agreement "
            "tire_fitting.",
        ),
        (
            "wrong_audience",
            "invalid_grant",
            "The handoff token was issued for another audience.",
        ),
        (
            "reused",
            "invalid_grant",
            "The handoff token has already been redeemed; it is single use.",
        ),
        (
            "expired",
            "invalid_grant",
            "The handoff token has expired (it lives 120 seconds); ask the handing-over site "
            "for a new one.",
        ),
        (
            "subject_token_of_another_client",
            "invalid_grant",
            "The subject_token was issued to another client.",
        ),
        (
            "consent_withdrawn",
            "invalid_grant",
            "The customer withdrew consent to purpose garage_booking for garage.",
        ),
        (
            "redeem_after_withdrawal",
            "invalid_grant",
            "The customer withdrew consent to purpose garage_booking for garage.",
        ),
        (
            "consent_refused",
            "invalid_grant",
            "The customer refused consent to purpose garage_booking for garage.",
        ),
    ],
)
def test_each_refusal_as_openid_client_reports_it(handoff_run, case, error, description):
    result, _ = handoff_run
    seen = result["refusals"][case]
    assert seen is not None, f"{case}: Avain did not refuse"
    assert seen["name"] == "ResponseBodyError", seen
    assert seen["status"] == 400, seen
    assert (seen["error"], seen["error_description"]) == (error, description)


def test_the_short_lived_handoff_was_real(handoff_run):
    """The expired case rested on a handoff Avain issued with a one-second lifetime."""
    result, _ = handoff_run
    assert result["short_lived"]["expires_in"] == 1
    assert result["short_lived"]["issued_token_type"] == JWT


@pytest.mark.parametrize(
    ("case", "error", "description"),
    [
        (
            "authorize_type_not_allowed",
            "invalid_authorization_details",
            "authorization_details type payment_initiation is not allowed for client tire-shop",
        ),
        (
            "authorize_do_not_share",
            "access_denied",
            "The customer did not agree to share with garage.",
        ),
        ("authorize_consent_refused", "access_denied", None),
    ],
)
def test_authorization_step_refusals(handoff_run, case, error, description):
    """Refusals at /authorize reach the shop's redirect_uri; openid-client raises them."""
    result, seen = handoff_run
    refusal = result["refusals"][case]
    assert refusal is not None, f"{case}: Avain did not refuse"
    assert refusal["name"] == "AuthorizationResponseError", refusal
    assert refusal["error"] == error
    assert isinstance(refusal["error_description"], str), refusal
    assert refusal["error_description"].startswith(description or ""), refusal
    shown = {"authorize_do_not_share": "do_not_share", "authorize_consent_refused": "refuse"}
    if case in shown:
        assert seen["shown"][shown[case]] == ["/consent"]  # SSO: only the consent page


def test_withdrawal_ends_the_garage_token_at_once(handoff_run):
    result, _ = handoff_run
    refusal = result["refusals"]["userinfo_after_withdrawal"]
    assert refusal is not None, "userinfo accepted the garage's token after the withdrawal"
    assert refusal["status"] == 401
    assert refusal["challenges"]["error"] == "invalid_token"
