"""The demo data that `make run` seeds: one customer, one client and the two partner sites'
clients, with printed directions.

The partner sites (examples/tire_shop, examples/garage) read their client secrets from
``instance/demo-clients.json``, which this writes (instance/ is never committed)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from idp.auth import accounts
from idp.config import Settings
from idp.models import Client, hash_secret
from idp.oauth.claims import OIDC_SCOPES
from idp.oauth.clients import TOKEN_EXCHANGE, ClientSpec, create, validate
from idp.outbound import Refused, check_target, policy_from

DEMO_EMAIL = "demo@avain.example"
DEMO_CLIENT_ID = "demo-client"
CLIENTS_FILE = "demo-clients.json"
# the catalogue's recipients (config/purposes.toml): client id -> (name, the site's base URL)
DEMO_SITES = {
    "tire-shop": ("Rengasverkkokauppa", "http://localhost:5001"),
    "garage": ("Korjaamo Virtanen", "http://localhost:5002"),
}
# scopes a partner has beyond the OpenID ones: the shop records purchases (POST /claims/...)
DEMO_EXTRA_SCOPES = {"tire-shop": ("tire_purchase:write",)}


def seed_demo(
    session: Session, settings: Settings, sites: dict[str, tuple[str, str]] | None = None
) -> list[str]:
    lines = []
    instance = Path(settings.instance_path)
    password_file = instance / "demo-password.txt"
    user = accounts.find_by_email(session, DEMO_EMAIL)
    if user is None:
        password = secrets.token_urlsafe(12)
        user = accounts.register(session, DEMO_EMAIL, "Demo Asiakas", password)
        user.email_verified = True
        user.phone_number = "+358 40 123 4567"
        user.locale = "fi"
        instance.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
    password = (
        password_file.read_text(encoding="utf-8").strip()
        if password_file.exists()
        else "(set earlier; see instance/demo-password.txt)"
    )
    secret_file = instance / "demo-client-secret.txt"
    outbound = policy_from(settings)
    if session.get(Client, DEMO_CLIENT_ID) is None:
        _, secret = create(
            session,
            ClientSpec(
                name="Avain demo client",
                client_id=DEMO_CLIENT_ID,
                redirect_uris=["http://localhost:8080/callback"],
                post_logout_redirect_uris=["http://localhost:8080/"],
            ),
            outbound,
        )
        secret_file.write_text(f"{secret}\n", encoding="utf-8")
        secret_file.chmod(0o600)
    secret = secret_file.read_text(encoding="utf-8").strip() if secret_file.exists() else "?"
    partner_lines, backchannel_off = _seed_partners(session, settings, sites or DEMO_SITES)
    lines.append(f"Avain is at {settings.issuer}")
    lines.append(f"  demo customer: {DEMO_EMAIL}  password: {password}")
    lines.append(
        f"  demo client:   {DEMO_CLIENT_ID}  secret: {secret}  "
        "redirect_uri: http://localhost:8080/callback"
    )
    lines.extend(partner_lines)
    if backchannel_off:
        lines.append(
            "  partners get no back-channel logout: set IDP_OUTBOUND_ALLOW_HTTP=true and "
            "IDP_OUTBOUND_ALLOW_HOSTS=localhost:5001,localhost:5002 (make run does)"
        )
    lines.append(f"  sign in at {settings.issuer}/login, account page {settings.issuer}/account/")
    return lines


def _seed_partners(
    session: Session, settings: Settings, sites: dict[str, tuple[str, str]]
) -> tuple[list[str], bool]:
    """Register (or bring up to date) each partner site's client and write its secret to
    ``instance/demo-clients.json``; a client whose secret is lost gets a new one."""
    instance = Path(settings.instance_path)
    path = instance / CLIENTS_FILE
    known = json.loads(path.read_text(encoding="utf-8")).get("clients", {}) if path.exists() else {}
    outbound = policy_from(settings)
    clients, lines, backchannel_off = {}, [], False
    for client_id, (name, site_url) in sites.items():
        backchannel: str | None = f"{site_url}/backchannel-logout"
        try:
            check_target(backchannel, outbound)
        except Refused:  # outbound_allow_hosts and outbound_allow_http not set (see Makefile)
            backchannel, backchannel_off = None, True
        spec = ClientSpec(
            name=name,
            client_id=client_id,
            redirect_uris=[f"{site_url}/callback"],
            post_logout_redirect_uris=[f"{site_url}/"],
            backchannel_logout_uri=backchannel,
            # client credentials: a partner's token for its Shared Signals stream (idp.ssf);
            # token exchange: both ends of the handoff (RFC 8693): the shop asks, the garage redeems
            grant_types=[
                "authorization_code",
                "refresh_token",
                "client_credentials",
                TOKEN_EXCHANGE,
            ],
            scope=" ".join(OIDC_SCOPES + DEMO_EXTRA_SCOPES.get(client_id, ())),
        )
        secret = known.get(client_id, {}).get("client_secret") or _legacy_secret(
            instance, client_id
        )
        client = session.get(Client, client_id)
        if client is None:
            client, secret = create(session, spec, outbound)
        else:
            spec = validate(spec, outbound)
            client.redirect_uris = spec.redirect_uris
            client.post_logout_redirect_uris = spec.post_logout_redirect_uris
            client.backchannel_logout_uri = spec.backchannel_logout_uri
            client.grant_types = sorted(set(client.grant_types) | set(spec.grant_types))
            client.scope = spec.scope
            if not secret or client.client_secret_hash != hash_secret(secret):
                secret = secrets.token_urlsafe(32)
                client.client_secret_hash = hash_secret(secret)
        clients[client_id] = {"client_id": client_id, "client_secret": secret, "site_url": site_url}
        lines.append(f"  partner {client_id}: {name} at {site_url}/")
    instance.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"issuer": settings.issuer, "clients": clients}, indent=2) + "\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    lines.append(f"  partner client secrets: {path}")
    return lines, backchannel_off


def _legacy_secret(instance: Path, client_id: str) -> str | None:
    """Where seeds before demo-clients.json kept a partner's secret."""
    old = instance / f"{client_id}-secret.txt"
    return old.read_text(encoding="utf-8").strip() if old.exists() else None
