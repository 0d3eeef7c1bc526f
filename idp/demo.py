"""The demo data that `make run` seeds: one customer and one client, with printed directions."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from idp.auth import accounts
from idp.config import Settings
from idp.models import Client
from idp.oauth.clients import ClientSpec, create
from idp.outbound import Refused, check_target, policy_from

DEMO_EMAIL = "demo@avain.example"
DEMO_CLIENT_ID = "demo-client"


def seed_demo(session: Session, settings: Settings) -> list[str]:
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
    partners = (("tire-shop", "Rengasverkkokauppa", 5001), ("garage", "Korjaamo Virtanen", 5002))
    partner_lines = []
    backchannel_off = False
    for client_id, name, port in partners:  # the catalogue's recipients (config/purposes.toml)
        path = instance / f"{client_id}-secret.txt"
        backchannel: str | None = f"http://localhost:{port}/backchannel-logout"
        try:
            check_target(backchannel, outbound)
        except Refused:  # outbound_allow_hosts and outbound_allow_http not set (see Makefile)
            backchannel, backchannel_off = None, True
        if session.get(Client, client_id) is None:
            _, partner_secret = create(
                session,
                ClientSpec(
                    name=name,
                    client_id=client_id,
                    redirect_uris=[f"http://localhost:{port}/callback"],
                    post_logout_redirect_uris=[f"http://localhost:{port}/"],
                    backchannel_logout_uri=backchannel,
                ),
                outbound,
            )
            path.write_text(f"{partner_secret}\n", encoding="utf-8")
            path.chmod(0o600)
        stored = path.read_text(encoding="utf-8").strip() if path.exists() else "?"
        partner_lines.append(
            f"  partner {client_id}: secret {stored}  "
            f"redirect_uri: http://localhost:{port}/callback"
        )
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
